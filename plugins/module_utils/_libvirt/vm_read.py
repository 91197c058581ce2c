# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading VMs: their facts, the filters that select them, and the listing every reader uses.

libvirt_vm and libvirt_vm_info report ``vm_facts``; libvirt_vm_info, the fleet report and the
``hybridops.fleet.libvirt`` inventory select VMs with ``vm_matches`` and list them with ``list_vms``.
One policy for a VM that vanishes while it is listed: it is left out when libvirt no longer knows it,
and any other error is raised.
"""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml as dx, waiters
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import domain_state, libvirt

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient


def vm_facts(client, dom, with_ips=True, ip_sources=("lease", "arp"), state=None, listing=None):
    """Facts of a domain as returned by libvirt_vm and libvirt_vm_info (``state``: already read by the caller;
    ``listing``: a :class:`Listing` of the hypervisor, which reads autostart, persistence and the file volumes
    once for all its domains, so that a domain costs one XMLDesc, one volume info per disk and its addresses)."""
    state = state or domain_state(client, dom)
    xml = client.call("reading %s" % dom.name(), dom.XMLDesc, 0)
    root = dx.parse(xml)
    spec = dx.xml_to_spec(root)
    uuid = dom.UUIDString()
    if listing is not None:
        autostart = uuid in listing.autostart()
    else:
        try:
            autostart = bool(dom.autostart())
        except Exception:  # pylint: disable=broad-except
            autostart = False
    disks = []
    for disk in spec["disks"]:
        item = dict(disk)
        if disk.get("path") and disk["path"].startswith("/"):
            found = listing.volume(disk["path"]) if listing is not None else None
            vol, pool = found if found else (client.volume_by_path(disk["path"]), None)
            if vol is not None:
                try:
                    info = vol.info()
                    item["capacity"] = int(info[1])
                    item["volume"] = vol.name()
                    item["pool"] = pool or vol.storagePoolLookupByVolume().name()
                except Exception:  # pylint: disable=broad-except
                    pass
        disks.append(item)
    macs = set(nic["mac"] for nic in spec["networks"] if nic.get("mac"))
    addresses = waiters.addresses(dom, ip_sources, macs=macs) if with_ips and state == "running" else []
    interfaces = []
    for nic in spec["networks"]:
        item = dict(nic)
        item["ips"] = [a["ip"] for a in addresses if a["mac"] == nic.get("mac")]
        interfaces.append(item)
    ipv4 = [a["ip"] for a in addresses if a["family"] == "ipv4"]
    facts = dx.view(spec, copy_values=False)  # spec was read for these facts alone
    facts.update({
        "name": dom.name(),
        "uuid": uuid,
        "state": state,
        "autostart": autostart,
        "managed": spec["managed"],
        "adopted": spec["adopted"],
        "title": dx.read_title(root),
        "metadata": dx.foreign_metadata(root),
        "disks": disks,
        "interfaces": interfaces,
        "ip": ipv4[0] if ipv4 else None,
        "ips": [a["ip"] for a in addresses],
        "persistent": uuid in listing.persistent() if listing is not None else bool(dom.isPersistent()),
    })
    facts.pop("networks", None)
    facts["networks"] = spec["networks"]
    return facts


class Listing:
    """What a listing reads once per hypervisor instead of once per domain, each read on first use: the UUIDs of
    the autostarted and of the persistent domains, and the volumes of the file-based pools by path (a disk found
    there costs one info call instead of three lookups)."""

    def __init__(self, client):
        self.client = client
        self._read = {}

    def _once(self, key, read):
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]

    def autostart(self):
        return self._once("autostart", lambda: self.client.domain_uuids(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART))

    def persistent(self):
        return self._once("persistent", lambda: self.client.domain_uuids(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT))

    def volume(self, path):
        """(virStorageVol, pool name) of a file volume at ``path``, or None (not in a file-based pool)."""
        return self._once("volumes", self.client.file_volumes).get(path)


# --- selecting and listing --------------------------------------------------------------------


def vm_matches(facts, names=None, states=None, tags=None, managed=None, titles=None, descriptions=None,
               metadata=None):
    """True when a VM's facts meet every condition given: a name pattern (fnmatch), a state,
    all the tags, the ownership, a title or description pattern, every metadata condition
    (see :func:`metadata_matches`). Facts need only the keys of the conditions given, so the name
    and state conditions can drop a VM before its facts are read."""
    if names and not any(fnmatch.fnmatchcase(facts["name"], pattern) for pattern in names):
        return False
    if states and facts["state"] not in states:
        return False
    if tags and not set(tags) <= set(facts.get("tags") or []):
        return False
    if managed is not None and bool(facts.get("managed")) != managed:
        return False
    for patterns, key in ((titles, "title"), (descriptions, "description")):
        if patterns and not any(fnmatch.fnmatchcase(facts.get(key) or "", pattern) for pattern in patterns):
            return False
    for condition in metadata or []:
        if not metadata_matches(facts.get("metadata") or {}, condition):
            return False
    return True


def _metadata_values(data, steps):
    """The values at a '/'-separated path of element names (``@attr`` for attributes), lists expanded."""
    values = [data]
    for step in steps:
        found = []
        for value in values:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and step in item:
                    child = item[step]
                    found.extend(child if isinstance(child, list) else [child])
        values = found
    return values


def metadata_matches(metadata, condition):
    """One metadata condition: ``namespace`` (the URI) must be present; with ``path`` (element names from
    the namespace's top element down, ``@name`` for an attribute: ``record/ssh/@user``) something must be
    there; with ``value`` its text must match that shell-style pattern."""
    if condition["namespace"] not in metadata:
        return False
    path = condition.get("path")
    if not path:
        return condition.get("value") is None
    values = _metadata_values(metadata[condition["namespace"]], [s for s in path.split("/") if s])
    if condition.get("value") is None:
        return bool(values)
    for value in values:
        if isinstance(value, dict):
            value = value.get("#text", "")
        if fnmatch.fnmatchcase(str(value), str(condition["value"])):
            return True
    return False


def hypervisor_facts(uri, info, hostname, lib_version):
    """What a hypervisor offers, from virConnect.getInfo() ([model, memory MiB, cpus, MHz, ...])."""
    return {"uri": uri, "hostname": hostname, "cpu_model": info[0], "memory_mib": int(info[1]), "cpus": int(info[2]),
            "libvirt_version": "%d.%d.%d" % (lib_version // 1000000, lib_version // 1000 % 1000, lib_version % 1000)}


def check_vm_filters(params):
    """The filters of libvirt_vm_info name things that can exist: a pattern or tag no VM can have is a typo,
    not an empty answer. Checked before any connection is opened."""
    option = "uris" if params.get("uris") else "uri"
    for index, uri in enumerate(params.get("uris") or [params.get("uri")]):
        validators.check_libvirt_uri(uri, "uris[%d]" % index if option == "uris" else "uri")
    for index, pattern in enumerate(params.get("name") or []):
        # libvirt refuses '/' and newlines in domain names
        if not isinstance(pattern, str) or not pattern or "/" in pattern or re.search(r"[\x00-\x1f\x7f]", pattern):
            raise ValidationError("name[%d]" % index, "%r is not a VM name or pattern" % (pattern,),
                                  accepted="a VM name or shell-style pattern (web*), without '/' or control characters")
    for index, tag in enumerate(params.get("tags") or []):
        if not isinstance(tag, str) or not tag or "<" in tag or "&" in tag:
            raise ValidationError("tags[%d]" % index, "%r is not a valid tag" % (tag,),
                                  accepted="non-empty strings without < or &")


def list_vms(client: LibvirtClient, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Facts of every domain on ``client`` that meets the filters in ``params``: ``name`` (patterns), ``state``,
    ``tags``, ``managed``, ``titles``, ``descriptions``, ``metadata`` (see :func:`vm_matches`); ``ips`` (default
    true) and ``ip_sources`` say how addresses are read. Sorted by name; each has ``uri``.

    The domains and their states are read in one call, autostart, persistence and the file volumes once per
    hypervisor (:class:`Listing`); the name and state filters drop a VM before its XML, volumes and addresses are
    read. A VM undefined while it is listed is left out; any other error of libvirt is raised."""
    result = []
    listing = Listing(client)
    for dom, state in client.domains_with_states():
        try:
            if not vm_matches({"name": dom.name(), "state": state}, names=params.get("name"), states=params.get("state")):
                continue
            facts = vm_facts(client, dom, with_ips=params.get("ips", True),
                             ip_sources=tuple(params.get("ip_sources") or ("lease", "arp")), state=state,
                             listing=listing)
        except BackendError:
            if client.domain(dom.name()) is None:
                continue  # undefined while we listed: not part of the fleet any more
            raise
        if not vm_matches(facts, tags=params.get("tags"), managed=params.get("managed"), titles=params.get("titles"),
                          descriptions=params.get("descriptions"), metadata=params.get("metadata")):
            continue
        facts["uri"] = client.uri
        result.append(facts)
    return sorted(result, key=lambda f: f["name"])
