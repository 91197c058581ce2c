# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt networks: spec <-> XML (pure) and LibvirtNetworkManager (define/update/start/stop/undefine)."""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import make_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml as dx
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import libvirt

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
SPEC_KEYS = ("mode", "bridge", "forward_dev", "address", "ipv6_address", "dhcp_ranges", "dhcp_hosts", "domain", "mtu")
# keys whose change can be applied to a running network without restarting it
LIVE_KEYS = ("dhcp_hosts",)


# --- pure ------------------------------------------------------------------------------------

def _ipv4(root):
    """The network's first IPv4 <ip> (no family attribute means IPv4), or None."""
    for ip in root.findall("ip"):
        if ip.get("family") in (None, "", "ipv4"):
            return ip
    return None


def _ipv6(root):
    for ip in root.findall("ip"):
        if ip.get("family") == "ipv6":
            return ip
    return None


def read_spec(xml_text):
    root = ET.fromstring(xml_text)
    forward = root.find("forward")
    mode = forward.get("mode") if forward is not None else "isolated"
    bridge = root.find("bridge")
    ip = _ipv4(root)
    address = None
    ranges, hosts = [], []
    if ip is not None and ip.get("address"):
        prefix = ip.get("prefix")
        if prefix is None and ip.get("netmask"):
            prefix = ipaddress.ip_network("0.0.0.0/%s" % ip.get("netmask")).prefixlen
        address = "%s/%s" % (ip.get("address"), prefix)
        for rng in ip.findall("dhcp/range"):
            ranges.append({"start": rng.get("start"), "end": rng.get("end")})
        for host in ip.findall("dhcp/host"):
            hosts.append({"mac": (host.get("mac") or "").lower() or None, "ip": host.get("ip"), "name": host.get("name")})
    ip6 = _ipv6(root)
    domain = root.find("domain")
    mtu = root.find("mtu")
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "mode": mode,
        "bridge": bridge.get("name") if bridge is not None else None,
        "forward_dev": forward.get("dev") if forward is not None else None,
        "address": address,
        "ipv6_address": ("%s/%s" % (ip6.get("address"), ip6.get("prefix") or 64)
                         if ip6 is not None and ip6.get("address") else None),
        "dhcp_ranges": ranges,
        "dhcp_hosts": sorted(hosts, key=lambda h: h.get("mac") or ""),
        "domain": domain.get("name") if domain is not None else None,
        "mtu": int(mtu.get("size")) if mtu is not None else None,
        "managed": dx.is_managed(root),
    }


def host_xml(host):
    attrs = dict((k, host[k]) for k in ("mac", "name", "ip") if host.get(k))
    return ET.tostring(ET.Element("host", attrs), encoding="unicode")


def _child(root, tag, attrs=None):
    """root's <tag>, created (with attrs) when missing."""
    node = root.find(tag)
    if node is None:
        node = ET.SubElement(root, tag, attrs or {})
    return node


def _drop(root, tag):
    for node in root.findall(tag):
        root.remove(node)


def _set_forward(root, spec):
    mode = spec["mode"]
    forward = root.find("forward")
    if mode == "isolated":
        _drop(root, "forward")
        return
    if forward is None or forward.get("mode") != mode:
        # another mode: nothing of the old <forward> (nat ranges, pf/interface lists) applies to it
        _drop(root, "forward")
        forward = ET.SubElement(root, "forward", {"mode": mode})
        if mode == "nat":
            nat = ET.SubElement(forward, "nat")
            ET.SubElement(nat, "port", {"start": "1024", "end": "65535"})
    if spec.get("forward_dev"):
        forward.set("dev", spec["forward_dev"])
    elif "dev" in forward.attrib:
        del forward.attrib["dev"]


def _set_bridge(root, spec):
    if not spec.get("bridge"):
        return  # libvirt names a bridge itself (virbrN); keep the one it chose
    bridge = root.find("bridge")
    if bridge is None:
        bridge = ET.SubElement(root, "bridge", {"name": spec["bridge"]})
        if spec["mode"] != "bridge":
            bridge.set("stp", "on")
            bridge.set("delay", "0")
    bridge.set("name", spec["bridge"])
    if spec["mode"] == "bridge":
        for attr in ("stp", "delay"):
            bridge.attrib.pop(attr, None)


def _set_dhcp(ip, spec):
    dhcp = ip.find("dhcp")
    ranges = spec.get("dhcp_ranges") or []
    hosts = spec.get("dhcp_hosts") or []
    if dhcp is None and not (ranges or hosts):
        return
    if dhcp is None:
        dhcp = ET.SubElement(ip, "dhcp")
    for tag in ("range", "host"):
        _drop(dhcp, tag)
    # the schema's order: ranges, hosts, then anything else (<bootp>) that stays where it was
    for index, rng in enumerate(ranges):
        dhcp.insert(index, ET.Element("range", {"start": rng["start"], "end": rng["end"]}))
    for index, host in enumerate(hosts):
        dhcp.insert(len(ranges) + index, ET.fromstring(host_xml(host)))
    if not len(dhcp):
        ip.remove(dhcp)


def _set_ipv4(root, spec):
    ip = _ipv4(root)
    if not spec.get("address") or spec["mode"] == "bridge":
        if ip is not None and spec["mode"] == "bridge":
            root.remove(ip)
        return
    iface = ipaddress.ip_interface(spec["address"])
    if ip is None:
        ip = ET.SubElement(root, "ip")
    ip.attrib.pop("netmask", None)
    ip.set("address", str(iface.ip))
    ip.set("prefix", str(iface.network.prefixlen))
    _set_dhcp(ip, spec)


def _set_ipv6(root, spec):
    if not spec.get("ipv6_address") or spec["mode"] == "bridge":
        return  # an IPv6 address the spec does not give is not managed: kept as it is
    iface = ipaddress.ip_interface(spec["ipv6_address"])
    ip = _ipv6(root)
    if ip is None:
        ip = ET.SubElement(root, "ip", {"family": "ipv6"})
    ip.set("address", str(iface.ip))
    ip.set("prefix", str(iface.network.prefixlen))


def build_xml(name, spec, current_xml=None):
    """Network XML from a spec.

    An existing network's XML is edited, not rebuilt: only what the spec manages (forward mode and
    device, bridge name, MTU, domain, the first IPv4 address and its DHCP ranges and hosts, the
    IPv6 address when given) changes; the UUID, MAC, metadata (ownership), ``<dns>``, further
    addresses, routes, port groups and everything else stay. A new network carries the
    collection's ownership marker, as a new VM does.
    """
    if current_xml:
        root = ET.fromstring(current_xml)
    else:
        root = ET.Element("network")
        ET.SubElement(root, "name")
        dx.mark_managed(root)
    root.find("name").text = name
    _set_forward(root, spec)
    _set_bridge(root, spec)
    if spec.get("mtu"):
        _child(root, "mtu").set("size", str(spec["mtu"]))
    else:
        _drop(root, "mtu")
    if spec.get("domain"):
        _child(root, "domain", {"localOnly": "yes"}).set("name", spec["domain"])
    else:
        _drop(root, "domain")
    _set_ipv4(root, spec)
    _set_ipv6(root, spec)
    return ET.tostring(root, encoding="unicode")


def check_name(name):
    if not NAME_RE.match(name or ""):
        raise ValidationError("name", "%r is not a valid network name" % (name or ""), accepted="letters, digits, _ . - (up to 64)")


def normalize_params(params, current_address=None):
    """Validate the module options and return the desired spec (only the keys the user gave).

    DHCP ranges and hosts are checked against O(address), or when it is not given against the
    existing network's ``current_address``.
    """
    check_name(params.get("name"))
    desired = {}
    for key in SPEC_KEYS:
        if params.get(key) is not None:
            desired[key] = params[key]
    if params.get("state") == "absent":
        return desired
    for key in ("bridge", "forward_dev"):
        if key in desired:
            validators.check_interface_name(desired[key], key)
    if "mtu" in desired:
        desired["mtu"] = validators.check_mtu(desired["mtu"], "mtu")
    if "domain" in desired:
        # dnsmasq reads it from its config file: a newline there injects options
        desired["domain"] = validators.check_dns_name(desired["domain"], "domain")
    mode = desired.get("mode")
    if mode == "bridge" and not desired.get("bridge"):
        raise ValidationError("bridge", "mode=bridge needs the name of an existing host bridge", accepted="bridge: br0")
    if mode in ("route",) and not desired.get("address"):
        raise ValidationError("address", "mode=route needs an address", accepted="address: 192.168.150.1/24")
    network = ipaddress.ip_interface(current_address).network if current_address else None
    if desired.get("address") is not None:
        try:
            iface = ipaddress.ip_interface(desired["address"])
        except ValueError:
            raise ValidationError("address", "%r is not an address with prefix" % desired["address"], accepted="ADDRESS/PREFIX, e.g. 192.168.150.1/24")
        if "/" not in desired["address"]:
            raise ValidationError("address", "%r has no prefix" % desired["address"], accepted="ADDRESS/PREFIX, e.g. 192.168.150.1/24")
        if iface.version != 4:
            raise ValidationError("address", "%r is not an IPv4 address" % desired["address"],
                                  accepted="an IPv4 ADDRESS/PREFIX, e.g. 192.168.150.1/24 (IPv6 goes in ipv6_address)")
        network = iface.network
        desired["address"] = "%s/%d" % (iface.ip, network.prefixlen)
    if desired.get("ipv6_address") is not None:
        text = str(desired["ipv6_address"])
        try:
            iface6 = ipaddress.ip_interface(text)
        except ValueError:
            iface6 = None
        if iface6 is None or iface6.version != 6 or "/" not in text:
            raise ValidationError("ipv6_address", "%r is not an IPv6 address with prefix" % text,
                                  accepted="an IPv6 ADDRESS/PREFIX, e.g. fd00:150::1/64")
        desired["ipv6_address"] = "%s/%d" % (iface6.ip, iface6.network.prefixlen)
    for index, rng in enumerate(desired.get("dhcp_ranges") or []):
        for key in ("start", "end"):
            _check_in(network, rng.get(key), "dhcp_ranges[%d].%s" % (index, key))
        if ipaddress.ip_address(rng["start"]) > ipaddress.ip_address(rng["end"]):
            raise ValidationError("dhcp_ranges[%d]" % index, "start is after end", accepted="start <= end")
    hosts = []
    for index, host in enumerate(desired.get("dhcp_hosts") or []):
        mac = (host.get("mac") or "").lower()
        if not MAC_RE.match(mac):
            raise ValidationError("dhcp_hosts[%d].mac" % index, "%r is not a MAC address" % host.get("mac"), accepted="52:54:00:12:34:56")
        _check_in(network, host.get("ip"), "dhcp_hosts[%d].ip" % index)
        hosts.append({"mac": mac, "ip": host["ip"], "name": host.get("name")})
    if "dhcp_hosts" in desired:
        desired["dhcp_hosts"] = sorted(hosts, key=lambda h: h["mac"])
    if "dhcp_ranges" in desired:
        desired["dhcp_ranges"] = [{"start": r["start"], "end": r["end"]} for r in desired["dhcp_ranges"]]
    return desired


def _check_in(network, value, option):
    if network is None:
        raise ValidationError(option, "needs the network's address", accepted="address: ADDRESS/PREFIX")
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        raise ValidationError(option, "%r is not an IP address" % (value,), accepted="an address inside %s" % network)
    if addr not in network:
        raise ValidationError(option, "%s is outside %s" % (addr, network), accepted="an address inside %s" % network)


def compare(current, desired):
    return [k for k in SPEC_KEYS if k in desired and desired[k] != current.get(k)]


# --- manager --------------------------------------------------------------------------------

def network_xml(client, net):
    """The persistent definition (falls back to the live one where the driver has no INACTIVE flag)."""
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError:
        return client.call("reading network %s" % net.name(), net.XMLDesc, 0)


class LibvirtNetworkManager:
    """Converge one network. ``run(params)`` returns the module result dict."""

    def __init__(self, client: LibvirtClient, check_mode: bool = False, diff: bool = False) -> None:
        self.client = client
        self.check_mode = check_mode
        self.diff_mode = diff
        self.params: dict[str, Any] = {}
        self.name = ""
        self.actions: list[str] = []

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        # the per-run state the helpers read
        self.params = params
        self.name = params["name"]
        self.actions = []
        check_name(params.get("name"))  # before libvirt is asked anything
        net = self.client.network(self.name)
        current = None
        state = {}
        if net is not None:
            current = read_spec(network_xml(self.client, net))
            state = {"active": bool(net.isActive()), "autostart": bool(net.autostart())}
        desired = normalize_params(params, current and current.get("address"))
        if params.get("state") == "absent":
            return self._absent(net, current, state)
        want_state = {"active": params.get("active", True) if params.get("active") is not None else True}
        if params.get("autostart") is not None:
            want_state["autostart"] = params["autostart"]
        if current is None:
            spec: dict[str, Any] = dict((k, None) for k in SPEC_KEYS)
            spec.update({"mode": "nat", "dhcp_ranges": [], "dhcp_hosts": []})
            spec.update(desired)
            if spec.get("address") and not spec.get("dhcp_ranges") and "dhcp_ranges" not in desired and spec["mode"] in ("nat", "route", "isolated"):
                net_obj = ipaddress.ip_interface(spec["address"]).network
                hosts = list(net_obj.hosts())
                if len(hosts) > 20:
                    spec["dhcp_ranges"] = [{"start": str(hosts[len(hosts) // 2]), "end": str(hosts[-1])}]
            changes = ["created"]
            after = dict(spec, managed=True, **want_state)
            result = {"changed": True, "changes": changes, "restart_required": False}
            if self.diff_mode:
                result["diff"] = make_diff({"state": "absent"}, after)
            if not self.check_mode:
                net = self.client.call("defining network %s" % self.name, self.client.conn.networkDefineXML, build_xml(self.name, spec))
                self.actions.append("define")
                try:
                    self._converge_state(net, {"active": False, "autostart": False}, want_state)
                except Exception:
                    try:
                        net.undefine()
                    except Exception:  # pylint: disable=broad-except
                        pass
                    raise
                after = self._facts(net)
            result["network"] = after
            result["actions"] = self.actions
            return result
        changes = compare(current, desired)
        state_changes = [k for k in want_state if want_state[k] != state.get(k)]
        merged = dict(current)
        merged.update(desired)
        restart_keys = []
        if state.get("active"):
            live = read_spec(self.client.call("reading network %s" % self.name, net.XMLDesc, 0))
            # saved by an earlier run but not live yet: still pending
            restart_keys = [k for k in SPEC_KEYS if k not in LIVE_KEYS and (k in changes or k in compare(live, desired))]
        restart = bool(restart_keys) and params.get("restart") == "allowed"
        result = {"changed": bool(changes or state_changes or restart), "changes": changes + state_changes,
                  "restart_required": bool(restart_keys) and not restart, "restart_required_for": restart_keys}
        if self.diff_mode:
            before = dict(current, **state)
            before.pop("uuid", None)
            after = dict(merged, **dict(state, **want_state))
            after.pop("uuid", None)
            result["diff"] = make_diff(before, after)
        if self.check_mode:
            result["network"] = dict(merged, **dict(state, **want_state))
            return result
        if changes:
            current_xml = network_xml(self.client, net)
            self.client.call("redefining network %s" % self.name, self.client.conn.networkDefineXML,
                             build_xml(self.name, merged, current_xml))
            self.actions.append("define")
            net = self.client.network(self.name)
            if state.get("active") and "dhcp_hosts" in changes and not restart:
                self._live_hosts(net, current["dhcp_hosts"], merged["dhcp_hosts"])
        if restart:
            self.client.call("stopping network %s" % self.name, net.destroy)
            self.client.call("starting network %s" % self.name, net.create)
            self.actions.append("restart")
            result["restarted"] = True
        self._converge_state(net, state, want_state)
        result["network"] = self._facts(net)
        result["actions"] = self.actions
        return result

    def _live_hosts(self, net, old, new):
        flags = libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
        section = libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST
        old_set = dict((h["mac"], h) for h in old)
        new_set = dict((h["mac"], h) for h in new)
        for mac, host in old_set.items():
            if new_set.get(mac) != host:
                self.client.call("removing DHCP host %s" % mac, net.update, libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
                                 section, -1, host_xml(host), flags)
        for mac, host in new_set.items():
            if old_set.get(mac) != host:
                self.client.call("adding DHCP host %s" % mac, net.update, libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
                                 section, -1, host_xml(host), flags)
        self.actions.append("live:dhcp_hosts")

    def _converge_state(self, net, state, want):
        if "autostart" in want and bool(want["autostart"]) != state.get("autostart"):
            self.client.call("setting autostart of network %s" % self.name, net.setAutostart, 1 if want["autostart"] else 0)
            self.actions.append("autostart")
        if want["active"] and not state.get("active"):
            self.client.call("starting network %s" % self.name, net.create)
            self.actions.append("start")
        elif not want["active"] and state.get("active"):
            self.client.call("stopping network %s" % self.name, net.destroy)
            self.actions.append("stop")

    def _facts(self, net):
        facts = read_spec(network_xml(self.client, net))
        facts.update({"active": bool(net.isActive()), "autostart": bool(net.autostart())})
        return facts

    def _absent(self, net, current, state):
        if net is not None:
            dx.require_owned(current["managed"], "network", self.name, self.params.get("force"))
        result = {"changed": net is not None, "network": {"name": self.name, "state": "absent"}, "actions": []}
        if self.diff_mode:
            result["diff"] = make_diff(dict(current, **state) if current else {"state": "absent"}, {"state": "absent"})
        if net is not None and not self.check_mode:
            if state.get("active"):
                self.client.call("stopping network %s" % self.name, net.destroy)
                result["actions"].append("stop")
            self.client.call("undefining network %s" % self.name, net.undefine)
            result["actions"].append("undefine")
        return result
