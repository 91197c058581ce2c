# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: resource limits (memory, CPU, PIDs, block I/O, storage).

An omitted limit is the engine's default (no limit): removing one from the spec puts the
container back to that default. The update endpoint reads a zero as "leave this alone", so
lifting a limit that way needs a new container; setting or changing one is done in place
where the engine supports it (``POST /containers/{id}/update``).
"""

from __future__ import annotations

import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import (
    RAM_ACCEPTED,
    format_size,
    parse_ram_size,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    COLLECTION,
    Option,
    hc,
    hc_value,
    set_hc,
    str_dict,
)


def ram_size(value, option, allow_unlimited=False):
    """A docker CLI size (``512m``, ``1GB``, ``1GiB``: all binary) -> bytes; -1 when allowed means unlimited."""
    if value is None:
        return None
    if allow_unlimited and str(value).strip() == "-1":
        return -1
    try:
        return parse_ram_size(value)
    except ValueError as exc:
        accepted = RAM_ACCEPTED + (", or -1 for unlimited" if allow_unlimited else "")
        raise ValidationError(option, str(exc).split("; expected", maxsplit=1)[0], accepted=accepted)


def size_view(value):
    if value == -1:
        return "unlimited"
    return format_size(value) if value else None


def _int(option, minimum=None, maximum=None, accepted=None):
    def normalize(value, spec):
        if value is None:
            return None
        return int(validators.check_int(value, option, minimum=minimum, maximum=maximum, accepted=accepted))

    return normalize


def _positive(value):
    return bool(value)


# --------------------------------------------------------------------------- memory


def _memory_update(d, body):
    body["Memory"] = d["memory"]
    # the daemon defaults swap to twice the memory at create time; keep that shape unless memory_swap says
    body["MemorySwap"] = d["memory_swap"] if d.get("memory_swap") else d["memory"] * 2


def _expected_swap(d, img):
    if d["memory_swap"] is not None:
        return d["memory_swap"]
    # the engine's default: twice the memory limit; without a memory limit there is no swap limit
    # either, and a removed memory limit is already a difference of memory itself
    return d["memory"] * 2 if d["memory"] else None


def _check_swap(d, spec):
    swap = d["memory_swap"]
    if swap and swap > 0:
        if not d["memory"]:
            raise ValidationError(
                "memory_swap",
                "needs memory (the engine limits memory plus swap)",
                accepted="memory_swap together with memory, or -1 for unlimited swap",
            )
        if swap < d["memory"]:
            raise ValidationError(
                "memory_swap",
                "%s is smaller than memory (%s); it is memory plus swap"
                % (format_size(swap), format_size(d["memory"])),
                accepted="a size >= memory, or -1 for unlimited swap",
            )
    if d["memory_reservation"] and d["memory"] and d["memory_reservation"] > d["memory"]:
        raise ValidationError("memory_reservation", "must be smaller than memory (a soft limit below the hard one)")


# --------------------------------------------------------------------------- CPU


def _normalize_cpus(value, spec):
    if value is None:
        return 0
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise ValidationError("cpus", "%r is not a number" % (value,), accepted="a number of CPUs like 0.5 or 2")
    if cpus <= 0:
        raise ValidationError("cpus", "must be > 0", accepted="a number of CPUs like 0.5 or 2")
    return int(round(cpus * 10**9))


_CPUSET_RE = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def cpuset(value, option):
    """'0-2,4' -> canonical '0-2,4' (sorted, merged ranges); None stays None."""
    if value is None:
        return None
    text = str(value).replace(" ", "")
    if text == "":
        return ""
    if not _CPUSET_RE.match(text):
        raise ValidationError(
            option,
            "%r is not a CPU/memory-node list" % (value,),
            accepted="numbers and ranges like 0-3 or 0,2 or 0-1,4",
        )
    items = set()
    for part in text.split(","):
        low, _sep, high = part.partition("-")
        low, high = int(low), int(high or low)
        if high < low:
            raise ValidationError(option, "range %s is descending" % part, accepted="ranges like 0-3")
        items.update(range(low, high + 1))
    return format_cpuset(items)


def format_cpuset(items):
    """{0, 1, 2, 4} -> '0-2,4'."""
    ranges = []
    for item in sorted(items):
        if ranges and item == ranges[-1][1] + 1:
            ranges[-1][1] = item
        else:
            ranges.append([item, item])
    return ",".join(str(low) if low == high else "%d-%d" % (low, high) for low, high in ranges)


def _check_cpu(d, spec):
    if d["nano_cpus"] and (d["cpu_period"] or d["cpu_quota"]):
        # the engine refuses NanoCpus together with the CFS period/quota pair
        raise ValidationError(
            "cpus",
            "cannot be combined with cpu_period/cpu_quota (the same limit twice)",
            accepted="either cpus, or cpu_period and cpu_quota",
        )


# --------------------------------------------------------------------------- block I/O

THROTTLE_ACCEPTED = "a list of dicts with path (a device on the host, e.g. /dev/sda) and rate"


def _throttle(option, size):
    def normalize(value, spec):
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise ValidationError(option, "must be a list", accepted=THROTTLE_ACCEPTED)
        result = {}
        for index, item in enumerate(value):
            where = "%s[%d]" % (option, index)
            if not isinstance(item, dict) or set(item) - {"path", "rate"} or not item.get("path"):
                raise ValidationError(where, "%r needs exactly path and rate" % (item,), accepted=THROTTLE_ACCEPTED)
            path = str(item["path"])
            if not path.startswith("/"):
                raise ValidationError(
                    where + ".path", "%r is not an absolute device path" % path, accepted="a device path like /dev/sda"
                )
            if item.get("rate") is None:
                raise ValidationError(where + ".rate", "is required", accepted=THROTTLE_ACCEPTED)
            if size:
                rate = ram_size(item["rate"], where + ".rate")
            else:
                rate = int(validators.check_int(item["rate"], where + ".rate", minimum=0))
            if path in result:
                raise ValidationError(where + ".path", "device %s is listed twice" % path)
            result[path] = rate
        return [{"path": p, "rate": r} for p, r in sorted(result.items())]

    return normalize


def _throttle_actual(key):
    def actual(inspect):
        return sorted(
            ({"path": t.get("Path"), "rate": int(t.get("Rate") or 0)} for t in hc(inspect).get(key) or []),
            key=lambda t: t["path"],
        )

    return actual


def _throttle_apply(key):
    def apply(value, body, d=None):
        if value:
            body["HostConfig"][key] = [{"Path": t["path"], "Rate": t["rate"]} for t in value]

    return apply


def _throttle_view(size):
    def view(value, img, d):
        if not value:
            return []
        return [{"path": t["path"], "rate": format_size(t["rate"]) if size else t["rate"]} for t in value]

    return view


def _throttle_row(name, key, size):
    return Option(
        name,
        dict(
            type="list",
            elements="dict",
            options=dict(path=dict(type="str", required=True), rate=dict(type="str" if size else "int", required=True)),
        ),
        normalize=_throttle(name, size),
        expected=lambda d, img: d[name],
        actual=_throttle_actual(key),
        apply=_throttle_apply(key),
        view=_throttle_view(size),
        comparisons=COLLECTION,
    )


def _scalar(name, key, arg, normalize, default=0, update=True, view=None, in_place_when=None, transform=None):
    """A plain HostConfig number/string: omitted means the engine's default ``default``."""
    return Option(
        name,
        arg,
        normalize=normalize,
        expected=lambda d, img: d[name] if d[name] is not None else default,
        actual=hc_value(key, default, transform),
        apply=set_hc(key, when=lambda v: v is not None and v != default),
        update_key=key if update else None,
        in_place_when=in_place_when or (lambda d, exp, act: exp != default),
        view=view,
    )


ROWS: list[Option] = [
    Option(
        "memory",
        dict(type="str"),
        normalize=lambda v, s: ram_size(v, "memory") or 0,
        expected=lambda d, img: d["memory"],
        actual=lambda i: int(hc(i).get("Memory") or 0),
        apply=set_hc("Memory", when=_positive),
        update=_memory_update,
        in_place_when=lambda d, exp, act: d["memory"] > 0,
        view=lambda v, img, d: format_size(v) if v else None,
    ),
    _scalar(
        "memory_reservation",
        "MemoryReservation",
        dict(type="str"),
        lambda v, s: ram_size(v, "memory_reservation"),
        view=lambda v, img, d: size_view(v),
    ),
    Option(
        "memory_swap",
        dict(type="str"),
        normalize=lambda v, s: ram_size(v, "memory_swap", allow_unlimited=True),
        check=_check_swap,
        expected=_expected_swap,
        actual=lambda i: int(hc(i).get("MemorySwap") or 0),
        apply=set_hc("MemorySwap", when=bool),
        update=_memory_update,
        # the update endpoint needs a memory limit to set swap against; removing swap's limit recreates
        in_place_when=lambda d, exp, act: bool(d["memory"]) and exp != 0,
        view=lambda v, img, d: size_view(v),
        implied_by="memory",
    ),
    Option(
        "memory_swappiness",
        dict(type="int"),
        normalize=_int("memory_swappiness", 0, 100),
        # null (inspect) is the engine's default: the host's swappiness
        expected=lambda d, img: d["memory_swappiness"] if d["memory_swappiness"] is not None else -1,
        actual=lambda i: hc(i).get("MemorySwappiness") if hc(i).get("MemorySwappiness") is not None else -1,
        apply=set_hc("MemorySwappiness"),
        view=lambda v, img, d: None if v == -1 else v,
    ),
    Option(
        "cpus",
        dict(type="float"),
        key="nano_cpus",
        normalize=_normalize_cpus,
        check=_check_cpu,
        expected=lambda d, img: d["nano_cpus"],
        actual=lambda i: int(hc(i).get("NanoCpus") or 0),
        apply=set_hc("NanoCpus", when=_positive),
        update_key="NanoCpus",
        in_place_when=lambda d, exp, act: d["nano_cpus"] > 0,
        view=lambda v, img, d: (v / 1e9) if v else None,
    ),
    _scalar("cpu_shares", "CpuShares", dict(type="int"), _int("cpu_shares", 0)),
    _scalar(
        "cpu_period",
        "CpuPeriod",
        dict(type="int"),
        _int("cpu_period", 0, 1000000, accepted="microseconds, 1000 to 1000000 (0: the default, 100000)"),
    ),
    _scalar(
        "cpu_quota", "CpuQuota", dict(type="int"), _int("cpu_quota", 0, accepted="microseconds >= 1000 per cpu_period")
    ),
    _scalar(
        "cpuset_cpus",
        "CpusetCpus",
        dict(type="str"),
        lambda v, s: cpuset(v, "cpuset_cpus"),
        default="",
        transform=lambda v: cpuset(v, "CpusetCpus"),
    ),
    _scalar(
        "cpuset_mems",
        "CpusetMems",
        dict(type="str"),
        lambda v, s: cpuset(v, "cpuset_mems"),
        default="",
        transform=lambda v: cpuset(v, "CpusetMems"),
    ),
    _scalar(
        "blkio_weight",
        "BlkioWeight",
        dict(type="int"),
        _int("blkio_weight", 0, 1000, accepted="10 to 1000 (0: the default)"),
    ),
    _throttle_row("device_read_bps", "BlkioDeviceReadBps", True),
    _throttle_row("device_write_bps", "BlkioDeviceWriteBps", True),
    _throttle_row("device_read_iops", "BlkioDeviceReadIOps", False),
    _throttle_row("device_write_iops", "BlkioDeviceWriteIOps", False),
    # 0 and -1 are Docker's own spellings of "unlimited"; anything below is a typo
    Option(
        "pids_limit",
        dict(type="int"),
        normalize=lambda v, s: max(
            0, _int("pids_limit", -1, accepted="a positive number of processes, or 0 or -1 for unlimited")(v, s) or 0
        ),
        expected=lambda d, img: d["pids_limit"],
        actual=lambda i: max(0, hc(i).get("PidsLimit") or 0),
        apply=set_hc("PidsLimit", when=_positive),
        update=lambda d, body: body.__setitem__("PidsLimit", d["pids_limit"] or -1),
        view=lambda v, img, d: v or None,
    ),
    Option(
        "storage_opts",
        dict(type="dict"),
        normalize=lambda v, s: str_dict(v, "storage_opts") or {},
        expected=lambda d, img: d["storage_opts"],
        actual=lambda i: dict(hc(i).get("StorageOpt") or {}),
        apply=set_hc("StorageOpt", when=bool),
        comparisons=COLLECTION,
    ),
]
