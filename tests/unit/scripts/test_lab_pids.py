"""tests/lab/lab.py's pid_alive: a daemon the test session spawned and stopped counts as ended once it exited,
although it stays a zombie until its parent waits for it (the hypervisors' stop used to wait 30 s per daemon)."""
import importlib.util
import os
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
_SPEC = importlib.util.spec_from_file_location("lab_harness", os.path.join(REPO, "tests", "lab", "lab.py"))
lab = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(lab)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def test_a_running_child_is_alive_and_an_exited_one_is_not():
    running = subprocess.Popen(["sleep", "60"])
    exited = subprocess.Popen(["true"])
    try:
        while proc_state(exited.pid) != "Z":  # exited, not yet waited for
            time.sleep(0.01)
        assert lab.pid_alive(running.pid)
        assert not lab.pid_alive(exited.pid)
        assert not os.path.exists("/proc/%d" % exited.pid)  # reaped by pid_alive
    finally:
        running.kill()
        running.wait()


def test_processes_that_are_not_children():
    assert lab.pid_alive(1)
    assert not lab.pid_alive(2 ** 22 + 1)  # above the kernel's largest PID
