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


TCP_ESTABLISHED = 0x01


def established_sockets(tables, byteorder=None):
    """{proto: text} -> established TCP sockets (both ends known), deduplicated by inode."""
    result = []
    seen = set()
    for proto in ("tcp", "tcp6"):
        for sock in parse_proc_net(tables.get(proto) or "", proto, byteorder):
            if sock["state"] != TCP_ESTABLISHED or not sock["inode"] or sock["inode"] in seen:
                continue
            seen.add(sock["inode"])
            result.append(sock)
    return result


def plain_address(address):
    """'::ffff:10.0.0.5' -> '10.0.0.5' (an IPv4 peer of a dual-stack socket); other addresses unchanged."""
    if address.startswith("::ffff:") and "." in address:
        return address[len("::ffff:"):]
    return address


def unit_connections(established, listen_ports, limit=100):
    """One unit's established TCP sockets -> its connections, deduplicated and sorted.

    ``listen_ports`` are the unit's listening TCP ports: a socket whose local port is one of them was
    accepted (``direction: in``, ``address`` the client, ``port`` the unit's port); any other is one the
    unit opened (``direction: out``, ``address:port`` the server it talks to). At most ``limit`` of each
    direction are kept (busy servers have thousands of clients); returns (connections, truncated).
    """
    found = {"in": set(), "out": set()}
    for sock in established:
        if sock["port"] in listen_ports:
            found["in"].add((plain_address(sock["remote_address"]), sock["port"]))
        else:
            found["out"].add((plain_address(sock["remote_address"]), sock["remote_port"]))
    result = []
    truncated = False
    for direction in ("out", "in"):
        items = sorted(found[direction], key=lambda item: (item[1], item[0]))
        truncated = truncated or len(items) > limit
        result.extend({"direction": direction, "proto": "tcp", "address": address, "port": port}
                      for address, port in items[:limit])
    return result, truncated


def parse_fib_trie_local(text):
    """/proc/net/fib_trie -> the host's own IPv4 addresses (``/32 host LOCAL`` entries), sorted, loopback dropped."""
    addresses = set()
    last = None
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            last = stripped[3:].strip()
        elif stripped == "/32 host LOCAL" and last:
            addresses.add(last)
    return sorted((a for a in addresses if not is_loopback(a)), key=ipaddress.ip_address)


def parse_if_inet6(text):
    """/proc/net/if_inet6 -> the host's global IPv6 addresses (scope 00), sorted."""
    addresses = set()
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) >= 6 and len(fields[0]) == 32 and fields[3] == "00":
            address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            if not address.is_loopback:
                addresses.add(str(address))
    return sorted(addresses)


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
