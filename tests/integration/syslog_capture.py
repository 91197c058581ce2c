"""Run a command with the host's syslog socket captured (no tests here).

    unshare --mount --propagation private python syslog_capture.py WORKDIR LOGFILE -- CMD ARGS...

AnsibleModule logs each module's invocation to syslog (/dev/log) or the journal while it is being
constructed. Inside the private mount namespace that unshare made, this script puts a fresh /dev (a tmpfs
with the device nodes a run needs bound in from the real one) whose ``log`` is a datagram socket of its
own, runs CMD, and appends every message that reached the socket to LOGFILE. Nothing outside the
namespace changes; the host's /dev and its syslog (if any) see nothing of the run.
"""
import os
import select
import socket
import subprocess
import sys

NODES = ("null", "zero", "full", "random", "urandom", "tty", "ptmx")
DIRS = ("pts", "shm", "mqueue")


def mount(*args):
    subprocess.run(["mount"] + list(args), check=True)


def fresh_dev(workdir):
    real = os.path.join(workdir, "real-dev")
    os.makedirs(real, exist_ok=True)
    mount("--rbind", "/dev", real)
    mount("-t", "tmpfs", "-o", "mode=755", "tmpfs", "/dev")
    for name in NODES:
        if os.path.exists(os.path.join(real, name)):
            open(os.path.join("/dev", name), "w").close()
            mount("--bind", os.path.join(real, name), os.path.join("/dev", name))
    for name in DIRS:
        if os.path.isdir(os.path.join(real, name)):
            os.mkdir(os.path.join("/dev", name))
            mount("--rbind", os.path.join(real, name), os.path.join("/dev", name))
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join("/dev", name))


def main(argv):
    workdir, logfile = argv[0], argv[1]
    cmd = argv[argv.index("--") + 1:]
    fresh_dev(workdir)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("/dev/log")
    os.chmod("/dev/log", 0o666)
    sock.setblocking(False)
    count = 0
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(cmd)  # pylint: disable=consider-using-with
        while True:
            done = proc.poll() is not None
            readable, _w, _x = select.select([sock], [], [], 0.2)
            while readable:
                try:
                    out.write(sock.recv(1 << 20) + b"\n")
                    count += 1
                except BlockingIOError:
                    break
            if done:  # what was sent before the command ended was drained above
                break
    sys.stderr.write("syslog_capture: %d messages\n" % count)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
