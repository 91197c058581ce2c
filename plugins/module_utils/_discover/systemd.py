# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions over systemd's text output: ``systemctl show``, ``list-units``, env files."""

from __future__ import annotations

import re
import shlex

# properties asked of `systemctl show -p ...` for every service
SHOW_PROPERTIES = (
    "Id", "Names", "Description", "LoadState", "ActiveState", "SubState", "UnitFileState",
    "FragmentPath", "Type", "MainPID", "ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload",
    "User", "Group", "DynamicUser",
    "SupplementaryGroups", "Environment", "EnvironmentFiles", "WorkingDirectory",
    "RootDirectory", "ReadWritePaths", "ReadOnlyPaths", "StateDirectory",
    "ConfigurationDirectory", "CacheDirectory", "LogsDirectory", "RuntimeDirectory",
    "ControlGroup", "MemoryCurrent", "CPUUsageNSec", "TasksCurrent", "Restart",
    "AmbientCapabilities", "CapabilityBoundingSet", "PrivateNetwork", "DeviceAllow",
    "PrivateDevices", "ProtectSystem", "TriggeredBy", "Slice", "DropInPaths",
    "MemoryMax", "CPUQuotaPerSecUSec",
)

# systemd prints this for an unset 64-bit value (UINT64_MAX)
UNSET = "18446744073709551615"

_UNIT_LINE = re.compile(r"^\s*[*\u25cf]?\s*(\S+\.(?:service|socket))\s+(\S+)\s+(\S+)\s+(\S+)\s*(.*)$")
_LISTEN = re.compile(r"(\S+) \((Stream|Datagram|SequentialPacket|FIFO|Special|Netlink|MessageQueue|USBFunction)\)")
_EXEC_BLOCK = re.compile(r"\{([^{}]*)\}")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def normalize_unit(name):
    """'ssh' -> 'ssh.service'; names with a unit suffix are kept."""
    name = name.strip()
    if re.search(r"\.(service|socket|scope|target|mount|timer|path|swap|device|slice)$", name):
        return name
    return name + ".service"


def parse_show(text):
    """`systemctl show -p A,B u1 u2` output -> list of {property: value} (one per unit, in order).

    A property printed on several lines (DeviceAllow=, EnvironmentFiles=, ExecStart= with
    several commands) has its values joined with a space.
    """
    units = []
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                units.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = current[key] + " " + value if current.get(key) else value
    if current:
        units.append(current)
    return units


def parse_list_units(text):
    """`systemctl list-units --type=service|socket --all --plain --no-legend` -> list of dicts."""
    units = []
    for line in text.splitlines():
        match = _UNIT_LINE.match(line)
        if match:
            units.append({"unit": match.group(1), "load": match.group(2), "active": match.group(3),
                          "sub": match.group(4), "description": match.group(5).strip()})
    return units


def parse_listen(value):
    """A socket unit's Listen property -> [(proto, port)] for its TCP/UDP listeners.

    systemctl prints ``[::]:8099 (Stream)``, ``0.0.0.0:53 (Datagram)``,
    ``/run/docker.sock (Stream)`` (a path: not a port), one per line.
    """
    result = []
    for match in _LISTEN.finditer(value or ""):
        address, kind = match.group(1), match.group(2)
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit() or address.startswith("/"):
            continue
        if kind == "Stream":
            result.append(("tcp", int(port)))
        elif kind == "Datagram":
            result.append(("udp", int(port)))
    return result


def parse_exec(value):
    """ExecStart property -> list of {path, argv, ignore_errors}.

    systemctl prints ``{ path=/usr/sbin/sshd ; argv[]=/usr/sbin/sshd -D $SSHD_OPTS ;
    ignore_errors=no ; ... }`` per command line. argv is printed space-joined, so an
    argument containing spaces cannot be told apart; callers prefer the running
    process's /proc/PID/cmdline where it is trustworthy.
    """
    commands = []
    for block in _EXEC_BLOCK.findall(value or ""):
        fields = {}
        for part in block.split(" ; "):
            key, sep, val = part.strip().partition("=")
            if sep:
                fields[key] = val
        argv = fields.get("argv[]", "")
        commands.append({
            "path": fields.get("path"),
            "argv": argv.split() if argv else [],
            "ignore_errors": fields.get("ignore_errors") == "yes",
        })
    return commands


def unit_file_exec_start(texts):
    """ExecStart argv of a unit from its file texts (the fragment, then its drop-ins, in order).

    ``systemctl show`` joins argv with spaces, losing the boundaries of
    quoted arguments (``python3 -c "import x; y"``); the unit file keeps them.
    An empty ``ExecStart=`` resets the list (drop-in override). Returns the first
    command's argv, or None when there is none or its line cannot be split.
    Prefixes (``-``, ``+``, ``!``, ``:``) are dropped; ``@`` lines are not
    handled (None).
    """
    commands = []
    for text in texts:
        section = None
        pending = ""
        for raw in (text or "").splitlines():
            line = pending + raw.strip()
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            pending = ""
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, sep, value = line.partition("=")
            if section != "Service" or not sep or key.strip() != "ExecStart":
                continue
            value = value.strip()
            if not value:
                commands = []
                continue
            commands.append(value)
    if not commands:
        return None
    value = commands[0].lstrip("-+!:")
    if value.startswith("@"):
        return None
    try:
        return shlex.split(value)
    except ValueError:
        return None


def _split_words(value):
    """Split a systemd list property (space-separated, C-style double quotes)."""
    try:
        return shlex.split(value or "")
    except ValueError:
        return (value or "").split()


def parse_environment(value):
    """Environment property ('A=1 "B=two words"') -> ordered dict-like list of (key, value)."""
    pairs = []
    for word in _split_words(value):
        key, sep, val = word.partition("=")
        if sep and key:
            pairs.append((key, val))
    return pairs


def parse_environment_files(value):
    """EnvironmentFiles property -> list of {path, optional}.

    systemctl prints ``/etc/default/ssh (ignore_errors=yes)`` per file.
    """
    files = []
    for match in re.finditer(r"(\S+) \(ignore_errors=(yes|no)\)", value or ""):
        files.append({"path": match.group(1), "optional": match.group(2) == "yes"})
    return files


def parse_env_file(text):
    """An EnvironmentFile's text -> list of (key, value), following systemd's rules.

    Comments start with # or ;, values may be single- or double-quoted, a
    trailing backslash continues the line, ``export`` prefixes are accepted.
    """
    pairs = []
    logical = []
    buffer = ""
    for line in (text or "").splitlines():
        if line.endswith("\\") and not line.endswith("\\\\"):
            buffer += line[:-1]
            continue
        logical.append(buffer + line)
        buffer = ""
    if buffer:
        logical.append(buffer)
    for line in logical:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote = value[0]
            value = value[1:-1]
            if quote == '"':
                value = re.sub(r'\\(["\\`$])', r"\1", value)
        pairs.append((key, value))
    return pairs


def expand_argv(argv, env):
    """Expand $VAR / ${VAR} in argv the way systemd does for ExecStart.

    ``${VAR}`` stays one word; a word that is exactly ``$VAR`` is split on
    whitespace (and vanishes when empty or unset); other references are
    substituted in place.
    """
    result = []
    for word in argv:
        match = re.match(r"^\$([A-Za-z_][A-Za-z0-9_]*)$", word)
        if match:
            result.extend((env.get(match.group(1)) or "").split())
            continue
        result.append(_VAR.sub(lambda m: env.get(m.group(1) or m.group(2), ""), word))
    return result


def split_paths(value):
    """ReadWritePaths and friends: space-separated, '-' / '+' prefixes dropped."""
    paths = []
    for word in _split_words(value):
        word = word.lstrip("-+")
        if word:
            paths.append(word)
    return paths


def timespan_seconds(value):
    """systemd time span ('500ms', '1s', '1min 30s', 'infinity') -> seconds (float) or None."""
    value = (value or "").strip()
    if not value or value == "infinity":
        return None
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(us|ms|min|s|h)", value):
        total += float(number) * units[unit]
    return total or None


def int_or_none(value):
    """A numeric property; systemd's 'unset' (UINT64_MAX, '[not set]', '') -> None."""
    value = (value or "").strip()
    if not value.isdigit() or value == UNSET:
        return None
    return int(value)
