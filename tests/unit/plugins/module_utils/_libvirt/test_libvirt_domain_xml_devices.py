"""Reading <disk> and <interface> devices from domain XML written by libvirt or by hand."""
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import domain_xml as dx


def devices(xml):
    root = dx.parse("<domain><devices>%s</devices></domain>" % xml)
    return dx.read_disks(root), dx.read_networks(root)


def test_no_devices_element():
    root = dx.parse("<domain><name>vm</name></domain>")
    assert dx.read_disks(root) == [] and dx.read_networks(root) == []


def test_disk_sources():
    disks, _nics = devices(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/p/a.qcow2'/>"
        "<target dev='vda' bus='virtio'/></disk>"
        "<disk type='volume' device='cdrom'><source pool='pool' volume='seed.iso'/><target dev='sda' bus='sata'/>"
        "<readonly/></disk>"
        "<disk type='block'><source dev='/dev/sdb'/></disk>"
        "<disk type='network'><source protocol='rbd' name='rbd/img'/></disk>"
        "<disk type='file'/>")
    assert disks == [
        {"target": "vda", "bus": "virtio", "device": "disk", "format": "qcow2", "path": "/p/a.qcow2", "readonly": False},
        {"target": "sda", "bus": "sata", "device": "cdrom", "format": None, "path": "pool/seed.iso", "readonly": True},
        {"target": None, "bus": None, "device": "disk", "format": None, "path": "/dev/sdb", "readonly": False},
        {"target": None, "bus": None, "device": "disk", "format": None, "path": "rbd/img", "readonly": False},
        {"target": None, "bus": None, "device": "disk", "format": None, "path": None, "readonly": False},
    ]


def test_interface_sources_and_mac_case():
    _disks, nics = devices(
        "<interface type='network'><mac address='52:54:00:AB:cd:EF'/><source network='default'/>"
        "<model type='virtio'/></interface>"
        "<interface type='bridge'><source bridge='br0'/><mac address=''/></interface>"
        "<interface type='direct'><source dev='eth0' mode='bridge'/></interface>"
        "<interface type='user'/>")
    assert nics == [
        {"type": "network", "source": "default", "model": "virtio", "mac": "52:54:00:ab:cd:ef"},
        {"type": "bridge", "source": "br0", "model": None, "mac": None},
        {"type": "direct", "source": "eth0", "model": None, "mac": None},
        {"type": "user", "source": None, "model": None, "mac": None},
    ]
