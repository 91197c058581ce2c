# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: privileges, kernel namespaces, devices and the runtime.

An omitted option is the engine's default (no extra capability, not privileged, the
container's own namespaces...), so removing one from the spec puts the container back to
that default. Modes whose default the daemon chooses (``ipc_mode``: private or shareable by
``default-ipc-mode``; ``cgroupns_mode`` by cgroup version; ``runtime`` by ``default-runtime``)
accept whatever the daemon picked when they are omitted.
None of these can be changed on a running container: a difference needs a new one.
"""

from __future__ import annotations

import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import format_size
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    COLLECTION,
    Option,
    clean_path,
    hc,
    list_as_set,
    set_hc,
    str_dict,
    subset_match,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.resources import ram_size

# the engine's default shared memory size (/dev/shm) without --shm-size or daemon default-shm-size
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
CGROUPNS_MODES = ("host", "private")
# IPC modes the daemon picks itself (daemon.json default-ipc-mode)
DAEMON_IPC_DEFAULTS = ("private", "shareable")


def _bool_row(name, key, invert=False, default=False):
    """A HostConfig boolean; omitted is the engine's ``default``."""

    def to_api(value):
        return (not value) if invert else value

    return Option(
        name,
        dict(type="bool"),
        expected=lambda d, img: d[name] if d[name] is not None else default,
        actual=lambda i: (not bool(hc(i).get(key))) if invert else bool(hc(i).get(key)),
        apply=set_hc(key, transform=to_api, when=lambda v: v is not None and v != default),
    )


def _str_list(option, canon=None):
    def normalize(value, spec):
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise ValidationError(option, "must be a list of strings, got %r" % (value,))
        result = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)) or str(item).strip() == "":
                raise ValidationError("%s[%d]" % (option, index), "%r is not a non-empty string" % (item,))
            item = canon(str(item).strip(), "%s[%d]" % (option, index)) if canon else str(item).strip()
            if item not in result:
                result.append(item)
        return sorted(result)

    return normalize


def _list_row(name, key, canon=None, read=None, actual=None, apply=None, expected=None):
    """A HostConfig list whose order the engine does not keep (a set): omitted is empty."""

    def read_list(inspect):
        items = hc(inspect).get(key) or []
        if read:
            items = [read(item) for item in items]
        return sorted(set(items))

    return Option(
        name,
        dict(type="list", elements="str"),
        normalize=_str_list(name, canon),
        expected=expected or (lambda d, img: d[name]),
        actual=actual or read_list,
        apply=apply or set_hc(key, when=bool),
        match=list_as_set,
        match_more=subset_match,
        comparisons=COLLECTION,
    )


# --------------------------------------------------------------------------- capabilities

_CAP_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def capability(text, option):
    """'net_admin', 'NET_ADMIN', 'CAP_NET_ADMIN' -> 'CAP_NET_ADMIN' (how the engine stores it); 'ALL' stays."""
    upper = text.upper()
    if upper == "ALL":
        return upper
    if not upper.startswith("CAP_"):
        upper = "CAP_" + upper
    if not _CAP_RE.match(upper):
        raise ValidationError(
            option, "%r is not a capability name" % text, accepted="names like NET_ADMIN or CAP_NET_ADMIN, or ALL"
        )
    return upper


def _read_cap(item):
    try:
        return capability(item, "CapAdd")
    except ValidationError:
        return item


# --------------------------------------------------------------------------- security options


def security_opt(text, option):
    """'seccomp:unconfined' (the legacy separator) -> 'seccomp=unconfined'; 'no-new-privileges:true' stays."""
    key, sep, value = text.partition("=")
    if not sep:
        head, sep2, rest = text.partition(":")
        if sep2 and head in ("label", "apparmor", "seccomp"):
            return "%s=%s" % (head, rest)
    return text


# the daemon adds this for a privileged container or one in the host's IPC or PID namespace
ENGINE_LABEL_DISABLE = "label=disable"


def _engine_disables_labels(host):
    return bool(host.get("Privileged")) or host.get("IpcMode") == "host" or host.get("PidMode") == "host"


def _security_opts_actual(inspect):
    host = hc(inspect)
    items = sorted(set(security_opt(item, "") for item in host.get("SecurityOpt") or []))
    if _engine_disables_labels(host):
        # not the user's: the engine's own consequence of privileged/ipc_mode/pid_mode (never drift)
        items = [item for item in items if item != ENGINE_LABEL_DISABLE]
    return items


def _expected_security_opts(d, img):
    if d["privileged"] or d["ipc_mode"] == "host" or d["pid_mode"] == "host":
        return [item for item in d["security_opts"] if item != ENGINE_LABEL_DISABLE]
    return d["security_opts"]


# --------------------------------------------------------------------------- ulimits, devices, tmpfs

ULIMIT_ACCEPTED = "strings NAME:SOFT[:HARD] like nofile:1024:2048 (HARD defaults to SOFT; -1 is unlimited)"


def _ulimits(value, spec):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("ulimits", "must be a list", accepted=ULIMIT_ACCEPTED)
    result = {}
    for index, item in enumerate(value):
        where = "ulimits[%d]" % index
        parts = str(item).split(":") if isinstance(item, str) else []
        if len(parts) not in (2, 3) or not re.match(r"^[a-z]+$", parts[0]):
            raise ValidationError(where, "cannot parse %r" % (item,), accepted=ULIMIT_ACCEPTED)
        try:
            soft = int(parts[1])
            hard = int(parts[2]) if len(parts) == 3 else soft
        except ValueError:
            raise ValidationError(where, "%r: limits must be integers" % item, accepted=ULIMIT_ACCEPTED)
        if soft < -1 or hard < -1 or (hard != -1 and (soft == -1 or soft > hard)):
            raise ValidationError(
                where, "%r: the soft limit must not exceed the hard one" % item, accepted=ULIMIT_ACCEPTED
            )
        if parts[0] in result:
            raise ValidationError(where, "ulimit %s is given twice" % parts[0])
        result[parts[0]] = (soft, hard)
    return ["%s:%d:%d" % (name, soft, hard) for name, (soft, hard) in sorted(result.items())]


def _ulimits_actual(inspect):
    return sorted(
        "%s:%d:%d" % (u.get("Name"), int(u.get("Soft") or 0), int(u.get("Hard") or 0))
        for u in hc(inspect).get("Ulimits") or []
    )


def _ulimits_apply(value, body, d=None):
    if value:
        body["HostConfig"]["Ulimits"] = [
            {"Name": name, "Soft": int(soft), "Hard": int(hard)}
            for name, soft, hard in (item.split(":") for item in value)
        ]


DEVICE_ACCEPTED = (
    "strings HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]] like /dev/fuse or /dev/sdc:/dev/xvdc:r (PERMISSIONS of r, w, m)"
)


def device(text, option):
    """'/dev/fuse' -> '/dev/fuse:/dev/fuse:rwm' (the engine's defaults made explicit)."""
    parts = text.split(":")
    if len(parts) > 3 or not parts[0].startswith("/"):
        raise ValidationError(option, "cannot parse %r" % text, accepted=DEVICE_ACCEPTED)
    host = clean_path(parts[0])
    cont = host
    perms = "rwm"
    if len(parts) == 2:
        if parts[1].startswith("/"):
            cont = parts[1]
        else:
            perms = parts[1]
    elif len(parts) == 3:
        cont, perms = parts[1], parts[2]
    if not cont.startswith("/") or not perms or set(perms) - set("rwm"):
        raise ValidationError(option, "cannot parse %r" % text, accepted=DEVICE_ACCEPTED)
    perms = "".join(p for p in "rwm" if p in perms)
    return "%s:%s:%s" % (host, clean_path(cont), perms)


def _devices_actual(inspect):
    return sorted(
        "%s:%s:%s"
        % (
            clean_path(d.get("PathOnHost")),
            clean_path(d.get("PathInContainer") or d.get("PathOnHost")),
            "".join(p for p in "rwm" if p in (d.get("CgroupPermissions") or "rwm")),
        )
        for d in hc(inspect).get("Devices") or []
    )


def _devices_apply(value, body, d=None):
    if value:
        body["HostConfig"]["Devices"] = [
            {"PathOnHost": host, "PathInContainer": cont, "CgroupPermissions": perms}
            for host, cont, perms in (item.split(":") for item in value)
        ]


DEVICE_REQUEST_KEYS = ("driver", "count", "device_ids", "capabilities", "options")
DEVICE_REQUEST_ACCEPTED = (
    "dicts with driver (e.g. nvidia), count (-1: all), device_ids (list), "
    "capabilities (list of lists, e.g. [[gpu]]), options (dict)"
)


def _device_requests(value, spec):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("device_requests", "must be a list", accepted=DEVICE_REQUEST_ACCEPTED)
    result = []
    for index, item in enumerate(value):
        where = "device_requests[%d]" % index
        if not isinstance(item, dict) or set(item) - set(DEVICE_REQUEST_KEYS):
            raise ValidationError(where, "%r has unknown keys" % (item,), accepted=DEVICE_REQUEST_ACCEPTED)
        count = item.get("count")
        if count is not None:
            count = int(validators.check_int(count, where + ".count", minimum=-1))
        ids = [str(x) for x in item.get("device_ids") or []]
        if count and ids:
            raise ValidationError(
                where, "count and device_ids are mutually exclusive", accepted=DEVICE_REQUEST_ACCEPTED
            )
        caps = item.get("capabilities") or []
        if not isinstance(caps, (list, tuple)) or not all(isinstance(c, (list, tuple)) for c in caps):
            raise ValidationError(where + ".capabilities", "must be a list of lists", accepted="e.g. [[gpu, utility]]")
        result.append(
            {
                "driver": str(item.get("driver") or ""),
                "count": count or 0,
                "device_ids": ids,
                "capabilities": [sorted(str(c) for c in group) for group in caps],
                "options": str_dict(item.get("options"), where + ".options") or {},
            }
        )
    return result


def _device_requests_actual(inspect):
    return [
        {
            "driver": r.get("Driver") or "",
            "count": int(r.get("Count") or 0),
            "device_ids": list(r.get("DeviceIDs") or []),
            "capabilities": [sorted(group) for group in r.get("Capabilities") or []],
            "options": dict(r.get("Options") or {}),
        }
        for r in hc(inspect).get("DeviceRequests") or []
    ]


def _device_requests_apply(value, body, d=None):
    if value:
        body["HostConfig"]["DeviceRequests"] = [
            {
                "Driver": r["driver"],
                "Count": r["count"],
                "DeviceIDs": r["device_ids"] or None,
                "Capabilities": r["capabilities"] or None,
                "Options": r["options"] or None,
            }
            for r in value
        ]


TMPFS_ACCEPTED = "strings /PATH[:OPTIONS] like /run or /run:size=64m,mode=1777 (docker run --tmpfs)"


def tmpfs_options(text, option):
    """'size=64m,mode=1777' -> canonical 'mode=1777,size=67108864' (sizes in bytes, sorted)."""
    opts = {}
    flags = []
    for part in [p for p in text.split(",") if p]:
        key, sep, value = part.partition("=")
        if key == "size" and sep:
            value = str(ram_size(value, option))
        elif key == "mode" and sep:
            if not re.match(r"^0*[0-7]{1,4}$", value):
                raise ValidationError(option, "mode %r is not an octal file mode" % value, accepted=TMPFS_ACCEPTED)
            value = "%o" % int(value, 8)
        if sep:
            opts[key] = value
        else:
            flags.append(key)
    return ",".join(sorted(flags) + ["%s=%s" % kv for kv in sorted(opts.items())])


def _tmpfs(value, spec):
    if value is None:
        return {}
    if not isinstance(value, (list, tuple)):
        raise ValidationError("tmpfs", "must be a list", accepted=TMPFS_ACCEPTED)
    result = {}
    for index, item in enumerate(value):
        where = "tmpfs[%d]" % index
        if not isinstance(item, str) or not item.startswith("/"):
            raise ValidationError(where, "%r is not an absolute path" % (item,), accepted=TMPFS_ACCEPTED)
        path, _sep, opts = item.partition(":")
        path = clean_path(path)
        if path in result:
            raise ValidationError(where, "%s is given twice" % path, accepted=TMPFS_ACCEPTED)
        result[path] = tmpfs_options(opts, where)
    return result


def _tmpfs_actual(inspect):
    result = {}
    for path, opts in (hc(inspect).get("Tmpfs") or {}).items():
        try:
            result[clean_path(path)] = tmpfs_options(opts or "", "tmpfs")
        except ValidationError:
            result[clean_path(path)] = opts
    return result


def _tmpfs_view(value, img, d):
    def one(path, opts):
        shown = []
        for part in [p for p in opts.split(",") if p]:
            key, sep, val = part.partition("=")
            shown.append("size=%s" % format_size(int(val)) if key == "size" and val.isdigit() else part)
        return path + (":" + ",".join(shown) if shown else "")

    return [one(path, opts) for path, opts in sorted((value or {}).items())]


def _check_tmpfs(d, spec):
    clash = set(d["tmpfs"]) & set(m["target"] for m in d.get("mounts") or [])
    if clash:
        raise ValidationError("tmpfs", "%s is also a target in mounts/volumes" % ", ".join(sorted(clash)))


# --------------------------------------------------------------------------- namespaces

NAMESPACE_ACCEPTED = {
    "ipc_mode": "private, shareable, host, none, or container:NAME",
    "pid_mode": "host or container:NAME",
    "uts_mode": "host",
    "userns_mode": "host",
}


def _namespace(option, allowed):
    def normalize(value, spec):
        if value is None:
            return None
        text = str(value).strip()
        if text in allowed or (text.startswith("container:") and "container:" in allowed and len(text) > 10):
            return text
        raise ValidationError(option, "unknown mode %r" % (value,), accepted=NAMESPACE_ACCEPTED[option])

    return normalize


def _ns_row(name, key, allowed, daemon_defaults=("",)):
    """A namespace mode; omitted is the container's own namespace (whatever default the daemon chose)."""

    def match(expected, actual):
        if expected == "":
            return (actual or "") in daemon_defaults
        return expected == (actual or "")

    return Option(
        name,
        dict(type="str"),
        normalize=_namespace(name, allowed),
        expected=lambda d, img: d[name] if d[name] is not None else "",
        actual=lambda i: hc(i).get(key) or "",
        apply=set_hc(key),
        match=match,
        view=lambda v, img, d: v or None,
    )


# --------------------------------------------------------------------------- device cgroup rules

_CGROUP_RULE = re.compile(r"^([abc]) (\*|\d+):(\*|\d+) ([rwm]{1,3})$")
CGROUP_RULE_ACCEPTED = "rules like 'c 1:3 mr' or 'b 8:* rw': TYPE (a, b, c) MAJOR:MINOR (numbers or *) ACCESS (r, w, m)"


def device_cgroup_rule(text, option):
    """'c  1:3  rm' -> 'c 1:3 mr' (one space, access letters in r, w, m order); the engine stores the rule as given."""
    match = _CGROUP_RULE.match(" ".join(str(text).split()))
    if not match or len(set(match.group(4))) != len(match.group(4)):
        raise ValidationError(option, "%r is not a device cgroup rule" % (text,), accepted=CGROUP_RULE_ACCEPTED)
    access = "".join(c for c in "rwm" if c in match.group(4))
    return "%s %s:%s %s" % (match.group(1), match.group(2), match.group(3), access)


def _read_cgroup_rule(text):
    try:
        return device_cgroup_rule(text, "HostConfig.DeviceCgroupRules")
    except ValidationError:
        return text


ROWS: list[Option] = [
    _bool_row("privileged", "Privileged"),
    _list_row("capabilities", "CapAdd", canon=capability, read=_read_cap),
    _list_row("cap_drop", "CapDrop", canon=capability, read=_read_cap),
    _list_row(
        "security_opts",
        "SecurityOpt",
        canon=security_opt,
        actual=_security_opts_actual,
        expected=_expected_security_opts,
    ),
    _bool_row("read_only", "ReadonlyRootfs"),
    # Init null means the daemon's default (daemon.json "init", false unless set)
    _bool_row("init", "Init"),
    Option(
        "ulimits",
        dict(type="list", elements="str"),
        normalize=_ulimits,
        expected=lambda d, img: d["ulimits"],
        actual=_ulimits_actual,
        apply=_ulimits_apply,
        match=list_as_set,
        comparisons=COLLECTION,
    ),
    Option(
        "sysctls",
        dict(type="dict"),
        normalize=lambda v, s: str_dict(v, "sysctls") or {},
        expected=lambda d, img: d["sysctls"],
        actual=lambda i: dict(hc(i).get("Sysctls") or {}),
        apply=set_hc("Sysctls", when=bool),
        comparisons=COLLECTION,
    ),
    _list_row("devices", "Devices", canon=device, actual=_devices_actual, apply=_devices_apply),
    _list_row("device_cgroup_rules", "DeviceCgroupRules", canon=device_cgroup_rule, read=_read_cgroup_rule),
    Option(
        "device_requests",
        dict(
            type="list",
            elements="dict",
            options=dict(
                driver=dict(type="str"),
                count=dict(type="int"),
                device_ids=dict(type="list", elements="str"),
                capabilities=dict(type="list", elements="list"),
                options=dict(type="dict"),
            ),
        ),
        normalize=_device_requests,
        expected=lambda d, img: d["device_requests"],
        actual=_device_requests_actual,
        apply=_device_requests_apply,
    ),
    Option(
        "shm_size",
        dict(type="str"),
        normalize=lambda v, s: ram_size(v, "shm_size"),
        expected=lambda d, img: d["shm_size"] or DEFAULT_SHM_SIZE,
        actual=lambda i: int(hc(i).get("ShmSize") or DEFAULT_SHM_SIZE),
        apply=set_hc("ShmSize", when=bool),
        view=lambda v, img, d: format_size(v) if v else None,
    ),
    Option(
        "tmpfs",
        dict(type="list", elements="str"),
        normalize=_tmpfs,
        check=_check_tmpfs,
        expected=lambda d, img: d["tmpfs"],
        actual=_tmpfs_actual,
        apply=set_hc("Tmpfs", when=bool),
        view=_tmpfs_view,
        comparisons=COLLECTION,
    ),
    # omitted: the daemon's default-runtime, whatever it is
    Option(
        "runtime",
        dict(type="str"),
        expected=lambda d, img: d["runtime"],
        actual=lambda i: hc(i).get("Runtime") or "",
        apply=set_hc("Runtime"),
    ),
    _list_row("groups", "GroupAdd"),
    _ns_row("userns_mode", "UsernsMode", ("host",)),
    _ns_row(
        "ipc_mode",
        "IpcMode",
        ("private", "shareable", "host", "none", "container:"),
        daemon_defaults=("",) + DAEMON_IPC_DEFAULTS,
    ),
    _ns_row("pid_mode", "PidMode", ("host", "container:")),
    _ns_row("uts_mode", "UTSMode", ("host",)),
    # omitted: the daemon's default (private on cgroup v2, host on v1)
    Option(
        "cgroupns_mode",
        dict(type="str", choices=list(CGROUPNS_MODES)),
        normalize=lambda v, s: None if v is None else _choice(v, CGROUPNS_MODES, "cgroupns_mode"),
        expected=lambda d, img: d["cgroupns_mode"],
        actual=lambda i: hc(i).get("CgroupnsMode") or "",
        apply=set_hc("CgroupnsMode"),
    ),
    Option(
        "cgroup_parent",
        dict(type="str"),
        expected=lambda d, img: d["cgroup_parent"] or "",
        actual=lambda i: hc(i).get("CgroupParent") or "",
        apply=set_hc("CgroupParent", when=bool),
        view=lambda v, img, d: v or None,
    ),
    # community.docker's name: oom_killer=false is --oom-kill-disable
    _bool_row("oom_killer", "OomKillDisable", invert=True, default=True),
    Option(
        "oom_score_adj",
        dict(type="int"),
        normalize=lambda v, s: (
            None if v is None else int(validators.check_int(v, "oom_score_adj", minimum=-1000, maximum=1000))
        ),
        expected=lambda d, img: d["oom_score_adj"] or 0,
        actual=lambda i: int(hc(i).get("OomScoreAdj") or 0),
        apply=set_hc("OomScoreAdj", when=bool),
    ),
]


def _choice(value, choices, option):
    if value not in choices:
        raise ValidationError(option, "unknown value %r" % (value,), accepted=", ".join(choices))
    return value
