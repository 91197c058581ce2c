"""Network spec <-> XML and LibvirtNetworkManager on test:///default."""
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import network as nw

HOSTS = [{"mac": "52:54:00:00:00:02", "ip": "10.9.0.12", "name": "b"}, {"mac": "52:54:00:00:00:01", "ip": "10.9.0.11", "name": "a"}]


def params(**over):
    base = {"name": "unit-net", "state": "present", "active": True, "mode": "nat", "bridge": "virbr-unit",
            "address": "10.9.0.1/24", "dhcp_ranges": [{"start": "10.9.0.100", "end": "10.9.0.200"}], "dhcp_hosts": HOSTS}
    base.update(over)
    return base


def test_round_trip():
    desired = nw.normalize_params(params(domain="lab", mtu=1400))
    spec = nw.read_spec(nw.build_xml("unit-net", desired))
    assert nw.compare(spec, desired) == []
    assert [h["mac"] for h in spec["dhcp_hosts"]] == ["52:54:00:00:00:01", "52:54:00:00:00:02"]


def test_isolated_and_bridge_modes():
    spec = nw.read_spec(nw.build_xml("n", {"mode": "isolated", "address": "10.1.0.1/24"}))
    assert spec["mode"] == "isolated" and spec["address"] == "10.1.0.1/24"
    spec = nw.read_spec(nw.build_xml("n", {"mode": "bridge", "bridge": "br0"}))
    assert (spec["mode"], spec["bridge"], spec["address"]) == ("bridge", "br0", None)


def test_new_network_is_marked_and_a_rebuild_keeps_metadata():
    created = nw.build_xml("n", {"mode": "nat"})
    assert nw.read_spec(created)["managed"] is True
    assert nw.read_spec(nw.build_xml("n", {"mode": "isolated"}, created))["managed"] is True
    foreign = "<network><name>n</name><metadata><x:y xmlns:x='urn:other'>keep</x:y></metadata></network>"
    rebuilt = nw.build_xml("n", {"mode": "nat"}, foreign)
    assert nw.read_spec(rebuilt)["managed"] is False and "urn:other" in rebuilt


def test_build_keeps_uuid():
    xml = "<network><name>n</name><uuid>2d2f5e2c-59a4-4d6e-9b8f-8d2a1c51a0b1</uuid><mac address='52:54:00:aa:aa:aa'/></network>"
    spec = nw.read_spec(nw.build_xml("n", {"mode": "nat"}, xml))
    assert spec["uuid"] == "2d2f5e2c-59a4-4d6e-9b8f-8d2a1c51a0b1"


@pytest.mark.parametrize("over,option", [
    ({"address": "10.9.0.1"}, "address"),
    ({"address": "banana"}, "address"),
    ({"dhcp_ranges": [{"start": "10.9.1.1", "end": "10.9.0.200"}]}, "dhcp_ranges[0].start"),
    ({"dhcp_ranges": [{"start": "10.9.0.200", "end": "10.9.0.100"}]}, "dhcp_ranges[0]"),
    ({"dhcp_hosts": [{"mac": "nope", "ip": "10.9.0.5"}]}, "dhcp_hosts[0].mac"),
    ({"dhcp_hosts": [{"mac": "52:54:00:00:00:09", "ip": "192.168.1.1"}]}, "dhcp_hosts[0].ip"),
    ({"mode": "bridge", "bridge": None}, "bridge"),
    ({"name": "bad name"}, "name"),
    ({"domain": "lab\naddress=/example.com/10.9.0.66"}, "domain"),
    ({"domain": "-lab"}, "domain"),
    ({"domain": "a..b"}, "domain"),
    ({"bridge": "virbr-much-too-long"}, "bridge"),
    ({"bridge": "vir/br"}, "bridge"),
    ({"bridge": "vir br"}, "bridge"),
    ({"bridge": "virbr:1"}, "bridge"),
    ({"forward_dev": "eth0\n"}, "forward_dev"),
    ({"mtu": -1}, "mtu"),
    ({"mtu": 0}, "mtu"),
    ({"mtu": 67}, "mtu"),
    ({"mtu": 65536}, "mtu"),
])
def test_bad_input(over, option):
    with pytest.raises(ValidationError) as info:
        nw.normalize_params(params(**over))
    assert info.value.option == option


libvirt = pytest.importorskip("libvirt")


@pytest.fixture
def client():
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient
    with LibvirtClient("test:///default") as conn:
        yield conn
        net = conn.network("unit-net")
        if net is not None:
            if net.isActive():
                net.destroy()
            net.undefine()


def run(client, check=False, **over):
    return nw.LibvirtNetworkManager(client, check_mode=check, diff=True).run(params(**over))


def test_manager_create_idempotent_update_absent(client):
    predicted = run(client, check=True)
    assert predicted["changed"] and client.network("unit-net") is None
    created = run(client)
    assert created["changed"] and created["network"]["active"] is True
    uuid = created["network"]["uuid"]
    assert run(client)["changed"] is False
    more = run(client, dhcp_hosts=HOSTS + [{"mac": "52:54:00:00:00:03", "ip": "10.9.0.13"}])
    assert more["changed"] and more["changes"] == ["dhcp_hosts"]
    assert more["network"]["uuid"] == uuid
    domain = run(client, domain="lab")
    assert domain["restart_required"] is True and domain["restart_required_for"] == ["domain"]
    assert run(client, check=True, state="absent")["changed"] and client.network("unit-net") is not None
    assert run(client, state="absent")["changed"] and client.network("unit-net") is None
    assert run(client, state="absent")["changed"] is False


def test_foreign_network_is_not_deleted_without_force(client):
    """A network defined outside the collection (no marker) survives state=absent, even in check mode."""
    xml = "<network><name>unit-net</name><bridge name='virbr-unit'/><ip address='10.9.0.1' prefix='24'/></network>"
    client.conn.networkDefineXML(xml).create()
    for check in (True, False):
        with pytest.raises(ValidationError) as info:
            run(client, check=check, state="absent")
        assert info.value.option == "force" and "not created by hybridops.fleet" in str(info.value)
        assert client.network("unit-net") is not None and client.network("unit-net").isActive()
    # an update does not adopt it (the marker comes only with creation)
    assert run(client, dhcp_hosts=[])["network"]["managed"] is False
    assert run(client, state="absent", force=True)["changed"] and client.network("unit-net") is None


def test_created_network_keeps_its_marker_through_updates(client):
    assert run(client)["network"]["managed"] is True
    assert run(client, mtu=1400)["network"]["managed"] is True
    assert run(client, state="absent")["changed"] and client.network("unit-net") is None


# a network as virsh net-dumpxml shows one someone wrote by hand: more than the module manages
RICH = """<network>
  <name>rich</name>
  <uuid>0c5a4b4e-1d32-4c8e-9b7e-7c3f0b8f1a11</uuid>
  <forward mode='nat'><nat><port start='2000' end='3000'/></nat></forward>
  <bridge name='virbr77' stp='on' delay='0'/>
  <mac address='52:54:00:aa:bb:cc'/>
  <dns><host ip='10.77.0.5'><hostname>db.internal</hostname></host><forwarder addr='127.0.0.53'/></dns>
  <portgroup name='web' default='yes'/>
  <route address='10.78.0.0' prefix='24' gateway='10.77.0.2'/>
  <ip address='10.77.0.1' netmask='255.255.255.0'>
    <dhcp><range start='10.77.0.100' end='10.77.0.150'/><bootp file='pxelinux.0'/></dhcp>
  </ip>
  <ip address='10.79.0.1' prefix='24'/>
  <ip family='ipv6' address='fd00:77::1' prefix='64'/>
</network>"""


def test_rich_network_is_read_by_family():
    spec = nw.read_spec(RICH)
    assert spec["address"] == "10.77.0.1/24" and spec["ipv6_address"] == "fd00:77::1/64"
    assert spec["dhcp_ranges"] == [{"start": "10.77.0.100", "end": "10.77.0.150"}]


def test_update_edits_the_existing_xml_and_keeps_what_it_does_not_manage():
    current = nw.read_spec(RICH)
    merged = dict(current, dhcp_hosts=[{"mac": "52:54:00:00:00:09", "ip": "10.77.0.9", "name": "n9"}], mtu=1400)
    root = ET.fromstring(nw.build_xml("rich", merged, RICH))
    # kept: dns, portgroup, route, the second IPv4 and the IPv6 address, bootp, the nat port range, uuid, mac
    assert root.find("dns/host/hostname").text == "db.internal" and root.find("dns/forwarder") is not None
    assert root.find("portgroup").get("name") == "web" and root.find("route").get("gateway") == "10.77.0.2"
    assert [ip.get("address") for ip in root.findall("ip")] == ["10.77.0.1", "10.79.0.1", "fd00:77::1"]
    assert root.find("ip/dhcp/bootp").get("file") == "pxelinux.0"
    assert root.find("forward/nat/port").attrib == {"start": "2000", "end": "3000"}
    assert root.findtext("uuid") == current["uuid"] and root.find("mac").get("address") == "52:54:00:aa:bb:cc"
    # changed: exactly what the spec manages; the schema's order inside <dhcp> (ranges, hosts, bootp)
    assert root.find("mtu").get("size") == "1400"
    assert [child.tag for child in root.find("ip/dhcp")] == ["range", "host", "bootp"]
    assert root.find("ip").get("prefix") == "24" and root.find("ip").get("netmask") is None
    again = nw.read_spec(ET.tostring(root, encoding="unicode"))
    assert nw.compare(again, merged) == []


def test_mode_change_replaces_forward_and_ipv6_is_managed_when_given():
    merged = dict(nw.read_spec(RICH), mode="route", ipv6_address="fd00:78::1/64")
    root = ET.fromstring(nw.build_xml("rich", merged, RICH))
    assert root.find("forward").get("mode") == "route" and root.find("forward/nat") is None
    assert [ip.get("address") for ip in root.findall("ip")] == ["10.77.0.1", "10.79.0.1", "fd00:78::1"]


@pytest.mark.parametrize("option,value", [("address", "fd00::1/64"), ("ipv6_address", "10.0.0.1/24"),
                                          ("ipv6_address", "fd00::1"), ("ipv6_address", "zz::1/64")])
def test_address_families_are_checked(option, value):
    with pytest.raises(ValidationError) as err:
        nw.normalize_params(params(**{option: value}))
    assert err.value.option == option


def test_dhcp_hosts_of_an_existing_network_are_checked_against_its_address():
    only_hosts = {"name": "n", "state": "present", "dhcp_hosts": [{"mac": "52:54:00:00:00:09", "ip": "10.77.0.9"}]}
    assert nw.normalize_params(only_hosts, "10.77.0.1/24")["dhcp_hosts"][0]["ip"] == "10.77.0.9"
    with pytest.raises(ValidationError) as err:
        nw.normalize_params(only_hosts, "10.78.0.1/24")
    assert err.value.option == "dhcp_hosts[0].ip" and "outside 10.78.0.0/24" in str(err.value)
    with pytest.raises(ValidationError):
        nw.normalize_params(only_hosts)  # a new network: its address must be given
