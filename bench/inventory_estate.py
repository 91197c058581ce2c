"""A synthetic estate for the inventory scale bench: H hypervisors of N domains each, as libvirt test-driver files.

Each hypervisor is its own test-driver document (``<node>`` of ``<domain>``s, plus a storage pool holding the
domains' disks and the NAT network), opened as ``test:///ABS/PATH.xml`` (in-process) or, through the lab's
libvirtd, ``test+unix:///ABS/PATH.xml`` (every libvirt call a round trip to the daemon, as with a real remote
hypervisor). The domains look like real ones: two disks (a qcow2 volume of the pool and a cloud-init seed), a NIC
on the default network, a title and a ``KEY=VALUE`` description, the collection's metadata (tags, managed) on
some, a libosinfo element and a CMDB element on others; every 5th one is running (the test driver gives running
domains addresses), the others shut off.

    bench/.venv/bin/python bench/inventory_estate.py DIR [--hypervisors 20] [--per-hypervisor 50]
"""
import argparse
import os

PREFIX = "hybridops-bench-"
FLEET_NS = "https://hybridops.dev/fleet/1"  # the collection's namespace (domain_xml.FLEET_NS)
TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"
POOL_DIR = "/var/lib/hybridops-bench-pool"  # a path only (the test driver keeps its pools in memory)

DOMAIN = """  <domain type='qemu' xmlns:test='%(test_ns)s'>
    <name>%(name)s</name>
    <uuid>%(uuid)s</uuid>
    <title>%(title)s</title>
    <description>owner=%(owner)s env=%(env)s service=%(service)s</description>
    <metadata>
%(metadata)s    </metadata>
    <memory unit='KiB'>1048576</memory>
    <currentMemory unit='KiB'>1048576</currentMemory>
    <vcpu placement='static'>2</vcpu>
    <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='hd'/></os>
    <features><acpi/><apic/></features>
    <cpu mode='host-model'/>
    <clock offset='utc'/>
    <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
    <devices>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='%(pool_dir)s/%(name)s.qcow2'/>
        <target dev='vda' bus='virtio'/>
      </disk>
      <disk type='file' device='disk'>
        <driver name='qemu' type='raw'/>
        <source file='%(pool_dir)s/%(name)s-seed.iso'/>
        <target dev='vdb' bus='virtio'/>
        <readonly/>
      </disk>
      <interface type='network'>
        <mac address='52:54:00:%(mac)s'/>
        <source network='default'/>
        <model type='virtio'/>
      </interface>
      <serial type='pty'><target port='0'/></serial>
      <console type='pty'><target type='serial' port='0'/></console>
      <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
      <graphics type='vnc' port='-1' autoport='yes'/>
      <memballoon model='virtio'/>
    </devices>
    <test:runstate>%(runstate)d</test:runstate>
  </domain>
"""
FLEET_META = ("      <fleet:vm xmlns:fleet='%s'><fleet:managed>true</fleet:managed>"
              "<fleet:tags><fleet:tag>%s</fleet:tag><fleet:tag>bench</fleet:tag></fleet:tags></fleet:vm>\n")
OSINFO_META = ("      <libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
               "<libosinfo:os id='http://debian.org/debian/12'/></libosinfo:libosinfo>\n")
CMDB_META = ("      <cmdb:record xmlns:cmdb='http://cmdb.example.com/xmlns/1'><cmdb:env>%s</cmdb:env>"
             "<cmdb:service>%s</cmdb:service><cmdb:ssh user='debian'/></cmdb:record>\n")
VOLUME = """    <volume type='file'><name>%(file)s</name><capacity unit='GiB'>%(gib)d</capacity>
      <target><path>%(pool_dir)s/%(file)s</path></target></volume>
"""


def domain_name(hypervisor, index):
    return "%sh%02d-%03d" % (PREFIX, hypervisor, index)


def hypervisor_document(hypervisor, count, running_every=5):
    """The test-driver XML of one hypervisor holding ``count`` domains."""
    domains, volumes = [], []
    services = ("web", "db", "cache", "queue")
    for index in range(count):
        name = domain_name(hypervisor, index)
        service = services[index % len(services)]
        env = "prod" if index % 3 else "staging"
        metadata = ""
        if index % 2 == 0:
            metadata += FLEET_META % (FLEET_NS, service)
        metadata += OSINFO_META
        if index % 4 != 3:
            metadata += CMDB_META % (env, service)
        serial = hypervisor * 1000 + index
        domains.append(DOMAIN % {
            "test_ns": TEST_NS, "name": name, "title": "%s %s node %d" % (env, service, index),
            "uuid": "6f1c0000-0000-4000-8000-%012x" % serial, "owner": ("billing", "search", "ops")[index % 3],
            "env": env, "service": service, "metadata": metadata, "pool_dir": POOL_DIR,
            "mac": "%02x:%02x:%02x" % (hypervisor, index // 256, index % 256),
            "runstate": 1 if running_every and index % running_every == 0 else 5})
        volumes.append(VOLUME % {"file": "%s.qcow2" % name, "gib": 20, "pool_dir": POOL_DIR})
        volumes.append(VOLUME % {"file": "%s-seed.iso" % name, "gib": 1, "pool_dir": POOL_DIR})
    network = ("  <network><name>default</name><bridge name='virbr0'/><forward mode='nat'/>"
               "<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>"
               "<range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>\n")
    pool = ("  <pool type='dir'><name>default</name><uuid>7a2d0000-0000-4000-8000-%012x</uuid>"
            "<capacity unit='TiB'>4</capacity><target><path>%s</path></target>\n%s  </pool>\n"
            % (hypervisor, POOL_DIR, "".join(volumes)))
    return "<node>\n%s%s%s</node>\n" % ("".join(domains), network, pool)


def write_estate(directory, hypervisors, per_hypervisor, running_every=5):
    """Writes DIR/hvNN.xml for each hypervisor; returns their absolute paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for hypervisor in range(hypervisors):
        path = os.path.abspath(os.path.join(directory, "hv%02d.xml" % hypervisor))
        with open(path, "w") as handle:
            handle.write(hypervisor_document(hypervisor, per_hypervisor, running_every))
        paths.append(path)
    return paths


def expected_names(hypervisors, per_hypervisor):
    return sorted(domain_name(h, i) for h in range(hypervisors) for i in range(per_hypervisor))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("directory")
    parser.add_argument("--hypervisors", type=int, default=20)
    parser.add_argument("--per-hypervisor", type=int, default=50)
    args = parser.parse_args()
    for path in write_estate(args.directory, args.hypervisors, args.per_hypervisor):
        print(path)


if __name__ == "__main__":
    main()
