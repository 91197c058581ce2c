"""Pure spec <-> XML functions: build, read back, normalize, compare, in-place update."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml as dx

DISK = {"target": "vda", "bus": "virtio", "device": "disk", "format": "qcow2", "path": "/pool/vm-disk0.qcow2", "readonly": False}
SEED = {"target": "vdb", "bus": "virtio", "device": "disk", "format": "raw", "path": "/pool/vm-cidata.iso", "readonly": True}
NIC = {"type": "network", "source": "default", "model": "virtio", "mac": None}


def full_spec(**over):
    spec = dict(dx.CREATE_DEFAULTS)
    spec.update({"memory": 1024, "max_memory": 2048, "vcpus": 2, "max_vcpus": 4, "tb_cache": 256, "managed": True, "adopted": True,
                 "kernel": "/boot/vmlinuz", "initrd": "/boot/initrd.img", "cmdline": "console=ttyS0",
                 "disks": [dict(DISK), dict(SEED)], "networks": [dict(NIC)], "tags": ["web", "blue"],
                 "description": "a test vm", "console_log": "/var/log/x.log", "cpu_mode": "host-passthrough"})
    spec.update(over)
    return spec


def test_round_trip_every_field():
    spec = full_spec()
    read = dx.xml_to_spec(dx.build_xml("vm", spec))
    assert read["name"] == "vm"
    for key in dx.SPEC_KEYS:
        if key in ("cloud_init_sha256", "template_sha256", "firmware"):
            continue
        if key == "networks":
            assert read[key] == [dict(NIC)]
        elif key == "tags":
            assert read[key] == ["blue", "web"]
        else:
            assert read[key] == spec[key], key
    assert dx.compare(read, spec) == []


def test_new_domain_has_agent_channel_and_tb_cache():
    root = dx.parse(dx.build_xml("vm", full_spec()))
    assert root.find("devices/channel/target").get("name") == "org.qemu.guest_agent.0"
    tb = root.find("features/tcg/tb-cache")
    assert (tb.get("unit"), tb.text) == ("MiB", "256")
    assert root.find("os/boot") is None  # direct kernel boot


def test_boot_dev_when_no_kernel():
    root = dx.parse(dx.build_xml("vm", full_spec(kernel=None, initrd=None, cmdline=None)))
    assert root.find("os/boot").get("dev") == "hd"


def test_compare_only_given_fields():
    current = dx.xml_to_spec(dx.build_xml("vm", full_spec()))
    assert dx.compare(current, {"memory": 1024}) == []
    assert dx.compare(current, {"memory": 2048, "vcpus": 2, "tags": ["web", "blue"]}) == ["memory"]
    assert dx.compare(current, {"tags": ["blue", "web"]}) == []
    assert dx.compare(current, {"disks": [dict(DISK)]}) == ["disks"]
    assert dx.compare(current, {"networks": [dict(NIC, model="e1000")]}) == ["networks"]


def test_compare_machine_alias():
    current = {"machine": "pc-q35-7.2"}
    assert dx.compare(current, {"machine": "q35"}) == []
    assert dx.compare(current, {"machine": "pc"}) == ["machine"]
    assert dx.compare({"machine": "pc-i440fx-7.2"}, {"machine": "pc"}) == []


def test_compare_mac_unset_is_ignored_but_set_is_compared():
    current = {"networks": [dict(NIC, mac="52:54:00:aa:bb:cc")]}
    assert dx.compare(current, {"networks": [dict(NIC)]}) == []
    assert dx.compare(current, {"networks": [dict(NIC, mac="52:54:00:aa:bb:cd")]}) == ["networks"]


LIBVIRT_XML = """<domain type='qemu'>
  <name>vm</name>
  <uuid>6e44d210-e4ee-4a20-9214-45d78d0c94be</uuid>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/pool/vm-disk0.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:11:22:33'/>
      <source network='default'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
  </devices>
</domain>"""


def test_update_keeps_uuid_mac_and_addresses():
    desired = {"memory": 2048, "vcpus": 2, "disks": [dict(DISK), dict(SEED)], "networks": [dict(NIC), dict(NIC, model="e1000")]}
    new = dx.parse(dx.update_xml(LIBVIRT_XML, desired))
    assert new.find("uuid").text == "6e44d210-e4ee-4a20-9214-45d78d0c94be"
    nics = new.findall("devices/interface")
    assert nics[0].find("mac").get("address") == "52:54:00:11:22:33"
    assert nics[0].find("address").get("bus") == "0x01"
    assert nics[0].find("target") is None and nics[0].find("alias") is None
    assert nics[1].find("mac") is None  # libvirt generates it
    assert new.findall("devices/disk")[0].find("address").get("bus") == "0x04"
    spec = dx.xml_to_spec(new)
    assert (spec["memory"], spec["max_memory"], spec["vcpus"]) == (2048, 2048, 2)
    assert [d["target"] for d in spec["disks"]] == ["vda", "vdb"]
    assert dx.compare(spec, desired) == []


def test_bus_change_drops_stale_address():
    new = dx.parse(dx.update_xml(LIBVIRT_XML, {"disks": [dict(DISK, bus="sata", target="vda")]}))
    disk = new.find("devices/disk")
    assert disk.find("address") is None and disk.find("target").get("bus") == "sata"


def test_removing_disks_and_nics():
    new = dx.xml_to_spec(dx.update_xml(LIBVIRT_XML, {"disks": [], "networks": []}))
    assert new["disks"] == [] and new["networks"] == []


def test_vcpus_below_max_uses_current_attribute():
    root = dx.parse(LIBVIRT_XML)
    dx.apply_spec(root, {"max_vcpus": 4, "vcpus": 2})
    assert (root.find("vcpu").text, root.find("vcpu").get("current")) == ("4", "2")
    dx.apply_spec(root, {"max_vcpus": 2})
    assert (root.find("vcpu").text, root.find("vcpu").get("current")) == ("2", None)


def test_memory_above_max_raises_max_and_max_below_current_lowers_current():
    root = dx.parse(LIBVIRT_XML)
    dx.apply_spec(root, {"memory": 4096})
    assert dx.xml_to_spec(root)["max_memory"] == 4096
    dx.apply_spec(root, {"max_memory": 512})
    assert (dx.xml_to_spec(root)["memory"], dx.xml_to_spec(root)["max_memory"]) == (512, 512)


def test_memory_units_are_normalized():
    xml = LIBVIRT_XML.replace("<memory unit='KiB'>1048576</memory>", "<memory unit='GiB'>2</memory>").replace(
        "<currentMemory unit='KiB'>1048576</currentMemory>", "")
    assert dx.xml_to_spec(xml)["memory"] == 2048


def test_metadata_tags_and_ownership():
    root = dx.parse(LIBVIRT_XML)
    assert dx.xml_to_spec(root)["managed"] is False
    dx.apply_spec(root, {"managed": True, "tags": ["b", "a", "a"], "description": "hello"})
    dx.write_owned_volumes(root, ["/pool/x", "/pool/y"])
    text = dx.to_string(root)
    assert dx.FLEET_NS in text
    again = dx.parse(text)
    spec = dx.xml_to_spec(again)
    assert (spec["managed"], spec["tags"], spec["description"]) == (True, ["a", "b"], "hello")
    assert dx.read_owned_volumes(again) == ["/pool/x", "/pool/y"]
    assert "<fleet:vm" in dx.fleet_metadata_xml(again) or "vm xmlns" in dx.fleet_metadata_xml(again)


def test_assign_targets():
    disks = [{"bus": "virtio"}, {"bus": "sata"}, {"bus": "virtio", "target": "vda"}, {"bus": "virtio"}]
    assert [d["target"] for d in dx.assign_targets(disks)] == ["vdb", "sda", "vda", "vdc"]


def test_kernel_removed_with_empty_string():
    root = dx.parse(dx.build_xml("vm", full_spec()))
    dx.apply_spec(root, {"kernel": "", "initrd": "", "cmdline": ""})
    spec = dx.xml_to_spec(root)
    assert (spec["kernel"], spec["initrd"]) == (None, None)
    assert root.find("os/boot").get("dev") == "hd"


def test_graphics_and_console_toggle():
    root = dx.parse(dx.build_xml("vm", full_spec()))
    dx.apply_spec(root, {"graphics": "vnc", "console": False})
    spec = dx.xml_to_spec(root)
    assert (spec["graphics"], spec["console"]) == ("vnc", False)
    assert root.find("devices/graphics").get("listen") == "127.0.0.1"


def test_parse_rejects_non_domain():
    with pytest.raises(ValueError, match="expected <domain>"):
        dx.parse("<network/>")
    with pytest.raises(ValueError, match="not valid XML"):
        dx.parse("<domain>")


def test_rebase_on_template_keeps_identity():
    template = ("<domain type='qemu'><name>other</name><uuid>11111111-1111-1111-1111-111111111111</uuid><devices>"
                "<interface type='network'><source network='default'/></interface><watchdog model='i6300esb'/></devices></domain>")
    current = dx.update_xml(LIBVIRT_XML, {"managed": True})
    root = dx.parse(dx.rebase_on_template(template, current, "vm", {"memory": 256}))
    assert root.find("uuid").text == "6e44d210-e4ee-4a20-9214-45d78d0c94be"
    assert root.find("name").text == "vm"
    assert root.find("devices/interface/mac").get("address") == "52:54:00:11:22:33"
    assert root.find("devices/watchdog") is not None
    assert dx.xml_to_spec(root)["managed"] is True


def test_live_classes_from_table():
    assert dx.live_class("memory") == "hot"
    assert dx.live_class("machine") == "restart"
    assert dx.live_class("tags") == "meta"
    assert dx.live_class("disks") == "hot"
    assert len(set(f.key for f in dx.FIELDS)) == len(dx.FIELDS)


def test_machine_family_change_drops_controllers_and_addresses():
    xml = LIBVIRT_XML.replace("<devices>", "<devices><controller type='pci' index='0' model='pcie-root'/>")
    root = dx.parse(xml)
    dx.apply_spec(root, {"machine": "pc-q35-8.0"})
    assert root.find("devices/controller") is not None  # same chipset: layout kept
    dx.apply_spec(root, {"machine": "pc"})
    assert root.find("devices/controller") is None
    assert root.find("devices/disk/address") is None and root.find("devices/interface/address") is None


def test_title_and_foreign_metadata_as_data():
    root = dx.parse("""<domain><name>a</name><title>Billing DB</title><metadata>
      <cmdb:record xmlns:cmdb="http://cmdb.example.com/xmlns/1"><cmdb:env>prod</cmdb:env><cmdb:ssh user="deploy"/>
        <cmdb:ip>10.0.0.5</cmdb:ip><cmdb:ip>10.0.0.6</cmdb:ip><cmdb:note lang="en">old box</cmdb:note></cmdb:record>
      <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
        <libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo>
      <fleet:vm xmlns:fleet="%s"><fleet:managed>true</fleet:managed></fleet:vm>
    </metadata></domain>""" % dx.FLEET_NS)
    assert dx.read_title(root) == "Billing DB"
    assert dx.foreign_metadata(root) == {
        "http://cmdb.example.com/xmlns/1": {"record": {
            "env": "prod", "ssh": {"@user": "deploy"}, "ip": ["10.0.0.5", "10.0.0.6"],
            "note": {"@lang": "en", "#text": "old box"}}},
        "http://libosinfo.org/xmlns/libvirt/domain/1.0": {"libosinfo": {"os": {"@id": "http://debian.org/debian/12"}}},
    }
    bare = dx.parse("<domain><name>a</name></domain>")
    assert dx.read_title(bare) is None and dx.foreign_metadata(bare) == {}
