"""Private daemons the fault tests break on purpose (no tests here).

The shared lab engine and libvirtd serve every other test session, so the fault tests never restart or
break them. They start their own:

- :class:`PrivateDockerd`: a dockerd with its own socket, data root, exec root and pidfile, in a network
  namespace of its own (made here with ``ip netns add``), without a bridge (its containers get no network;
  none is needed). Not in the lab's namespace: a dockerd started with ``--bridge=none`` deletes the
  ``docker0`` it finds there, the lab engine's default bridge, which the other sessions' containers use;
- :class:`PrivateLibvirtd`: a session-mode libvirtd run as an unprivileged user with its own runtime,
  config and data directories, reached at ``qemu+unix:///session?socket=...`` (root may connect to it).
  Its PATH starts with a directory of the test's own, so a ``qemu-img`` wrapper there can hold a volume
  creation until the test has killed the daemon (a fault at a known point, not a race).

Each is stopped by the PID it was started with.
"""
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

import lab

NOBODY = "nobody"


def wait_until(what, probe, timeout=60, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def set_child_subreaper(on):
    """prctl(PR_SET_CHILD_SUBREAPER): orphaned descendants are reparented to this process, not to init."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def session_members(sid):
    """PIDs of the processes in session sid (field 6 of /proc/PID/stat)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "(comm)", which may hold spaces
        if int(fields[3]) == sid:
            found.append(int(name))
    return found


def reaped(pid):
    """Gone, after reaping it when it is a zombie child of this process (a subreaper's orphans are)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return pid_gone(pid)


def pid_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class PrivateDockerd:
    """A dockerd of the test's own, in a network namespace of its own."""

    def __init__(self, root):
        self.root = root
        self.sock = os.path.join(root, "docker.sock")
        self.host = "unix://" + self.sock
        self.proc = None
        self.netns = "hybridops-fault-%d" % os.getpid()
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "daemon.json"), "w") as handle:
            handle.write("{}\n")  # not the host's /etc/docker/daemon.json

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(3)
                sock.connect(self.sock)
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return b"OK" in sock.recv(4096)
        except OSError:
            return False

    def start(self):
        if not os.path.exists("/run/netns/" + self.netns):
            subprocess.run(["ip", "netns", "add", self.netns], check=True)
        cmd = ["nsenter", "--net=/run/netns/" + self.netns,
               "dockerd", "--host", self.host, "--config-file", os.path.join(self.root, "daemon.json"),
               "--data-root", os.path.join(self.root, "data"),
               "--exec-root", os.path.join(self.root, "exec"),
               "--pidfile", os.path.join(self.root, "dockerd.pid"),
               "--bridge=none", "--iptables=false", "--ip6tables=false", "--shutdown-timeout=2"]
        log = open(os.path.join(self.root, "dockerd.log"), "ab")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.wait_ready()

    def log_tail(self, lines=40):
        with open(os.path.join(self.root, "dockerd.log"), errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])

    def wait_ready(self, timeout=180):
        """Until the socket answers; fails at once, with the daemon's log, when dockerd exited (after a
        SIGKILL it first has to reap or adopt its old containerd and shut the old containers down)."""
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("the private dockerd exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            return self.ping()
        try:
            wait_until("the private dockerd on " + self.sock, ready, timeout=timeout)
        except AssertionError as exc:
            if self.proc.poll() is None:
                raise AssertionError("%s; its log:\n%s" % (exc, self.log_tail())) from None
            raise

    def stop(self, sig=signal.SIGTERM):
        """Stop the daemon by its PID; SIGKILL switches the host off (see :meth:`power_off`)."""
        if self.proc is None:
            return
        if sig == signal.SIGKILL:
            self.power_off()
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def power_off(self):
        """As abruptly as a host that is switched off: dockerd, its containerd, the shims and the containers'
        processes are killed (all started by this dockerd, found by their PID files), and what a reboot
        clears (the exec root, the containers' mounts) is gone before the next start.

        The test process is their subreaper meanwhile, so the killed orphans are reaped here: an init that
        does not reap would leave containerd a zombie, which the next dockerd takes for a running containerd
        (its PID answers) and then times out waiting for it."""
        set_child_subreaper(True)
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=60)
            self.proc = None
            pids = self.exec_root_pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            wait_until("the killed engine's processes %s gone" % pids, lambda: all(reaped(p) for p in pids),
                       timeout=60)
        finally:
            set_child_subreaper(False)
        exec_root = os.path.join(self.root, "exec")
        data = os.path.join(self.root, "data")
        for point in mounts_under(exec_root) + mounts_under(os.path.join(data, "overlay2")) + \
                mounts_under(os.path.join(data, "containers")):
            subprocess.run(["umount", point], check=True, capture_output=True)
        shutil.rmtree(exec_root)

    def exec_root_pids(self):
        """containerd's and the containers' init PIDs (from the PID files under the exec root), and the
        shims' (they run in containerd's session)."""
        pids = set()
        for top, _dirs, files in os.walk(os.path.join(self.root, "exec")):
            for name in files:
                if name.endswith(".pid"):
                    with open(os.path.join(top, name)) as handle:
                        text = handle.read().strip()
                    if text.isdigit() and int(text) > 1:
                        pids.add(int(text))
        containerd = os.path.join(self.root, "exec", "containerd", "containerd.pid")
        if os.path.exists(containerd):
            with open(containerd) as handle:
                pids.update(session_members(int(handle.read().strip())))
        return sorted(pids)

    def close(self):
        """Stop the daemon and remove its network namespace."""
        self.stop()
        if os.path.exists("/run/netns/" + self.netns):
            subprocess.run(["ip", "netns", "delete", self.netns], check=False)

    def load_images(self):
        """The lab's images (hybridops/busybox:lab, hybridops/web:1 and :2, ...) via save/load."""
        env = dict(os.environ, DOCKER_HOST=self.host)
        archive = os.path.join(lab.RUN_DIR, "lab-images.tar")
        if not os.path.exists(archive):
            lab.build_local_images(docker_host=self.host)
            return
        subprocess.run(["docker", "load", "-q", "-i", archive], env=env, check=True, capture_output=True)


QEMU_IMG_WRAPPER = """#!/bin/sh
# counts `qemu-img create` calls; the one numbered as in HOLD_AT (when that file exists) waits until the
# file is removed (the test kills libvirtd meanwhile), then goes on as qemu-img would
if [ "$1" = create ]; then
    touch "{calls}/$$"
    if [ -e "{hold}" ] && [ "$(ls "{calls}" | wc -l)" -ge "$(cat "{hold}")" ]; then
        touch "{held}"
        while [ -e "{hold}" ]; do sleep 0.1; done
    fi
fi
exec /usr/bin/qemu-img "$@"
"""


class PrivateLibvirtd:
    """A session-mode libvirtd as user nobody, with every directory under ``root``."""

    def __init__(self, root):
        self.root = root
        self.user = pwd.getpwnam(NOBODY)
        self.sock = os.path.join(root, "run", "libvirt", "libvirt-sock")
        self.uri = "qemu+unix:///session?socket=" + self.sock
        self.bin = os.path.join(root, "bin")
        self.hold = os.path.join(root, "hold-qemu-img")
        self.held = os.path.join(root, "qemu-img-held")
        self.calls = os.path.join(root, "qemu-img-calls")
        self.proc = None
        os.makedirs(self.bin, exist_ok=True)
        os.makedirs(self.calls, exist_ok=True)
        with open(os.path.join(self.bin, "qemu-img"), "w") as handle:
            handle.write(QEMU_IMG_WRAPPER.format(hold=self.hold, held=self.held, calls=self.calls))
        os.chmod(os.path.join(self.bin, "qemu-img"), 0o755)
        self.chown(root)
        os.chmod(root, 0o755)

    def chown(self, path):
        for top, dirs, files in os.walk(path):
            for name in [top] + [os.path.join(top, n) for n in dirs + files]:
                os.chown(name, self.user.pw_uid, self.user.pw_gid)

    def ping(self):
        return subprocess.run(["virsh", "-c", self.uri, "version"], capture_output=True, check=False).returncode == 0

    def start(self):
        env = {"PATH": self.bin + ":/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.root,
               "XDG_RUNTIME_DIR": os.path.join(self.root, "run"), "XDG_CONFIG_HOME": os.path.join(self.root, "config"),
               "XDG_CACHE_HOME": os.path.join(self.root, "cache"), "XDG_DATA_HOME": os.path.join(self.root, "data")}
        cmd = ["setpriv", "--reuid", str(self.user.pw_uid), "--regid", str(self.user.pw_gid), "--clear-groups",
               "libvirtd", "--pid-file", os.path.join(self.root, "libvirtd.pid")]
        log = open(os.path.join(self.root, "libvirtd.log"), "ab")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.root)
        log.close()
        wait_until("the private libvirtd on " + self.sock, self.ping, timeout=60, interval=0.3)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=60)
        self.proc = None

    def hold_create(self, number):
        """Hold the NUMBER-th `qemu-img create` from now on until :meth:`release`."""
        for name in os.listdir(self.calls):
            os.unlink(os.path.join(self.calls, name))
        with open(self.hold, "w") as handle:
            handle.write("%d\n" % number)

    def release(self):
        if os.path.exists(self.hold):
            os.unlink(self.hold)
        if os.path.exists(self.held):
            os.unlink(self.held)


def mounts_under(path):
    """Mount points at or below path (deepest first), from /proc/self/mountinfo."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def remove_tree(path):
    """Unmount what a daemon left mounted below path (dockerd bind-mounts its data root), then remove it."""
    for point in mounts_under(path):
        subprocess.run(["umount", point], check=False, capture_output=True)
    left = mounts_under(path)
    assert not left, "still mounted: %s" % left
    shutil.rmtree(path)
