# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which package owns a file: dpkg (Debian family) or rpm (RHEL family).

Commands are run through ``run(argv) -> (rc, stdout, stderr)`` so unit tests
feed captured output.
"""

from __future__ import annotations

import os

RPM_QF = "%{NAME}\\t%{VERSION}-%{RELEASE}\\n"


def path_candidates(path):
    """A path and its merged-/usr twins, in the order to ask the package database.

    On merged-/usr systems /bin -> /usr/bin, but dpkg records whatever path the
    package shipped (``/bin/bash`` yet ``/usr/sbin/sshd``).
    """
    candidates = []

    def add(item):
        if item and item not in candidates:
            candidates.append(item)

    add(path)
    real = os.path.realpath(path) if path else None
    add(real)
    for item in list(candidates):
        for short in ("/bin/", "/sbin/", "/lib/", "/lib64/"):
            if item.startswith("/usr" + short):
                add(item[len("/usr"):])
            elif item.startswith(short):
                add("/usr" + item)
    return candidates


def parse_dpkg_search(text):
    """`dpkg -S p1 p2` stdout -> {path: [package, ...]} (architecture qualifiers dropped)."""
    owners = {}
    for line in (text or "").splitlines():
        if line.startswith("diversion by ") or ": " not in line:
            continue
        pkgs, _sep, path = line.rpartition(": ")
        names = [p.strip().split(":")[0] for p in pkgs.split(",") if p.strip()]
        if names and path.startswith("/"):
            owners.setdefault(path.strip(), [])
            for name in names:
                if name not in owners[path.strip()]:
                    owners[path.strip()].append(name)
    return owners


def parse_dpkg_query(text):
    """`dpkg-query -W -f='${Package}\\t${Version}\\n${Conffiles}\\n' pkg` -> (version, [conffile, ...]).

    Conffile lines are `` /etc/ssh/moduli <md5>`` with an optional trailing
    ``obsolete``/``remove-on-upgrade`` flag; flagged ones are skipped.
    """
    version = None
    conffiles = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if not line.startswith(" ") and "\t" in line:
            version = line.split("\t", 1)[1].strip() or None
            continue
        parts = line.split()
        if parts and parts[0].startswith("/") and len(parts) == 2:
            conffiles.append(parts[0])
    return version, conffiles


def parse_rpm_qf(text):
    """`rpm -qf --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n' path` -> (name, version) or (None, None)."""
    for line in (text or "").splitlines():
        if "\t" in line and "not owned" not in line:
            name, version = line.split("\t", 1)
            return name.strip(), version.strip()
    return None, None


def detect_manager(which):
    """'dpkg' or 'rpm' (or None) given ``which(name) -> path or None``."""
    if which("dpkg-query") and which("dpkg"):
        return "dpkg"
    if which("rpm"):
        return "rpm"
    return None


class PackageDB:
    """Owner and config-file look-ups with a cache (one discovery asks about many files)."""

    def __init__(self, run, manager):
        self.run = run
        self.manager = manager
        self._owner = {}
        self._info = {}

    def owner(self, path):
        """Package owning ``path`` (or one of its merged-/usr twins), or None."""
        if not path or not self.manager:
            return None
        if path in self._owner:
            return self._owner[path]
        name = None
        candidates = path_candidates(path)
        if self.manager == "dpkg":
            _rc, out, _err = self.run(["dpkg", "-S"] + candidates)
            owners = parse_dpkg_search(out)
            for candidate in candidates:
                if owners.get(candidate):
                    name = owners[candidate][0]
                    break
        else:
            for candidate in candidates:
                rc, out, _err = self.run(["rpm", "-qf", "--qf", RPM_QF, candidate])
                found, _version = parse_rpm_qf(out) if rc == 0 else (None, None)
                if found:
                    name = found
                    break
        self._owner[path] = name
        return name

    def info(self, package):
        """(version, [config file, ...]) of an installed package."""
        if not package or not self.manager:
            return None, []
        if package not in self._info:
            if self.manager == "dpkg":
                rc, out, _err = self.run(["dpkg-query", "-W", "--showformat=${Package}\\t${Version}\\n${Conffiles}\\n", package])
                self._info[package] = parse_dpkg_query(out) if rc == 0 else (None, [])
            else:
                rc, out, _err = self.run(["rpm", "-q", "--qf", RPM_QF, package])
                _name, version = parse_rpm_qf(out) if rc == 0 else (None, None)
                rc, out, _err = self.run(["rpm", "-qc", package])
                files = [line.strip() for line in out.splitlines() if line.startswith("/")] if rc == 0 else []
                self._info[package] = (version, files)
        return self._info[package]
