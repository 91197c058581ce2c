"""_common/guard.py: deferred signals and flock locks (real signals, real flocks, a real second process)."""
import os
import signal
import stat
import subprocess
import sys

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard


@pytest.fixture(autouse=True)
def clean():
    guard.reset()
    yield
    guard.reset()


def test_lock_filenames_are_readable_and_distinct():
    first = guard.lock_filename("docker unix:///run/x.sock container web")
    assert first.startswith("docker_unix_run_x.sock_container_web-") and first.endswith(".lock")
    assert guard.lock_filename("a/b") != guard.lock_filename("a_b")
    assert "/" not in guard.lock_filename("../../etc/passwd")


def test_lock_dir_is_private_and_a_symlink_is_refused(tmp_path):
    path = guard.lock_dir([str(tmp_path / "run" / "locks")])
    assert path == str(tmp_path / "run" / "locks") and stat.S_IMODE(os.stat(path).st_mode) == 0o700
    os.chmod(path, 0o755)
    assert stat.S_IMODE(os.stat(guard.lock_dir([path])).st_mode) == 0o700
    os.symlink(path, str(tmp_path / "link"))
    # a symlinked candidate is skipped for the per-user fallback under the temp dir
    assert guard.lock_dir([str(tmp_path / "link")]) != str(tmp_path / "link")


def test_a_held_lock_times_out_naming_its_holder(tmp_path):
    first = guard.LockSet(["stack s1"], 1, holder="container_stack s1", directory=str(tmp_path)).acquire()
    with pytest.raises(guard.LockTimeout) as info:
        guard.LockSet(["stack s1", "container a"], 0.3, directory=str(tmp_path)).acquire()
    message = str(info.value)
    assert "another run holds the lock on stack s1: pid %d (container_stack s1, since " % os.getpid() in message
    assert "lock_timeout" in message and "nothing was changed" in message
    first.release()
    second = guard.LockSet(["stack s1", "container a"], 0.3, directory=str(tmp_path)).acquire()
    assert len(second.fds) == 2
    second.release()


def test_a_lock_held_by_another_process_is_waited_for_then_taken(tmp_path):
    code = ("import sys, time; from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard; "
            "locks = guard.LockSet(['vm web'], 5, holder='libvirt_vm web', directory=sys.argv[1]).acquire(); "
            "print('held', flush=True); sys.stdin.readline()")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(guard.LockTimeout) as info:
            guard.LockSet(["vm web"], 0.5, directory=str(tmp_path)).acquire()
        assert "pid %d (libvirt_vm web" % proc.pid in str(info.value)
        proc.stdin.write("\n")
        proc.stdin.flush()
        locks = guard.LockSet(["vm web"], 30, directory=str(tmp_path)).acquire()  # its exit drops the lock
        locks.release()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_a_signal_while_waiting_for_a_lock_ends_the_wait(tmp_path):
    held = guard.LockSet(["k"], 1, directory=str(tmp_path)).acquire()
    guard.request_stop("SIGINT")
    with pytest.raises(guard.Interrupted) as info:
        guard.LockSet(["k"], 3600, directory=str(tmp_path)).acquire()
    assert "interrupted by SIGINT" in str(info.value) and info.value.details["interrupted"] == "SIGINT"
    held.release()


def test_signals_are_recorded_not_fatal_and_handlers_restored():
    before = signal.getsignal(signal.SIGTERM)
    with guard.signals_deferred():
        os.kill(os.getpid(), signal.SIGTERM)
        assert guard.requested() and guard.signal_name() == "SIGTERM"
        with pytest.raises(guard.Interrupted) as info:
            guard.check("starting web")
        assert str(info.value) == "interrupted by SIGTERM before starting web"
        with pytest.raises(guard.Interrupted):
            guard.sleep(3600)  # returns at once once a signal came in
    assert signal.getsignal(signal.SIGTERM) is before


def test_guarded_resets_holds_and_releases(tmp_path, monkeypatch):
    monkeypatch.setattr(guard, "LOCK_DIRS", (str(tmp_path / "locks"),))
    guard.request_stop("SIGHUP")
    with guard.guarded(["x"], 1, "test") as locks:
        assert not guard.requested() and len(locks.fds) == 1
    assert locks.fds == []
    guard.LockSet(["x"], 0.1, directory=str(tmp_path / "locks")).acquire().release()
