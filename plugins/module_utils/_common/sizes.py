# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Size parsing and formatting ("2GiB", "512MiB", "10G", 1024).

Conventions follow libvirt and qemu-img: ``K``/``M``/``G``/``T`` and the
``KiB``... forms are powers of 1024, ``KB``/``MB``/``GB``/``TB`` are powers of
1000. A bare number (int or digit string) is in ``default_unit``.
"""

from __future__ import annotations

import re

_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgtp]?)(i?)(b?)\s*$", re.IGNORECASE)

ACCEPTED_SIZES = "an integer or a string like 512MiB, 2GiB, 10G, 1TB (K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB of 1000)"


class SizeError(ValueError):
    """A value that is not a size. ``reason`` is the short message without the list of accepted forms."""

    def __init__(self, reason):
        super().__init__("%s; expected %s" % (reason, ACCEPTED_SIZES))
        self.reason = reason


def unit_factor(unit):
    """Bytes in one ``unit`` (e.g. 'MiB' -> 1048576, 'B' -> 1)."""
    match = _SIZE_RE.match("1" + (unit or ""))
    if not match:
        raise ValueError("unknown size unit %r" % unit)
    return _factor(match.group(2), match.group(3), match.group(4))


def _factor(prefix, binary, byte):
    power = _POWERS[prefix.lower()]
    if prefix and byte and not binary:
        base = 1000
    else:
        base = 1024
    return base ** power


def parse_size(value, default_unit="B"):
    """Return ``value`` in bytes (int). Raises ValueError with an explanatory message."""
    if isinstance(value, bool):
        raise SizeError("%r is not a size" % (value,))
    if isinstance(value, int):
        if value < 0:
            raise SizeError("%r is negative" % (value,))
        return value * unit_factor(default_unit)
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str):
        raise SizeError("%r is not a size" % (value,))
    match = _SIZE_RE.match(value)
    if not match:
        raise SizeError("%r is not a size" % (value,))
    number, prefix, binary, byte = match.groups()
    if binary and not prefix:
        raise SizeError("%r is not a size" % (value,))
    if not (prefix or binary or byte):
        factor = unit_factor(default_unit)
    else:
        factor = _factor(prefix, binary, byte)
    result = float(number) * factor
    if result != int(result):
        raise SizeError("%r is not a whole number of bytes" % (value,))
    return int(result)


RAM_ACCEPTED = ("an integer (bytes) or a string like 512m, 512MB, 512MiB, 1.5g (docker CLI rules: k/m/g/t/p, "
                "KB/MB/GB... and KiB/MiB/GiB... are all powers of 1024)")


def parse_ram_size(value):
    """Container memory sizes, read like the docker CLI (``RAMInBytes``): every unit is binary.

    ``512MB`` is 512 MiB here, unlike :func:`parse_size` (libvirt/qemu-img rules, where it is 512
    million bytes): a community.docker or ``docker run -m`` value means the same limit.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("%r is negative; expected %s" % (value, RAM_ACCEPTED))
        return int(value)
    match = _SIZE_RE.match(value) if isinstance(value, str) else None
    if not match or (match.group(3) and not match.group(2)):
        raise ValueError("%r is not a size; expected %s" % (value, RAM_ACCEPTED))
    number, prefix = match.group(1), match.group(2)
    # the CLI truncates fractional bytes (1.5k -> 1536, 0.1k -> 102)
    return int(float(number) * 1024 ** _POWERS[prefix.lower()])


def format_size(num_bytes):
    """Shortest exact binary representation: 536870912 -> '512MiB', 1000 -> '1000B'."""
    num_bytes = int(num_bytes)
    for suffix, power in (("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        factor = 1024 ** power
        if num_bytes and num_bytes % factor == 0:
            return "%d%s" % (num_bytes // factor, suffix)
    return "%dB" % num_bytes
