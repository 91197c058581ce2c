# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: published ports, networks and the hostname."""

from __future__ import annotations

import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    COLLECTION, NETWORK, Option, cfg, hc, set_cfg)

PORT_PROTOCOLS = ("tcp", "udp", "sctp")

# --------------------------------------------------------------------------- ports

_PORT_RE = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?"      # host ip (v4, or [v6])
    r"(?:(?P<host>(?:\d+(?:-\d+)?)?):)?"            # host port or range (may be empty)
    r"(?P<cont>\d+(?:-\d+)?)"                         # container port or range
    r"(?:/(?P<proto>[a-zA-Z]+))?$")
PORT_ACCEPTED = ("'[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]', e.g. '80', '8080:80', "
                 "'127.0.0.1:8080:80/tcp', '127.0.0.1::80', '8000-8001:80-81'; PROTO is tcp, udp or sctp")


def _port_range(text, item, option):
    low, _sep, high = text.partition("-")
    low, high = int(low), int(high or low)
    if not (1 <= low <= high <= 65535):
        raise ValidationError(option, "%r: port numbers must be 1-65535 and ranges ascending" % item,
                              accepted=PORT_ACCEPTED)
    return list(range(low, high + 1))


def parse_port(item, option="ports"):
    """One port string -> list of canonical 'ip:host:container/proto' strings."""
    if isinstance(item, int) and not isinstance(item, bool):
        item = str(item)
    if not isinstance(item, str):
        raise ValidationError(option, "%r is not a port string" % (item,), accepted=PORT_ACCEPTED)
    match = _PORT_RE.match(item.strip())
    if not match:
        raise ValidationError(option, "cannot parse %r" % item, accepted=PORT_ACCEPTED)
    ip = match.group("ip") or ""
    if ip:
        # a mistyped address must not become "every interface"
        bracketed = ip.startswith("[")
        ip = ip.strip("[]")
        try:
            validators.check_ip(ip, option, version=6 if bracketed else 4)
        except ValidationError:
            raise ValidationError(option, "%r: host IP %r is not a valid %s address" % (item, ip, "IPv6" if bracketed else "IPv4"),
                                  accepted="an IPv4 address or a bracketed IPv6 address in " + PORT_ACCEPTED)
    if ip in ("0.0.0.0", "::"):
        ip = ""
    proto = (match.group("proto") or "tcp").lower()
    if proto not in PORT_PROTOCOLS:
        raise ValidationError(option, "%r: unknown protocol %r" % (item, proto), accepted=PORT_ACCEPTED)
    cont = _port_range(match.group("cont"), item, option)
    host_text = match.group("host")
    if host_text:
        host = _port_range(host_text, item, option)
        if len(host) != len(cont):
            raise ValidationError(option, "%r: host and container port ranges differ in length" % item,
                                  accepted=PORT_ACCEPTED)
    else:
        host = [""] * len(cont)
    return ["%s:%s:%d/%s" % (ip, h, c, proto) for h, c in zip(host, cont)]


def normalize_ports(value, spec=None):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("ports", "must be a list", accepted=PORT_ACCEPTED)
    result = []
    for index, item in enumerate(value):
        result.extend(parse_port(item, "ports[%d]" % index))
    seen = {}
    for entry in result:
        ip, host, _cont, proto = port_parts(entry)
        if host:
            key = (ip, host, proto)
            if key in seen and seen[key] != entry:
                raise ValidationError("ports", "host port %s/%s is published twice (%s and %s)"
                                      % (host, key[2], seen[key], entry))
            seen[key] = entry
    return sorted(set(result))


def port_parts(entry):
    """Canonical port string -> (host_ip, host_port, container_port, proto)."""
    head, host, rest = entry.rsplit(":", 2)
    cont, proto = rest.split("/")
    return head, host, int(cont), proto


def fixed_host_ports(ports):
    return [p for p in ports if port_parts(p)[1]]


def ports_actual(inspect):
    bindings = hc(inspect).get("PortBindings") or {}
    result = set()
    for key, hosts in bindings.items():
        cont, _sep, proto = key.partition("/")
        for host in hosts or [{}]:
            ip = (host or {}).get("HostIp") or ""
            if ip in ("0.0.0.0", "::"):
                ip = ""
            result.add("%s:%s:%s/%s" % (ip, (host or {}).get("HostPort") or "", cont, proto or "tcp"))
    return sorted(result)


def _ports_apply(ports, body, d=None):
    if not ports:
        return
    exposed = body.setdefault("ExposedPorts", {})
    bindings = body["HostConfig"].setdefault("PortBindings", {})
    for entry in ports:
        ip, host, cont, proto = port_parts(entry)
        key = "%d/%s" % (cont, proto)
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host})


def port_view(ports):
    result = []
    for entry in ports or []:
        ip, host, cont, proto = port_parts(entry)
        text = "%d/%s" % (cont, proto)
        if host or ip:
            text = "%s:%s" % (host, text)
        if ip:
            text = "%s:%s" % ("[%s]" % ip if ":" in ip else ip, text)
        result.append(text)
    return result


def _check_ports(desired, spec):
    networks = desired.get("networks")
    if desired["ports"] and networks and networks[0]["name"] in ("host", "none"):
        raise ValidationError("ports", "cannot publish ports with network %s" % networks[0]["name"])


# --------------------------------------------------------------------------- networks

NO_NETWORK = "none"
# network modes that replace the container's network stack: moving into or out of them needs a new container
STACK_MODES = ("host", NO_NETWORK)


def normalize_networks(value, spec=None):
    """Network list -> canonical form; [] means no network at all (the engine's ``none`` mode)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and not value:
        # a container left with no endpoint in the default mode is put back on the
        # default bridge at its next start; `none` is the engine's stable form of it
        value = [NO_NETWORK]
    if not isinstance(value, (list, tuple)):
        raise ValidationError("networks", "must be a list of network names or dicts with name, aliases, ipv4_address")
    result = []
    seen = set()
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            raise ValidationError("networks", "each item needs a name, got %r" % (item,),
                                  accepted="a network name or a dict with name, aliases, ipv4_address")
        unknown = set(item) - {"name", "aliases", "ipv4_address"}
        if unknown:
            raise ValidationError("networks", "unknown keys %s" % ", ".join(sorted(unknown)),
                                  accepted="name, aliases, ipv4_address")
        if item["name"] in seen:
            raise ValidationError("networks", "network %s is listed twice" % item["name"])
        seen.add(item["name"])
        if item["name"] in STACK_MODES and len(value) > 1:
            raise ValidationError("networks", "network %s cannot be combined with other networks" % item["name"])
        result.append({"name": str(item["name"]),
                       "aliases": sorted(set(str(a) for a in item.get("aliases") or [])),
                       "ipv4_address": item.get("ipv4_address") or None})
    return result


def networks_actual(inspect):
    nets = ((inspect.get("NetworkSettings") or {}).get("Networks")) or {}
    mode = (inspect.get("HostConfig") or {}).get("NetworkMode")
    if not nets and mode in ("host", "none"):
        return [{"name": mode, "aliases": [], "ipv4_address": None}]
    result = []
    for name, data in sorted(nets.items()):
        data = data or {}
        ipam = data.get("IPAMConfig") or {}
        result.append({"name": name, "aliases": sorted(data.get("Aliases") or []),
                       "ipv4_address": ipam.get("IPv4Address") or None})
    return result


def network_mode(nets):
    """'host', 'none' or 'bridge' (any ordinary network): which network stack a network list means."""
    if nets and nets[0]["name"] in STACK_MODES:
        return nets[0]["name"]
    return "bridge"


def networks_in_place(expected, actual):
    """Networks can be connected/disconnected in place unless the network stack itself changes."""
    return network_mode(expected) == network_mode(actual)


def networks_match(expected, actual, more=False):
    """Same network names (``more``: at least those); declared aliases present (the engine adds the
    container ID), same fixed IPs."""
    if expected is None:
        return True
    act = dict((n["name"], n) for n in actual)
    names = set(n["name"] for n in expected)
    if not (names <= set(act) if more else names == set(act)):
        return False
    for net in expected:
        have = act[net["name"]]
        if not set(net["aliases"]) <= set(have["aliases"]):
            return False
        if net["ipv4_address"] and net["ipv4_address"] != have["ipv4_address"]:
            return False
    return True


def _networks_apply(nets, body, d=None):
    if not nets:
        return
    first = nets[0]
    body["HostConfig"]["NetworkMode"] = first["name"]
    if first["name"] in ("host", "none"):
        return
    endpoint = {}
    if first["aliases"]:
        endpoint["Aliases"] = list(first["aliases"])
    if first["ipv4_address"]:
        endpoint["IPAMConfig"] = {"IPv4Address": first["ipv4_address"]}
    body["NetworkingConfig"] = {"EndpointsConfig": {first["name"]: endpoint}}


def net_view(nets, desired=None):
    """Option form of a network list; only the declared aliases are shown (the engine adds its own)."""
    if nets is None:
        return None
    declared = dict((n["name"], set(n["aliases"])) for n in (desired or {}).get("networks") or [])
    result = []
    for net in nets:
        item = {"name": net["name"]}
        aliases = [a for a in net["aliases"] if a in declared.get(net["name"], ())]
        if aliases:
            item["aliases"] = aliases
        if net["ipv4_address"]:
            item["ipv4_address"] = net["ipv4_address"]
        result.append(item)
    return result


def _normalize_hostname(value, spec):
    if value is not None:
        validators.check_hostname(value, "hostname")
    return value


ROWS = [
    Option("ports", dict(type="list", elements="raw"), normalize=normalize_ports, check=_check_ports,
           expected=lambda d, img: d["ports"], actual=ports_actual, apply=_ports_apply,
           view=lambda v, img, d: port_view(v), comparisons=COLLECTION),
    Option("hostname", dict(type="str"), normalize=_normalize_hostname, expected=lambda d, img: d["hostname"],
           actual=lambda i: cfg(i).get("Hostname") or "", apply=set_cfg("Hostname")),
    Option("networks", dict(type="list", elements="raw"), normalize=normalize_networks,
           expected=lambda d, img: d["networks"], actual=networks_actual, apply=_networks_apply,
           update=lambda d, body: None, update_kind=NETWORK,
           view=lambda v, img, d: net_view(v, d), match=networks_match,
           match_more=lambda exp, act: networks_match(exp, act, more=True),
           in_place_when=lambda d, exp, act: networks_in_place(exp, act), comparisons=COLLECTION),
]
