"""A test's own systemd service on the shared lab guest, installed and removed in ONE task each.

Each Ansible task costs seconds on a TCG guest; the set-up (a system user, directories, files, the unit,
started and answering on its port) and the removal are fixtures of the tests, not what they test, so each is
one shell task instead of eight or ten.
"""
from shlex import quote


def install_tasks(unit, port, unit_file, files, dirs=()):
    """[task] that creates user `unit`, `dirs` (0755) and `files` ({path: (content, mode)}), installs
    /etc/systemd/system/UNIT.service, (re)starts and enables it and waits up to 60 s for 127.0.0.1:port."""
    lines = ["set -eu",
             "id -u %s >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin %s"
             % (quote(unit), quote(unit))]
    lines += ["install -d -m 0755 %s" % quote(path) for path in dirs]
    files = dict(files, **{"/etc/systemd/system/%s.service" % unit: (unit_file, "0644")})
    for path, (content, mode) in files.items():
        # written under umask 077 first: a secrets file is never readable by others, not even briefly
        lines.append("(umask 077; printf '%%s' %s > %s)" % (quote(content), quote(path)))
        lines.append("chmod %s %s" % (mode, quote(path)))
    lines += ["systemctl daemon-reload",
              "systemctl enable %s 2>/dev/null" % quote(unit),
              "systemctl restart %s" % quote(unit),
              "for _ in $(seq 60); do",
              "  python3 -c 'import socket, sys; socket.create_connection((\"127.0.0.1\", int(sys.argv[1])), 2)' %d"
              " 2>/dev/null && exit 0" % port,
              "  sleep 1",
              "done",
              "echo 'port %d does not answer' >&2; systemctl status --no-pager %s >&2; exit 1" % (port, quote(unit))]
    return [{"name": "install service " + unit, "ansible.builtin.shell": "\n".join(lines)}]


def remove_tasks(unit, paths):
    """[task] that stops, disables and removes the unit, deletes `paths` and the user (whatever exists)."""
    lines = ["systemctl disable --now %s 2>/dev/null" % quote(unit),
             "rm -f %s" % quote("/etc/systemd/system/%s.service" % unit),
             "systemctl daemon-reload",
             "rm -rf %s" % " ".join(quote(path) for path in paths),
             "if id -u %s >/dev/null 2>&1; then userdel %s; fi" % (quote(unit), quote(unit))]
    return [{"name": "remove service " + unit, "ansible.builtin.shell": "\n".join(lines)}]
