# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions: /proc/net/{tcp,tcp6,udp,udp6} text -> socket records.

Each line of those files is one socket of the reader's network namespace::

    sl  local_address rem_address   st ... uid  timeout inode
     0: 0100007F:0050 00000000:0000 0A ...    0        0 12345 ...

Addresses are hex in the kernel's byte order (per 32-bit word), ports are
big-endian hex. A TCP socket listens when ``st`` is ``0A`` (TCP_LISTEN); a
UDP socket "listens" when it is unconnected (``st`` ``07``, remote port 0).
"""

from __future__ import annotations

import ipaddress
import sys

PROTOCOLS = ("tcp", "tcp6", "udp", "udp6")
TCP_LISTEN = 0x0A
UDP_UNCONNECTED = 0x07


def decode_address(text, byteorder=None):
    """'0100007F:0050' -> ('127.0.0.1', 80); 32 hex digits give an IPv6 address.

    IPv4-mapped IPv6 addresses (``::ffff:127.0.0.1``) stay IPv6 text.
    """
    byteorder = byteorder or sys.byteorder
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if byteorder == "little":
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    if len(raw) == 4:
        address = str(ipaddress.IPv4Address(raw))
    elif len(raw) == 16:
        ipv6 = ipaddress.IPv6Address(raw)
        # spelled out here: Python before 3.13 prints ::ffff:7f00:1
        address = "::ffff:%s" % ipv6.ipv4_mapped if ipv6.ipv4_mapped else str(ipv6)
    else:
        raise ValueError("unexpected address %r" % text)
    return address, int(port, 16)


def parse_proc_net(text, proto, byteorder=None):
    """All sockets in one /proc/net/<proto> file, as dicts.

    Keys: proto (tcp/udp; the family is in ``family``), family (4/6), address,
    port, remote_address, remote_port, state (int), uid, inode, listening.
    """
    base = proto.rstrip("6")
    family = 6 if proto.endswith("6") else 4
    sockets = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10 or not fields[0].endswith(":") or not fields[0][:-1].isdigit():
            continue  # header or truncated line
        address, port = decode_address(fields[1], byteorder)
        remote, remote_port = decode_address(fields[2], byteorder)
        state = int(fields[3], 16)
        if base == "tcp":
            listening = state == TCP_LISTEN
        else:
            listening = state == UDP_UNCONNECTED and remote_port == 0
        sockets.append({
            "proto": base,
            "family": family,
            "address": address,
            "port": port,
            "remote_address": remote,
            "remote_port": remote_port,
            "state": state,
            "uid": int(fields[7]),
            "inode": int(fields[9]),
            "listening": listening,
        })
    return sockets


def listening_sockets(tables, byteorder=None):
    """{proto: text} for the four files -> listening sockets, deduplicated, sorted.

    Inode 0 entries (time-wait leftovers without an owner) are dropped.
    """
    result = []
    seen = set()
    for proto in PROTOCOLS:
        text = tables.get(proto)
        if not text:
            continue
        for sock in parse_proc_net(text, proto, byteorder):
            if not sock["listening"] or not sock["inode"]:
                continue
            key = (sock["proto"], sock["address"], sock["port"], sock["inode"])
            if key in seen:
                continue
            seen.add(key)
            result.append(sock)
    result.sort(key=lambda s: (s["proto"], s["port"], s["family"], s["address"]))
    return result


def is_loopback(address):
    """True for 127.0.0.0/8, ::1 and ::ffff:127.x addresses."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_loopback


def is_wildcard(address):
    """True for 0.0.0.0 and ::."""
    return address in ("0.0.0.0", "::")
