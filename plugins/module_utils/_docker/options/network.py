# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: published ports, networks and the hostname."""

from __future__ import annotations

import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    COLLECTION,
    NETWORK,
    Option,
    cfg,
    hc,
    list_as_set,
    set_cfg,
    set_hc,
)

PORT_PROTOCOLS = ("tcp", "udp", "sctp")

# --------------------------------------------------------------------------- ports

_PORT_RE = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?"  # host ip (v4, or [v6])
    r"(?:(?P<host>(?:\d+(?:-\d+)?)?):)?"  # host port or range (may be empty)
    r"(?P<cont>\d+(?:-\d+)?)"  # container port or range
    r"(?:/(?P<proto>[a-zA-Z]+))?$"
)
PORT_ACCEPTED = (
    "'[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]', e.g. '80', '8080:80', "
    "'127.0.0.1:8080:80/tcp', '127.0.0.1::80', '8000-8001:80-81'; PROTO is tcp, udp or sctp"
)


def _port_range(text, item, option):
    low, _sep, high = text.partition("-")
    low, high = int(low), int(high or low)
    if not (1 <= low <= high <= 65535):
        raise ValidationError(
            option, "%r: port numbers must be 1-65535 and ranges ascending" % item, accepted=PORT_ACCEPTED
        )
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
            raise ValidationError(
                option,
                "%r: host IP %r is not a valid %s address" % (item, ip, "IPv6" if bracketed else "IPv4"),
                accepted="an IPv4 address or a bracketed IPv6 address in " + PORT_ACCEPTED,
            )
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
            raise ValidationError(
                option, "%r: host and container port ranges differ in length" % item, accepted=PORT_ACCEPTED
            )
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
                raise ValidationError(
                    "ports", "host port %s/%s is published twice (%s and %s)" % (host, key[2], seen[key], entry)
                )
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
        raise ValidationError(
            "networks", "must be a list of network names or dicts with name, aliases, ipv4_address, ipv6_address"
        )
    result = []
    seen = set()
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            raise ValidationError(
                "networks",
                "each item needs a name, got %r" % (item,),
                accepted="a network name or a dict with name, aliases, ipv4_address, ipv6_address",
            )
        unknown = set(item) - {"name", "aliases", "ipv4_address", "ipv6_address"}
        if unknown:
            raise ValidationError(
                "networks",
                "unknown keys %s" % ", ".join(sorted(unknown)),
                accepted="name, aliases, ipv4_address, ipv6_address",
            )
        if item["name"] in seen:
            raise ValidationError("networks", "network %s is listed twice" % item["name"])
        seen.add(item["name"])
        if item["name"] in STACK_MODES and len(value) > 1:
            raise ValidationError("networks", "network %s cannot be combined with other networks" % item["name"])
        net = {
            "name": str(item["name"]),
            "aliases": sorted(set(str(a) for a in item.get("aliases") or [])),
            "ipv4_address": item.get("ipv4_address") or None,
        }
        if item.get("ipv6_address"):
            # the engine's form of the address ('fd00:0::5' is 'fd00::5'); only set when given
            net["ipv6_address"] = str(
                validators.check_ip(str(item["ipv6_address"]), "networks.%s.ipv6_address" % net["name"], version=6)
            )
        result.append(net)
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
        net = {
            "name": name,
            "aliases": sorted(data.get("Aliases") or []),
            "ipv4_address": ipam.get("IPv4Address") or None,
        }
        if ipam.get("IPv6Address"):
            net["ipv6_address"] = ipam["IPv6Address"]
        result.append(net)
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
        if net.get("ipv6_address") and net["ipv6_address"] != have.get("ipv6_address"):
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
    if first.get("ipv6_address"):
        endpoint.setdefault("IPAMConfig", {})["IPv6Address"] = first["ipv6_address"]
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
        if net.get("ipv6_address"):
            item["ipv6_address"] = net["ipv6_address"]
        result.append(item)
    return result


def _normalize_hostname(value, spec):
    if value is not None:
        validators.check_hostname(value, "hostname")
    return value


ROWS: list[Option] = [
    Option(
        "ports",
        dict(type="list", elements="raw"),
        normalize=normalize_ports,
        check=_check_ports,
        expected=lambda d, img: d["ports"],
        actual=ports_actual,
        apply=_ports_apply,
        view=lambda v, img, d: port_view(v),
        comparisons=COLLECTION,
    ),
    Option(
        "hostname",
        dict(type="str"),
        normalize=_normalize_hostname,
        expected=lambda d, img: d["hostname"],
        actual=lambda i: cfg(i).get("Hostname") or "",
        apply=set_cfg("Hostname"),
    ),
    Option(
        "networks",
        dict(type="list", elements="raw"),
        normalize=normalize_networks,
        expected=lambda d, img: d["networks"],
        actual=networks_actual,
        apply=_networks_apply,
        update=lambda d, body: None,
        update_kind=NETWORK,
        view=lambda v, img, d: net_view(v, d),
        match=networks_match,
        match_more=lambda exp, act: networks_match(exp, act, more=True),
        in_place_when=lambda d, exp, act: networks_in_place(exp, act),
        comparisons=COLLECTION,
    ),
]


# --------------------------------------------------------------------------- network mode, DNS, hosts (family B)

# the engine's names for its default network mode ("default" is "bridge" on Linux)
DEFAULT_MODES = ("default", "bridge")
CONTAINER_MODE = "container:"
NETWORK_MODE_ACCEPTED = "bridge, host, none, default, container:NAME or the name of a network"


def _normalize_network_mode(value, spec):
    if value is None:
        return None
    text = str(value).strip()
    if not text or (text.startswith(CONTAINER_MODE) and not text[len(CONTAINER_MODE) :]):
        raise ValidationError("network_mode", "%r is not a network mode" % (value,), accepted=NETWORK_MODE_ACCEPTED)
    return "bridge" if text == "default" else text


def _check_network_mode(desired, spec):
    """community.docker's rules: network_mode decides the stack; networks must agree with it."""
    mode = desired.get("network_mode")
    nets = desired.get("networks")
    if mode is None:
        return
    stack_mode = mode in STACK_MODES or mode.startswith(CONTAINER_MODE)
    if stack_mode and nets and not (len(nets) == 1 and nets[0]["name"] == mode):
        raise ValidationError(
            "network_mode",
            "%s cannot be combined with networks (%s)" % (mode, ", ".join(n["name"] for n in nets)),
            accepted="networks omitted (or [%s]) with network_mode %s" % (mode, mode),
        )
    if stack_mode and desired.get("ports"):
        raise ValidationError("ports", "cannot publish ports with network_mode %s" % mode)
    if nets and not stack_mode and nets[0]["name"] != mode:
        # networks are strict here: the container is on exactly those, created on the first
        raise ValidationError(
            "network_mode",
            "%s must be the first of networks (%s), the network the container is created on" % (mode, nets[0]["name"]),
            accepted=NETWORK_MODE_ACCEPTED,
        )


def expected_network_mode(d, img):
    mode = d.get("network_mode")
    if mode is None:
        return None
    if mode.startswith(CONTAINER_MODE) and d.get("network_mode_id"):
        # the engine stores container:ID; the manager looks the name up (network_mode_id)
        return CONTAINER_MODE + d["network_mode_id"]
    return mode


def network_mode_actual(inspect):
    mode = hc(inspect).get("NetworkMode") or "default"
    return "bridge" if mode == "default" else mode


def _network_mode_apply(mode, body, d=None):
    if mode is None:
        return
    target = expected_network_mode(d or {"network_mode": mode}, None)
    body["HostConfig"]["NetworkMode"] = target
    if mode in STACK_MODES or mode.startswith(CONTAINER_MODE):
        body.pop("NetworkingConfig", None)


def _network_mode_view(value, img, d):
    if value and value.startswith(CONTAINER_MODE) and d.get("network_mode_id") and value.endswith(d["network_mode_id"]):
        return d["network_mode"]
    return value


def _ip_list(option, version=None):
    def normalize(value, spec):
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise ValidationError(option, "must be a list of IP addresses, got %r" % (value,))
        result = []
        for index, item in enumerate(value):
            result.append(str(validators.check_ip(str(item).strip(), "%s[%d]" % (option, index), version=version)))
        return result

    return normalize


def _name_list(option, check=None):
    def normalize(value, spec):
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise ValidationError(option, "must be a list of strings, got %r" % (value,))
        result = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
                raise ValidationError("%s[%d]" % (option, index), "%r is not a non-empty string" % (item,))
            if check:
                check(str(item).strip(), "%s[%d]" % (option, index))
            result.append(str(item).strip())
        return result

    return normalize


def _ordered_list_row(name, key, normalize):
    """A HostConfig list whose order counts (resolvers are asked in order); omitted is the engine's empty list."""
    return Option(
        name,
        dict(type="list", elements="str"),
        normalize=normalize,
        expected=lambda d, img: list(d[name] or []),
        actual=lambda i: list(hc(i).get(key) or []),
        apply=lambda v, b, d=None: b["HostConfig"].__setitem__(key, list(v)) if v else None,
        view=lambda v, img, d: v or None,
        comparisons=COLLECTION,
    )


def _normalize_etc_hosts(value, spec):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("etc_hosts", "must be a dictionary of host name: IP address, got %r" % (value,))
    result = {}
    for host, ip in value.items():
        validators.check_dns_name(str(host), "etc_hosts")
        result[str(host)] = str(validators.check_ip(str(ip).strip(), "etc_hosts.%s" % host))
    return result


def _etc_hosts_actual(inspect):
    result = {}
    for item in hc(inspect).get("ExtraHosts") or []:
        host, _sep, ip = item.partition(":")
        result[host] = ip
    return result


def _normalize_exposed(value, spec):
    """['80', '53/udp', 8080, '9000-9001'] -> sorted ['53/udp', '80/tcp', ...] (the engine's keys)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("exposed_ports", "must be a list of ports like 80 or 53/udp")
    result = set()
    for index, item in enumerate(value):
        option = "exposed_ports[%d]" % index
        text = str(item).strip()
        port, _sep, proto = text.partition("/")
        proto = (proto or "tcp").lower()
        if isinstance(item, bool) or proto not in PORT_PROTOCOLS or not re.match(r"^\d+(-\d+)?$", port):
            raise ValidationError(
                option,
                "%r is not a container port" % (item,),
                accepted="PORT[/PROTO] or a range PORT-PORT[/PROTO]; PROTO is tcp, udp or sctp",
            )
        for number in _port_range(port, text, option):
            result.add("%d/%s" % (number, proto))
    return sorted(result)


def _expected_exposed(d, img):
    """The image's EXPOSE, the published ports and the declared ones: what the engine shows.

    Not compared when none are declared: what the engine shows then is the image's and the published
    ports' business (a container made elsewhere may publish a port it never exposed).
    """
    if not d["exposed_ports"]:
        return None
    ports = set(image_exposed(img))
    ports.update("%d/%s" % (port_parts(p)[2], port_parts(p)[3]) for p in d["ports"])
    ports.update(d["exposed_ports"])
    return sorted(ports)


def image_exposed(img):
    return sorted(((img or {}).get("Config") or {}).get("ExposedPorts") or {})


def _exposed_apply(value, body, d=None):
    if not d or not d["exposed_ports"]:
        return
    exposed = body.setdefault("ExposedPorts", {})
    for key in d["exposed_ports"]:
        exposed[key] = {}


def _exposed_view(value, img, d):
    # the image's own EXPOSE and the published ports are not the option's: show what the spec adds
    own = set(image_exposed(img)) | set("%d/%s" % (port_parts(p)[2], port_parts(p)[3]) for p in d["ports"])
    return [p for p in value or [] if p not in own or p in d["exposed_ports"]] or None


_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _normalize_mac(value, spec):
    if value is None:
        return None
    text = str(value).strip().lower().replace("-", ":")
    if not _MAC_RE.match(text):
        raise ValidationError(
            "mac_address", "%r is not a MAC address" % (value,), accepted="six hex bytes, e.g. 02:42:ac:11:00:02"
        )
    return text


def _normalize_domainname(value, spec):
    if value is not None and value != "":
        validators.check_dns_name(str(value), "domainname")
    return value


ROWS += [
    Option(
        "network_mode",
        dict(type="str"),
        normalize=_normalize_network_mode,
        check=_check_network_mode,
        expected=expected_network_mode,
        actual=network_mode_actual,
        apply=_network_mode_apply,
        view=_network_mode_view,
    ),
    _ordered_list_row("dns_servers", "Dns", _ip_list("dns_servers")),
    _ordered_list_row("dns_search_domains", "DnsSearch", _name_list("dns_search_domains", validators.check_dns_name)),
    _ordered_list_row("dns_opts", "DnsOptions", _name_list("dns_opts")),
    Option(
        "etc_hosts",
        dict(type="dict"),
        normalize=_normalize_etc_hosts,
        expected=lambda d, img: d["etc_hosts"],
        actual=_etc_hosts_actual,
        apply=set_hc("ExtraHosts", lambda v: ["%s:%s" % kv for kv in sorted(v.items())], when=bool),
        view=lambda v, img, d: v or None,
        comparisons=COLLECTION,
    ),
    Option(
        "exposed_ports",
        dict(type="list", elements="raw"),
        normalize=_normalize_exposed,
        expected=_expected_exposed,
        actual=lambda i: sorted(cfg(i).get("ExposedPorts") or {}),
        apply=_exposed_apply,
        view=_exposed_view,
        comparisons=COLLECTION,
    ),
    Option(
        "publish_all_ports",
        dict(type="bool"),
        normalize=lambda v, s: bool(v),
        expected=lambda d, img: d["publish_all_ports"],
        actual=lambda i: bool(hc(i).get("PublishAllPorts")),
        apply=set_hc("PublishAllPorts", lambda v: True, when=bool),
    ),
    # the engine assigns a MAC address when none is given: only a declared one is compared
    Option(
        "mac_address",
        dict(type="str"),
        normalize=_normalize_mac,
        expected=lambda d, img: d["mac_address"],
        actual=lambda i: (cfg(i).get("MacAddress") or "").lower(),
        apply=set_cfg("MacAddress"),
    ),
    Option(
        "domainname",
        dict(type="str"),
        normalize=_normalize_domainname,
        expected=lambda d, img: d["domainname"] or "",
        actual=lambda i: cfg(i).get("Domainname") or "",
        apply=set_cfg("Domainname", when=bool),
    ),
]


# --------------------------------------------------------------------------- legacy links

LINKS_ACCEPTED = "a list of CONTAINER or CONTAINER:ALIAS (containers on the default bridge network)"


def _normalize_links(value, spec):
    """['db', 'cache:kv'] -> ['cache:kv', 'db:db'] (a link without an alias is aliased by the container's name)."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("links", "must be a list, got %r" % (value,), accepted=LINKS_ACCEPTED)
    result = set()
    for index, item in enumerate(value):
        option = "links[%d]" % index
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(option, "%r is not CONTAINER[:ALIAS]" % (item,), accepted=LINKS_ACCEPTED)
        name, _sep, alias = item.strip().partition(":")
        name = str(validators.check_docker_name(name.lstrip("/"), option, "container name"))
        alias = alias or name
        validators.check_docker_name(alias, option, "link alias")
        result.add("%s:%s" % (name, alias))
    return sorted(result)


def _check_links(desired, spec):
    if not desired.get("links"):
        return
    mode = desired.get("network_mode")
    others = [n["name"] for n in desired.get("networks") or [] if n["name"] not in DEFAULT_MODES]
    if (mode is not None and mode not in DEFAULT_MODES) or others:
        raise ValidationError(
            "links",
            "legacy links work on the default bridge network only (network_mode %s, "
            "networks %s)" % (mode or "bridge", ", ".join(others) or "bridge"),
            accepted="network_mode bridge (or omitted) without other networks; on a user-defined "
            "network use networks[].aliases instead",
        )


def links_actual(inspect):
    """HostConfig.Links ['/db:/me/alias'] -> ['db:alias']."""
    result = set()
    for item in hc(inspect).get("Links") or []:
        target, _sep, path = item.partition(":")
        result.add("%s:%s" % (target.lstrip("/"), path.rsplit("/", 1)[-1]))
    return sorted(result)


ROWS += [
    Option(
        "links",
        dict(type="list", elements="str"),
        normalize=_normalize_links,
        check=_check_links,
        expected=lambda d, img: d["links"],
        actual=links_actual,
        apply=set_hc("Links", list, when=bool),
        view=lambda v, img, d: v or None,
        match=list_as_set,
        comparisons=COLLECTION,
    ),
]
