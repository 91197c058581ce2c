# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions: domain spec <-> libvirt domain XML, normalization, comparison.

A *spec* is a flat dict of the fields in :data:`FIELDS` plus two lists,
``disks`` and ``networks``. Every field is declared once in the table with
how to read it from XML, how to write it into XML, and how a change is
applied to a running domain (``live``):

* ``hot``     - libvirt can change it on a running domain (memory, vcpus,
                disk/NIC add/remove); domain.py applies it live.
* ``meta``    - metadata; applied live with setMetadata, never needs a restart.
* ``restart`` - only takes effect after the domain is restarted.

Desired specs only contain the fields the user set (None = unmanaged), and
:func:`compare` looks only at those, so a VM made elsewhere is not "fixed"
behind the user's back. Nothing here talks to libvirt.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError

FLEET_NS = "https://hybridops.dev/fleet/1"
FLEET_PREFIX = "fleet"
ET.register_namespace(FLEET_PREFIX, FLEET_NS)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

BUS_PREFIX = {"virtio": "vd", "scsi": "sd", "sata": "sd", "usb": "sd", "ide": "hd"}

# Defaults used only when a domain is created (never forced onto an existing one).
CREATE_DEFAULTS = {
    "domain_type": "qemu",
    "memory": 512,
    "vcpus": 1,
    "arch": "x86_64",
    "machine": "q35",
    "graphics": "none",
    "console": True,
    "disks": [],
    "networks": [],
    "tags": [],
    "description": "",
}


def _q(tag):
    return "{%s}%s" % (FLEET_NS, tag)


# --- small ElementTree helpers -------------------------------------------------------

def _child(parent, path, create=False):
    """Element at simple slash ``path`` below ``parent``; created on demand."""
    node = parent
    for part in path.split("/"):
        nxt = node.find(part)
        if nxt is None:
            if not create:
                return None
            nxt = ET.SubElement(node, part)
        node = nxt
    return node


def _remove(parent, path):
    parts = path.rsplit("/", 1)
    holder = _child(parent, parts[0]) if len(parts) == 2 else parent
    if holder is None:
        return
    for node in holder.findall(parts[-1]):
        holder.remove(node)


def _attr(parent, path, name):
    """Attribute ``name`` of the element at ``path`` below ``parent`` (None if either is missing)."""
    node = _child(parent, path)
    return node.get(name) if node is not None else None


def _text(root, path):
    node = _child(root, path)
    if node is None or node.text is None:
        return None
    return node.text.strip()


def _to_mib(node):
    """A libvirt <memory unit=..> style element -> MiB (int, rounded up)."""
    if node is None or node.text is None:
        return None
    unit = (node.get("unit") or "KiB").lower()
    factors = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024 ** 2, "mib": 1024 ** 2,
               "mb": 1000 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3, "t": 1024 ** 4, "tib": 1024 ** 4}
    value = int(node.text.strip()) * factors.get(unit, 1024)
    return -(-value // (1024 ** 2))


def _set_mib(root, path, mib):
    node = _child(root, path, create=True)
    node.set("unit", "KiB")
    node.text = str(int(mib) * 1024)


def _devices(root):
    return _child(root, "devices", create=True)


def _device_nodes(root, tag):
    """The ``<tag>`` elements of ``<devices>`` in document order (none when there is no ``<devices>``)."""
    devices = root.find("devices")
    return devices.findall(tag) if devices is not None else []


# --- field readers / writers -----------------------------------------------------------

def _r_domain_type(root):
    return root.get("type")


def _w_domain_type(root, value):
    root.set("type", value)


def _r_memory(root):
    node = root.find("currentMemory")
    if node is None:
        node = root.find("memory")
    return _to_mib(node)


def _w_memory(root, value):
    _set_mib(root, "currentMemory", value)
    current_max = _to_mib(root.find("memory"))
    if current_max is None or current_max < value:
        _set_mib(root, "memory", value)


def _r_max_memory(root):
    return _to_mib(root.find("memory"))


def _w_max_memory(root, value):
    _set_mib(root, "memory", value)
    current = _to_mib(root.find("currentMemory"))
    if current is not None and current > value:
        _set_mib(root, "currentMemory", value)


def _r_vcpus(root):
    node = root.find("vcpu")
    if node is None or node.text is None:
        return None
    return int(node.get("current") or node.text.strip())


def _set_vcpu_counts(root, maximum, current):
    """<vcpu current=..>maximum</vcpu>: the attribute only while fewer than the maximum are active."""
    node = _child(root, "vcpu", create=True)
    node.text = str(maximum)
    if current == maximum:
        node.attrib.pop("current", None)
    else:
        node.set("current", str(current))
    node.set("placement", node.get("placement") or "static")


def _w_vcpus(root, value):
    maximum = _r_max_vcpus(root) or 0
    _set_vcpu_counts(root, max(maximum, value), value)


def _r_max_vcpus(root):
    node = root.find("vcpu")
    return int(node.text.strip()) if node is not None and node.text else None


def _w_max_vcpus(root, value):
    node = root.find("vcpu")
    current = int(node.get("current") or node.text or value) if node is not None else value
    _set_vcpu_counts(root, value, min(current, value))


def _r_cpu_mode(root):
    return _attr(root, "cpu", "mode")


def _w_cpu_mode(root, value):
    node = _child(root, "cpu", create=True)
    if node.get("mode") != value:
        for sub in list(node):
            if sub.tag in ("model", "feature", "vendor"):
                node.remove(sub)
    node.set("mode", value)
    if value in ("host-passthrough", "maximum"):
        node.set("check", "none")


def _r_os_type_attr(attr):
    def reader(root):
        return _attr(root, "os/type", attr)
    return reader


def _w_os_type_attr(attr):
    def writer(root, value):
        node = _child(root, "os/type", create=True)
        if not node.text:
            node.text = "hvm"
        node.set(attr, value)
    return writer


def _machine_family(machine):
    machine = machine or ""
    if "q35" in machine:
        return "q35"
    if machine == "pc" or "i440fx" in machine:
        return "pc"
    return machine


def _w_machine(root, value):
    """Set the machine type; a change of chipset drops controllers and device addresses
    (libvirt lays them out again: q35 has PCIe root ports, pc a plain PCI root)."""
    current = _r_os_type_attr("machine")(root)
    _w_os_type_attr("machine")(root, value)
    if current is not None and _machine_family(current) != _machine_family(value):
        devices = _devices(root)
        for node in devices.findall("controller"):
            devices.remove(node)
        for node in devices:
            for address in node.findall("address"):
                node.remove(address)


def _r_firmware(root):
    node = root.find("os")
    if node is None:
        return None
    if node.get("firmware"):
        return node.get("firmware")
    loader = node.find("loader")
    if loader is not None and loader.get("type") == "pflash":
        return "efi"
    return "bios"


def _w_firmware(root, value):
    node = _child(root, "os", create=True)
    if value == "efi":
        node.set("firmware", "efi")
    else:
        node.attrib.pop("firmware", None)
        for sub in node.findall("loader") + node.findall("nvram") + node.findall("firmware"):
            node.remove(sub)


def _r_os_text(tag):
    def reader(root):
        return _text(root, "os/" + tag)
    return reader


def _w_os_text(tag):
    def writer(root, value):
        if value == "":
            _remove(root, "os/" + tag)
            _ensure_boot_dev(root)
            return
        node = _child(root, "os/" + tag, create=True)
        node.text = value
        if tag == "kernel":
            _remove(root, "os/boot")
    return writer


def _ensure_boot_dev(root):
    os_node = _child(root, "os", create=True)
    if os_node.find("kernel") is None and os_node.find("boot") is None and os_node.get("firmware") is None:
        ET.SubElement(os_node, "boot", {"dev": "hd"})


def _r_tb_cache(root):
    return _to_mib(_child(root, "features/tcg/tb-cache"))


def _w_tb_cache(root, value):
    if not value:
        _remove(root, "features/tcg")
        return
    _set_mib(root, "features/tcg/tb-cache", value)
    node = _child(root, "features/tcg/tb-cache")
    node.set("unit", "MiB")
    node.text = str(int(value))


def _r_graphics(root):
    node = _child(root, "devices/graphics")
    return node.get("type") if node is not None else "none"


def _w_graphics(root, value):
    devices = _devices(root)
    for node in devices.findall("graphics") + devices.findall("video"):
        devices.remove(node)
    if value != "none":
        ET.SubElement(devices, "graphics", {"type": value, "autoport": "yes", "listen": "127.0.0.1"})
        video = ET.SubElement(devices, "video")
        ET.SubElement(video, "model", {"type": "virtio" if value == "spice" else "vga"})


def _r_console(root):
    return _child(root, "devices/serial") is not None


def _w_console(root, value):
    devices = _devices(root)
    if not value:
        for node in devices.findall("serial") + devices.findall("console"):
            devices.remove(node)
        return
    if devices.find("serial") is None:
        ET.SubElement(devices, "serial", {"type": "pty"})
        console = ET.SubElement(devices, "console", {"type": "pty"})
        ET.SubElement(console, "target", {"type": "serial", "port": "0"})


def _r_console_log(root):
    node = _child(root, "devices/serial/log")
    return node.get("file") if node is not None else ""


def _w_console_log(root, value):
    devices = _devices(root)
    for tag in ("serial", "console"):
        for node in devices.findall(tag):
            for log in node.findall("log"):
                node.remove(log)
            if value:
                log = ET.Element("log", {"file": value, "append": "off"})
                node.insert(0, log)


def _r_description(root):
    return _text(root, "description") or ""


def _w_description(root, value):
    if value:
        node = _child(root, "description", create=True)
        node.text = value
    else:
        _remove(root, "description")


# the collection's element inside <metadata>, by the document's root tag
# (domains and networks carry the same ownership marker)
FLEET_NODE = {"domain": "vm", "network": "network"}


def _fleet_node(root, create=False):
    meta = root.find("metadata")
    if meta is None:
        if not create:
            return None
        meta = ET.Element("metadata")
        root.insert(min(3, len(root)), meta)
    tag = _q(FLEET_NODE.get(root.tag, root.tag))
    node = meta.find(tag)
    if node is None and create:
        node = ET.SubElement(meta, tag)
    return node


def _r_tags(root):
    node = _fleet_node(root)
    if node is None:
        return []
    return sorted(t.text or "" for t in node.findall("%s/%s" % (_q("tags"), _q("tag"))))


def _w_tags(root, value):
    node = _fleet_node(root, create=True)
    for old in node.findall(_q("tags")):
        node.remove(old)
    tags = ET.SubElement(node, _q("tags"))
    for tag in sorted(set(value)):
        ET.SubElement(tags, _q("tag")).text = tag


def _r_fleet_text(tag, default=None):
    def reader(root):
        node = _fleet_node(root)
        if node is None:
            return default
        sub = node.find(_q(tag))
        if sub is None or sub.text is None:
            return default
        return sub.text
    return reader


def _w_fleet_text(tag):
    def writer(root, value):
        node = _fleet_node(root, create=True)
        for old in node.findall(_q(tag)):
            node.remove(old)
        if value not in (None, ""):
            ET.SubElement(node, _q(tag)).text = str(value)
    return writer


def _r_managed(root):
    return _r_fleet_text("managed")(root) == "true"


def _w_managed(root, value):
    _w_fleet_text("managed")(root, "true" if value else None)


def _r_adopted(root):
    return _r_fleet_text("adopted")(root) == "true"


def _w_adopted(root, value):
    _w_fleet_text("adopted")(root, "true" if value else None)


def is_managed(root):
    """Whether a domain or network document carries the collection's ownership marker."""
    return _r_managed(root)


def mark_managed(root):
    """Put the ownership marker on a domain or network document the collection creates."""
    _w_managed(root, True)


def require_owned(managed, kind, name, force):
    """Refuse to delete an object the collection did not create, unless ``force``."""
    if not managed and not force:
        raise ValidationError("force", "refusing to delete %s %r: it was not created by hybridops.fleet (no ownership "
                              "metadata)" % (kind, name), accepted="force: true to delete it anyway")


def _machine_equal(current, desired):
    """'q35' matches 'pc-q35-7.2'; 'pc' matches 'pc-i440fx-7.2'."""
    if current == desired or current is None or desired is None:
        return current == desired
    aliases = {"q35": "pc-q35-", "pc": "pc-i440fx-"}
    prefix = aliases.get(desired)
    return bool(prefix and current.startswith(prefix))


class Field:
    """One scalar spec field: key, XML reader/writer, how it is applied live, equality."""

    def __init__(self, key, read, write, live="restart", equal=None, doc=""):
        self.key = key
        self.read = read
        self.write = write
        self.live = live
        self.equal = equal or (lambda a, b: a == b)
        self.doc = doc


FIELDS = [
    Field("domain_type", _r_domain_type, _w_domain_type),
    Field("memory", _r_memory, _w_memory, live="hot"),
    Field("max_memory", _r_max_memory, _w_max_memory),
    Field("vcpus", _r_vcpus, _w_vcpus, live="hot"),
    Field("max_vcpus", _r_max_vcpus, _w_max_vcpus),
    Field("cpu_mode", _r_cpu_mode, _w_cpu_mode),
    Field("arch", _r_os_type_attr("arch"), _w_os_type_attr("arch")),
    Field("machine", _r_os_type_attr("machine"), _w_machine, equal=_machine_equal),
    Field("firmware", _r_firmware, _w_firmware),
    Field("kernel", _r_os_text("kernel"), _w_os_text("kernel"), equal=lambda a, b: (a or "") == (b or "")),
    Field("initrd", _r_os_text("initrd"), _w_os_text("initrd"), equal=lambda a, b: (a or "") == (b or "")),
    Field("cmdline", _r_os_text("cmdline"), _w_os_text("cmdline"), equal=lambda a, b: (a or "") == (b or "")),
    Field("tb_cache", _r_tb_cache, _w_tb_cache, equal=lambda a, b: (a or 0) == (b or 0)),
    Field("graphics", _r_graphics, _w_graphics),
    Field("console", _r_console, _w_console),
    Field("console_log", _r_console_log, _w_console_log, equal=lambda a, b: (a or "") == (b or "")),
    Field("description", _r_description, _w_description, live="meta"),
    Field("tags", _r_tags, _w_tags, live="meta", equal=lambda a, b: sorted(a or []) == sorted(b or [])),
    Field("managed", _r_managed, _w_managed, live="meta"),
    # a VM defined elsewhere and taken over with libvirt_vm adopt=true (managed is set too)
    Field("adopted", _r_adopted, _w_adopted, live="meta"),
    Field("cloud_init_sha256", _r_fleet_text("cloud-init-sha256"), _w_fleet_text("cloud-init-sha256"), live="meta"),
    Field("template_sha256", _r_fleet_text("template-sha256"), _w_fleet_text("template-sha256")),
]
FIELD_MAP = dict((f.key, f) for f in FIELDS)
LIST_KEYS = ("disks", "networks")
SPEC_KEYS = [f.key for f in FIELDS] + list(LIST_KEYS)


# --- disks -----------------------------------------------------------------------------
def _disk_path(node):
    source = node.find("source")
    if source is None:
        return None
    if node.get("type") == "volume":
        return "%s/%s" % (source.get("pool"), source.get("volume"))
    return source.get("file") or source.get("dev") or source.get("name")


def read_disks(root):
    return [{
        "target": _attr(node, "target", "dev"),
        "bus": _attr(node, "target", "bus"),
        "device": node.get("device") or "disk",
        "format": _attr(node, "driver", "type"),
        "path": _disk_path(node),
        "readonly": node.find("readonly") is not None,
    } for node in _device_nodes(root, "disk")]


def _disk_element(disk):
    node = ET.Element("disk", {"type": "file", "device": disk["device"]})
    _update_disk_element(node, disk)
    return node


def _update_disk_element(node, disk):
    node.set("device", disk["device"])
    if node.get("type") not in ("file", "block"):
        node.set("type", "file")
    driver = node.find("driver")
    if driver is None:
        driver = ET.Element("driver")
        node.insert(0, driver)
    driver.set("name", "qemu")
    driver.set("type", disk["format"])
    source = node.find("source")
    if disk.get("path"):
        if source is None:
            source = ET.Element("source")
            node.insert(1, source)
        source.attrib.clear()
        if disk["path"].startswith("/dev/"):
            node.set("type", "block")
            source.set("dev", disk["path"])
        else:
            node.set("type", "file")
            source.set("file", disk["path"])
    elif source is not None:
        node.remove(source)
    _set_addressing(node, "target", "bus", disk["bus"], dev=disk["target"])
    readonly = node.find("readonly")
    if disk.get("readonly") and readonly is None:
        ET.SubElement(node, "readonly")
    elif not disk.get("readonly") and readonly is not None:
        node.remove(readonly)


def _set_addressing(node, tag, attribute, value, **others):
    """Set ``others`` and then ``attribute`` of the child ``tag`` (made when missing); when ``attribute``
    changes, the device's <address> goes too: an address of the old bus or model would not fit the new one
    (libvirt assigns a new one)."""
    child = node.find(tag)
    if child is None:
        child = ET.SubElement(node, tag)
    if child.get(attribute) != value:
        for address in node.findall("address"):
            node.remove(address)
    for name, other in others.items():
        child.set(name, other)
    child.set(attribute, value)


def disk_xml(disk):
    """The <disk> element of one resolved disk, as a string (for attachDevice)."""
    return ET.tostring(_disk_element(disk), encoding="unicode")


def write_disks(root, disks):
    devices = _devices(root)
    existing = dict((_attr(node, "target", "dev"), node) for node in devices.findall("disk"))
    wanted = set(d["target"] for d in disks)
    for target, node in existing.items():
        if target not in wanted:
            devices.remove(node)
    for disk in disks:
        node = existing.get(disk["target"])
        if node is not None:
            _update_disk_element(node, disk)
        else:
            _insert_device(devices, _disk_element(disk), "disk")


def _insert_device(devices, element, tag):
    """Insert after the last sibling with the same tag (keeps libvirt's device order)."""
    last = None
    for index, node in enumerate(list(devices)):
        if node.tag == tag:
            last = index
    if last is None:
        devices.append(element)
    else:
        devices.insert(last + 1, element)


def assign_targets(disks, taken=()):
    """Fill missing ``target`` (vda, vdb, sda...) by bus, skipping ``taken`` and explicit ones."""
    used = set(taken) | set(d["target"] for d in disks if d.get("target"))
    result = []
    for disk in disks:
        disk = dict(disk)
        if not disk.get("target"):
            prefix = BUS_PREFIX.get(disk.get("bus") or "virtio", "vd")
            for index in range(26):
                candidate = prefix + chr(ord("a") + index)
                if candidate not in used:
                    disk["target"] = candidate
                    used.add(candidate)
                    break
        result.append(disk)
    return result


# --- network interfaces ----------------------------------------------------------------
def _nic_source(node):
    source = node.find("source")
    if source is None:
        return None
    return source.get("network") or source.get("bridge") or source.get("dev")


def read_networks(root):
    return [{
        "type": node.get("type"),
        "source": _nic_source(node),
        "model": _attr(node, "model", "type"),
        "mac": (_attr(node, "mac", "address") or "").lower() or None,
    } for node in _device_nodes(root, "interface")]


def _update_nic_element(node, nic):
    node.set("type", nic["type"])
    source = node.find("source")
    if source is None:
        source = ET.Element("source")
        node.insert(1 if node.find("mac") is not None else 0, source)
    source.attrib.clear()
    source.set("network" if nic["type"] == "network" else "bridge", nic["source"])
    if nic.get("mac"):
        mac = node.find("mac")
        if mac is None:
            mac = ET.Element("mac")
            node.insert(0, mac)
        mac.set("address", nic["mac"])
    if nic.get("model"):
        _set_addressing(node, "model", "type", nic["model"])
    # runtime-only children must not leak into a definition
    for tag in ("target", "alias"):
        for sub in node.findall(tag):
            node.remove(sub)


def nic_xml(nic):
    node = ET.Element("interface")
    _update_nic_element(node, nic)
    return ET.tostring(node, encoding="unicode")


def write_networks(root, nics):
    """Interfaces by position: existing ones are edited in place (MAC and address kept)."""
    devices = _devices(root)
    existing = devices.findall("interface")
    for index, nic in enumerate(nics):
        if index < len(existing):
            _update_nic_element(existing[index], nic)
        else:
            node = ET.Element("interface")
            _update_nic_element(node, nic)
            _insert_device(devices, node, "interface")
    for node in existing[len(nics):]:
        devices.remove(node)


# --- whole documents -----------------------------------------------------------------------

def parse(xml_text):
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError("not valid XML: %s" % exc)
    if root.tag != "domain":
        raise ValueError("the root element is <%s>, expected <domain>" % root.tag)
    return root


def to_string(root):
    return ET.tostring(root, encoding="unicode")


def xml_to_spec(xml_text_or_root):
    """Read every spec field from a domain XML document."""
    root = xml_text_or_root if isinstance(xml_text_or_root, ET.Element) else parse(xml_text_or_root)
    spec = {"name": _text(root, "name"), "uuid": _text(root, "uuid")}
    for field in FIELDS:
        spec[field.key] = field.read(root)
    spec["disks"] = read_disks(root)
    spec["networks"] = read_networks(root)
    return spec


def new_domain_root(name, template=None):
    """Skeleton of a new domain (or the user's template XML) with the fixed devices we always add."""
    if template:
        root = parse(template)
        _remove(root, "uuid")
    else:
        root = ET.Element("domain", {"type": "qemu"})
        ET.SubElement(root, "name")
        ET.SubElement(root, "metadata")
        os_node = ET.SubElement(root, "os")
        ET.SubElement(os_node, "type").text = "hvm"
        features = ET.SubElement(root, "features")
        ET.SubElement(features, "acpi")
        ET.SubElement(features, "apic")
        ET.SubElement(root, "clock", {"offset": "utc"})
        ET.SubElement(root, "on_poweroff").text = "destroy"
        ET.SubElement(root, "on_reboot").text = "restart"
        ET.SubElement(root, "on_crash").text = "destroy"
        devices = ET.SubElement(root, "devices")
        channel = ET.SubElement(devices, "channel", {"type": "unix"})
        ET.SubElement(channel, "target", {"type": "virtio", "name": "org.qemu.guest_agent.0"})
        rng = ET.SubElement(devices, "rng", {"model": "virtio"})
        ET.SubElement(rng, "backend", {"model": "random"}).text = "/dev/urandom"
        ET.SubElement(devices, "memballoon", {"model": "virtio"})
    _child(root, "name", create=True).text = name
    return root


def apply_spec(root, desired):
    """Write every non-None field of ``desired`` into ``root`` (in place); returns root."""
    for field in FIELDS:
        value = desired.get(field.key)
        if value is not None:
            field.write(root, value)
    if desired.get("disks") is not None:
        write_disks(root, desired["disks"])
    if desired.get("networks") is not None:
        write_networks(root, desired["networks"])
    _ensure_boot_dev(root)
    return root


def add_hotplug_ports(root, spare=6):
    """On q35, give a new domain ``spare`` free PCIe root ports beyond what its devices use,
    so disks and NICs can be hot-plugged later (libvirt only adds the ports it needs)."""
    if _machine_family(_r_os_type_attr("machine")(root)) != "q35":
        return
    devices = _devices(root)
    if any(c.get("model") == "pcie-root-port" for c in devices.findall("controller")):
        return
    if not any(c.get("model") == "pcie-root" for c in devices.findall("controller")):
        devices.append(ET.Element("controller", {"type": "pci", "index": "0", "model": "pcie-root"}))
    used = len(devices.findall("disk")) + len(devices.findall("interface")) + 5
    for _index in range(used + spare):
        devices.append(ET.Element("controller", {"type": "pci", "model": "pcie-root-port"}))


def build_xml(name, desired, template=None):
    """XML text for a new domain from a full desired spec."""
    return to_string(apply_spec(new_domain_root(name, template), desired))


def update_xml(current_xml, desired):
    """The current (inactive) XML with the desired fields applied; UUID and MACs are kept."""
    root = parse(current_xml)
    return to_string(apply_spec(root, desired))


# --- comparison ------------------------------------------------------------------------

def _item_matches(current, desired):
    for key, value in desired.items():
        if value is None or key.startswith("_"):
            continue
        if current.get(key) != value:
            return False
    return True


def list_matches(current, desired):
    if len(current or []) != len(desired):
        return False
    return all(_item_matches(c, d) for c, d in zip(current, desired))


def compare(current, desired):
    """Keys of ``desired`` (non-None) that differ from ``current``, in table order."""
    changed = []
    for field in FIELDS:
        want = desired.get(field.key)
        if want is None:
            continue
        if not field.equal(current.get(field.key), want):
            changed.append(field.key)
    for key in LIST_KEYS:
        want = desired.get(key)
        if want is not None and not list_matches(current.get(key) or [], want):
            changed.append(key)
    return changed


def live_class(key):
    """hot / meta / restart for a spec key (disks and networks are hot-pluggable)."""
    if key in LIST_KEYS:
        return "hot"
    return FIELD_MAP[key].live


# bookkeeping fields: not part of the user-facing spec (facts report managed/adopted themselves)
INTERNAL_KEYS = ("cloud_init_sha256", "template_sha256", "managed", "adopted")


def view(spec, keys=None, copy_values=True):
    """The user-facing part of a spec (for diff and facts): internal keys dropped. ``copy_values=False`` for a spec
    the caller made for this view alone (values are then shared, not deep-copied)."""
    result = {}
    for key in keys or (["name"] + SPEC_KEYS):
        if key in INTERNAL_KEYS and keys is None:
            continue
        if key in spec:
            value = spec[key]
            if key in LIST_KEYS and value is not None:
                value = [dict((k, v) for k, v in item.items() if not k.startswith("_")) for item in value]
            result[key] = copy.deepcopy(value) if copy_values else value
    return result


# --- ownership records (not compared: bookkeeping of what the collection created) -----------

def read_owned_volumes(root):
    node = _fleet_node(root)
    if node is None:
        return []
    return [v.get("path") for v in node.findall("%s/%s" % (_q("volumes"), _q("volume"))) if v.get("path")]


def write_owned_volumes(root, paths):
    node = _fleet_node(root, create=True)
    for old in node.findall(_q("volumes")):
        node.remove(old)
    if paths:
        holder = ET.SubElement(node, _q("volumes"))
        for path in sorted(set(paths)):
            ET.SubElement(holder, _q("volume"), {"path": path})


def metadata_without_fleet(xml_text_or_root):
    """The domain document as text with the collection's own element removed from <metadata>
    (and an empty <metadata> dropped) and whitespace between elements ignored: what adoption
    must leave unchanged."""
    root = copy.deepcopy(xml_text_or_root) if isinstance(xml_text_or_root, ET.Element) else parse(xml_text_or_root)
    meta = root.find("metadata")
    if meta is not None:
        for node in list(meta):
            if node.tag.startswith("{%s}" % FLEET_NS):
                meta.remove(node)
        if not len(meta):
            root.remove(meta)
    for node in root.iter():
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    return to_string(root)


def fleet_metadata_element_xml(root):
    """The <fleet:vm> element as setMetadata takes it: without a namespace (libvirt puts the element into
    the namespace and prefix it is given), or None."""
    node = _fleet_node(root)
    if node is None:
        return None
    plain = copy.deepcopy(node)
    for item in plain.iter():
        if item.tag.startswith("{"):
            item.tag = item.tag.split("}", 1)[1]
    return ET.tostring(plain, encoding="unicode")


def fleet_metadata_xml(root):
    """The <fleet:vm> element as text (for setMetadata on a running domain), or None."""
    node = _fleet_node(root)
    return ET.tostring(node, encoding="unicode") if node is not None else None


def rebase_on_template(template, current_xml, name, desired):
    """A domain rebuilt from a changed ``xml`` template: UUID, MACs and ownership of the current one kept."""
    current = parse(current_xml)
    root = new_domain_root(name, template)
    uuid = _text(current, "uuid")
    if uuid:
        node = ET.Element("uuid")
        node.text = uuid
        root.insert(1, node)
    old_meta = _fleet_node(current)
    if old_meta is not None:
        _fleet_node(root, create=True)
        meta = root.find("metadata")
        meta.remove(meta.find(_q("vm")))
        meta.append(copy.deepcopy(old_meta))
    apply_spec(root, desired)
    old_nics = read_networks(current)
    for index, node in enumerate(root.findall("devices/interface")):
        if node.find("mac") is None and index < len(old_nics) and old_nics[index].get("mac"):
            mac = ET.Element("mac", {"address": old_nics[index]["mac"]})
            node.insert(0, mac)
    return to_string(root)


# --- what other tools put into a domain (read-only: title, other metadata namespaces) -------------

def read_title(root):
    """The domain's <title> (a short one-line description), or None."""
    node = root.find("title")
    return node.text if node is not None and node.text else None


def _local(tag):
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def element_data(node):
    """An XML element as plain data: text alone for a bare element, otherwise a dict with attributes as
    ``@name``, child elements by local name (a list when repeated) and the text as ``#text``."""
    children = list(node)
    text = (node.text or "").strip()
    if not children and not node.attrib:
        return text
    data = {}
    for key, value in node.attrib.items():
        data["@" + _local(key)] = value
    for child in children:
        key = _local(child.tag)
        value = element_data(child)
        if key in data:
            if not isinstance(data[key], list):
                data[key] = [data[key]]
            data[key].append(value)
        else:
            data[key] = value
    if text:
        data["#text"] = text
    return data


def foreign_metadata(root):
    """The elements other tools keep in the domain's <metadata>, by namespace URI:
    ``{namespace: {element local name: element_data}}``. The collection's own namespace is left out
    (its content is reported as tags, managed, adopted)."""
    meta = root.find("metadata")
    result = {}
    if meta is None:
        return result
    for node in meta:
        if not isinstance(node.tag, str) or not node.tag.startswith("{"):
            continue
        namespace = node.tag[1:].split("}", 1)[0]
        if namespace == FLEET_NS:
            continue
        result.setdefault(namespace, {})[_local(node.tag)] = element_data(node)
    return result
