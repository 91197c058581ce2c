# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading /proc: processes, their cgroup (hence systemd unit), sockets, open files, usage.

Parsers (``parse_*``) are pure functions of the file text. ``ProcReader``
reads files below ``root`` (``/`` on a real host, a fixture tree in unit
tests) and never raises for a process that vanished or is not readable: it
returns what it could read.
"""

from __future__ import annotations

import os
import re

UNIT_SUFFIXES = (".service", ".scope", ".socket", ".mount", ".swap", ".timer", ".target", ".path", ".device")
_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")


def parse_cgroup(text):
    """/proc/PID/cgroup text -> the process's cgroup path.

    Prefers the unified (v2, ``0::``) hierarchy, then v1 ``name=systemd``.
    A hybrid host whose v2 path is ``/`` falls back to ``name=systemd``.
    """
    unified = None
    named = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, path = parts
        if hier == "0" and controllers == "":
            unified = path
        elif controllers == "name=systemd":
            named = path
    if unified and unified != "/":
        return unified
    return named or unified


def unit_from_cgroup(path):
    """'/system.slice/ssh.service' -> 'ssh.service'; processes outside a unit -> None.

    The unit is the first path component below the slices (a service may
    create sub-cgroups of its own, which belong to it).
    """
    if not path:
        return None
    for part in path.strip("/").split("/"):
        if part.endswith(".slice") or not part:
            continue
        if part.endswith(UNIT_SUFFIXES):
            return part
        return None
    if path.strip("/") == "init.scope":
        return "init.scope"
    return None


def parse_status(text):
    """/proc/PID/status -> dict with name, uid, gid (real), rss_bytes, threads."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    result = {"name": fields.get("Name")}
    for key, out in (("Uid", "uid"), ("Gid", "gid")):
        if fields.get(key):
            result[out] = int(fields[key].split()[0])
    rss = fields.get("VmRSS")
    if rss:
        number, _sep, unit = rss.partition(" ")
        result["rss_bytes"] = int(number) * (1024 if unit.strip().lower() == "kb" else 1)
    if fields.get("Threads"):
        result["threads"] = int(fields["Threads"])
    return result


def parse_stat_times(text):
    """/proc/PID/stat -> (utime, stime) in clock ticks. The comm field may hold spaces and ')'."""
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime/stime are fields 14/15
    return int(rest[11]), int(rest[12])


def parse_cmdline(data):
    """Raw /proc/PID/cmdline bytes -> argv list."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "replace")
    if not data:
        return []
    return data.rstrip("\0").split("\0")


def socket_inode(link):
    """readlink of /proc/PID/fd/N -> socket inode (int) or None."""
    match = _SOCKET_LINK.match(link)
    return int(match.group(1)) if match else None


def parse_cgroup_memory(text):
    """memory.current (v2) or memory.usage_in_bytes (v1) -> int or None."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def parse_cpu_stat_usec(text):
    """cgroup v2 cpu.stat -> usage_usec (int) or None."""
    for line in (text or "").splitlines():
        key, _sep, value = line.partition(" ")
        if key == "usage_usec" and value.strip().isdigit():
            return int(value)
    return None


class ProcReader:
    """Reads /proc, /sys/fs/cgroup and other files below ``root``.

    Every file-system access goes through the six primitives ``read``,
    ``listdir``, ``readlink``, ``exists``, ``isdir`` and ``realpath`` (paths are
    absolute host paths), so a test can replay a capture of a real host.
    """

    def __init__(self, root="/"):
        self.root = root

    def path(self, *parts):
        return os.path.join(self.root, *[p.lstrip("/") for p in parts])

    def realpath(self, path):
        """Symlinks resolved on a real host (/usr/bin/python3 -> /usr/bin/python3.11); as is under another root."""
        if os.path.realpath(self.root) == "/":
            return os.path.realpath(path)
        return path

    def read(self, *parts, binary=False):
        try:
            with open(self.path(*parts), "rb" if binary else "r") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def listdir(self, path):
        """Names in a directory; [] when unreadable."""
        try:
            return sorted(os.listdir(self.path(path)))
        except OSError:
            return []

    def readlink(self, path):
        try:
            return os.readlink(self.path(path))
        except OSError:
            return None

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def size(self, path):
        """Size of a file in bytes; None when unknown."""
        try:
            return os.path.getsize(self.path(path))
        except OSError:
            return None

    def pids(self):
        return sorted(int(n) for n in self.listdir("/proc") if n.isdigit())

    def fd_links(self, pid):
        """Targets of /proc/PID/fd/* (readable only as root or the owner)."""
        fd_dir = "/proc/%d/fd" % pid
        links = []
        for name in self.listdir(fd_dir):
            target = self.readlink(fd_dir + "/" + name)
            if target is not None:
                links.append(target)
        return links

    def process(self, pid):
        """What we know of one process, or None if it is gone."""
        status = self.read("proc", str(pid), "status")
        if status is None:
            return None
        info = parse_status(status)
        info["pid"] = pid
        cgroup_text = self.read("proc", str(pid), "cgroup") or ""
        info["cgroup"] = parse_cgroup(cgroup_text)
        info["unit"] = unit_from_cgroup(info["cgroup"])
        info["cmdline"] = parse_cmdline(self.read("proc", str(pid), "cmdline", binary=True))
        info["exe"] = self.readlink("/proc/%d/exe" % pid)
        stat = self.read("proc", str(pid), "stat")
        if stat:
            try:
                info["utime"], info["stime"] = parse_stat_times(stat)
            except (ValueError, IndexError):
                pass
        links = self.fd_links(pid)
        info["sockets"] = sorted(set(i for i in (socket_inode(link) for link in links) if i))
        info["files"] = sorted(set(link for link in links if link.startswith("/")))
        return info

    def processes(self):
        """All readable processes, {pid: info}."""
        result = {}
        for pid in self.pids():
            info = self.process(pid)
            if info is not None:
                result[pid] = info
        return result

    def net_tables(self):
        return dict((proto, self.read("proc", "net", proto) or "") for proto in ("tcp", "tcp6", "udp", "udp6"))

    def cgroup_usage(self, cgroup):
        """(memory_bytes, cpu_seconds) of a cgroup from /sys/fs/cgroup (v2, then v1); None when unknown."""
        if not cgroup:
            return None, None
        rel = cgroup.lstrip("/")
        memory = parse_cgroup_memory(self.read("sys/fs/cgroup", rel, "memory.current"))
        if memory is None:
            memory = parse_cgroup_memory(self.read("sys/fs/cgroup/memory", rel, "memory.usage_in_bytes"))
        usec = parse_cpu_stat_usec(self.read("sys/fs/cgroup", rel, "cpu.stat"))
        cpu = usec / 1e6 if usec is not None else None
        if cpu is None:
            nanos = parse_cgroup_memory(self.read("sys/fs/cgroup/cpuacct", rel, "cpuacct.usage"))
            cpu = nanos / 1e9 if nanos is not None else None
        return memory, cpu

    def clock_ticks(self):
        try:
            return os.sysconf("SC_CLK_TCK")
        except (ValueError, OSError, AttributeError):
            return 100
