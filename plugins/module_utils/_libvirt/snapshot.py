# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal qcow2 snapshots of a domain: create, list, revert, delete."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml as dx
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import error_code, libvirt

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient

# libvirt writes a snapshot's metadata through a temporary <name>.xml.new: with a
# longer name qemu has already taken the internal snapshot when libvirt fails to
# write that file, leaving an orphan inside the qcow2 (measured on libvirt 9.0:
# 247 bytes stored, 248 orphaned)
NAME_MAX_BYTES = validators.FILE_NAME_MAX - len(".xml.new")


def check_name(name):
    """A snapshot name libvirt can store (checked before the snapshot is taken)."""
    return validators.check_libvirt_name(name, "name", "snapshot name", max_bytes=NAME_MAX_BYTES)


def snapshot_xml(name, description, disks):
    """Internal snapshot of every writable qcow2 disk; read-only and raw disks (seeds, cdroms) are left out."""
    root = ET.Element("domainsnapshot")
    ET.SubElement(root, "name").text = name
    if description:
        ET.SubElement(root, "description").text = description
    holder = ET.SubElement(root, "disks")
    for disk in disks:
        internal = disk.get("format") == "qcow2" and not disk.get("readonly") and disk.get("device") == "disk"
        ET.SubElement(holder, "disk", {"name": disk["target"], "snapshot": "internal" if internal else "no"})
    return ET.tostring(root, encoding="unicode")


def snapshot_facts(snap):
    root = ET.fromstring(snap.getXMLDesc(0))
    parent = root.find("parent/name")
    try:
        current = bool(snap.isCurrent(0))
    except libvirt.libvirtError:
        current = False
    return {
        "name": snap.getName(),
        "description": root.findtext("description") or "",
        "state": root.findtext("state"),
        "created": int(root.findtext("creationTime") or 0),
        "parent": parent.text if parent is not None else None,
        "current": current,
    }


class SnapshotManager:
    """Create, revert or delete one snapshot, or list them. ``run(params)`` returns the module result dict."""

    def __init__(self, client: LibvirtClient, check_mode: bool = False, diff: bool = False) -> None:
        self.client = client
        self.check_mode = check_mode
        # accepted for the one manager contract; a snapshot's result has no diff (the module reports none)
        self.diff_mode = diff

    def _lookup(self, dom, name):
        try:
            return dom.snapshotLookupByName(name, 0)
        except libvirt.libvirtError as exc:
            if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT:
                return None
            raise

    def _list(self, dom):
        snaps = self.client.call("listing snapshots", dom.listAllSnapshots, 0)
        return sorted((snapshot_facts(s) for s in snaps), key=lambda f: (f["created"], f["name"]))

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        dom = self.client.domain(params["vm"])
        if dom is None:
            names = sorted(d.name() for d in self.client.domains())
            raise ValidationError("vm", "VM %r does not exist" % params["vm"], accepted=", ".join(names[:20]) or "no VMs defined")
        state = params.get("state") or "present"
        name = params.get("name")
        if state != "present" and not name:
            raise ValidationError("name", "is required with state=%s" % state, accepted="a snapshot name")
        if state == "present" and name is not None:
            check_name(name)
        result: dict[str, Any] = {"changed": False, "actions": []}
        snap = self._lookup(dom, name) if name else None
        if state == "present" and name and snap is None:
            result["changed"] = True
            result["actions"].append("create")
            if not self.check_mode:
                disks = dx.read_disks(dx.parse(dom.XMLDesc(0)))
                xml = snapshot_xml(name, params.get("description"), disks)
                self.client.call("creating snapshot %s of %s" % (name, params["vm"]), dom.snapshotCreateXML, xml, 0)
        elif state == "absent" and snap is not None:
            result["changed"] = True
            result["actions"].append("delete")
            if not self.check_mode:
                self.client.call("deleting snapshot %s of %s" % (name, params["vm"]), snap.delete, 0)
        elif state == "reverted":
            if snap is None:
                names = [s["name"] for s in self._list(dom)]
                raise ValidationError("name", "VM %s has no snapshot %r" % (params["vm"], name), accepted=", ".join(names) or "no snapshots yet")
            result["changed"] = True
            result["actions"].append("revert")
            if not self.check_mode:
                flags = libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE if params.get("force") else 0
                self.client.call("reverting %s to snapshot %s" % (params["vm"], name), dom.revertToSnapshot, snap, flags)
        result["snapshots"] = self._list(dom)
        found = [s for s in result["snapshots"] if s["name"] == name]
        if found:
            result["snapshot"] = found[0]
        return result
