"""The hybridops.fleet.libvirt inventory on an estate it did not create: VMs with no metadata of ours.

Two kinds of real libvirt, neither boots anything:
- libvirt's test driver loading node files (test:///PATH.xml): each file is a hypervisor whose domains are
  running or shut off as the file says, so states and two hypervisors holding a VM of the same name are
  tested in the ansible-inventory process itself;
- the lab's libvirtd, with domains defined from hand-written XML (titles, descriptions, another tool's
  metadata namespace), reached through two URIs (qemu:///system and qemu+unix:///system) named as two
  hypervisors.
"""
import json
import os

import pytest
from inventory_support import ansible_inventory

libvirt = pytest.importorskip("libvirt")

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
NETWORK = os.environ.get("HYBRIDOPS_LIBVIRT_NETWORK", "default")
# the conn fixture (conftest.py) removes what carries the prefix, before and after this module
PREFIX = os.environ.get("HYBRIDOPS_IT_PREFIX", "hybridops-it-") + "estate-"
CMDB = "http://cmdb.example.com/xmlns/1"
OSINFO = "http://libosinfo.org/xmlns/libvirt/domain/1.0"

NODE_DOMAIN = """<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>{name}</name>{title}
    <metadata><cmdb:record xmlns:cmdb='{cmdb}'><cmdb:env>{env}</cmdb:env></cmdb:record></metadata>
    <memory>65536</memory><os><type>hvm</type></os>
    <test:runstate>{runstate}</test:runstate>
  </domain>"""


def node_file(path, domains):
    """A test-driver hypervisor: (name, env, running, title) per domain."""
    body = "".join(NODE_DOMAIN.format(name=name, env=env, runstate=1 if running else 5, cmdb=CMDB,
                                      title="<title>%s</title>" % title if title else "")
                   for name, env, running, title in domains)
    path.write_text("<node>%s</node>" % body)
    return "test://" + str(path)


def inventory(tmp_path, config, expect_ok=True):
    path = tmp_path / "estate.libvirt.yml"
    path.write_text(json.dumps(dict({"plugin": "hybridops.fleet.libvirt"}, **config)))
    return ansible_inventory(path, expect_ok=expect_ok)


def hosts(data, group="libvirt"):
    return set(data.get(group, {}).get("hosts", []))


@pytest.fixture
def two_test_hypervisors(tmp_path):
    hv1 = node_file(tmp_path / "hv1.xml", [("web1", "prod", True, "Web 1"), ("db1", "prod", True, None)])
    hv2 = node_file(tmp_path / "hv2.xml", [("web1", "test", False, "Web 1 (copy)"), ("batch1", "test", True, None)])
    return hv1, hv2


def test_same_name_on_two_hypervisors_fails_or_is_qualified(tmp_path, two_test_hypervisors):
    hv1, hv2 = two_test_hypervisors
    config = {"uris": [hv1, hv2], "hypervisor_names": {hv1: "hv1", hv2: "hv2"}}
    error = inventory(tmp_path, config, expect_ok=False)
    assert "host_names" in error and "'web1'" in error and hv1 in error and hv2 in error and "qualified" in error

    data = inventory(tmp_path, dict(config, host_names="qualified"))
    assert hosts(data) == {"web1@hv1", "db1@hv1", "web1@hv2", "batch1@hv2"}
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["web1@hv1"]["fleet_vm"]["state"] == "running" and hostvars["web1@hv2"]["fleet_vm"]["state"] == "stopped"
    assert hostvars["web1@hv2"]["fleet_vm"]["uri"] == hv2 and hostvars["web1@hv2"]["fleet_vm"]["hypervisor"] == "hv2"
    # no address from libvirt: reached by the domain name, as with host_names=name
    assert hostvars["web1@hv1"]["ansible_host"] == "web1"
    assert hosts(data, "hypervisor_hv1") == {"web1@hv1", "db1@hv1"}

    # both test: URIs are named "test" unless named: qualified names would still collide
    error = inventory(tmp_path, {"uris": [hv1, hv2], "host_names": "qualified"}, expect_ok=False)
    assert "'web1@test'" in error

    # a hypervisor name that is not one of the URIs is a mistake
    error = inventory(tmp_path, {"uris": [hv1], "hypervisor_names": {hv2: "hv2"}}, expect_ok=False)
    assert "hypervisor_names" in error


def test_select_by_hypervisor_state_title_and_metadata(tmp_path, two_test_hypervisors):
    hv1, hv2 = two_test_hypervisors
    base = {"uris": [hv1, hv2], "hypervisor_names": {hv1: "hv1", hv2: "hv2"}, "host_names": "qualified"}
    cases = [
        ({"hypervisors": ["hv2"]}, {"web1@hv2", "batch1@hv2"}),
        ({"states": ["running"]}, {"web1@hv1", "db1@hv1", "batch1@hv2"}),
        ({"names": ["web*"], "states": ["stopped"]}, {"web1@hv2"}),
        ({"titles": ["Web 1*"]}, {"web1@hv1", "web1@hv2"}),
        ({"titles": ["*copy*"]}, {"web1@hv2"}),
        ({"metadata": [{"namespace": CMDB, "path": "record/env", "value": "prod"}]}, {"web1@hv1", "db1@hv1"}),
        ({"metadata": [{"namespace": CMDB, "path": "record/env", "value": "t*"}], "hypervisors": ["hv1"]}, set()),
        ({"metadata": [{"namespace": OSINFO}]}, set()),
    ]
    for filters, expected in cases:
        assert hosts(inventory(tmp_path, dict(base, filters=filters))) == expected, filters
    # the hypervisor filter drops a URI before it is opened: a URI that cannot be opened is not an error then
    missing = "test:///no/such/file.xml"
    data = inventory(tmp_path, dict(base, uris=[hv1, missing], hypervisor_names={hv1: "hv1", missing: "gone"},
                                    filters={"hypervisors": ["hv1"]}))
    assert hosts(data) == {"web1@hv1", "db1@hv1"}
    error = inventory(tmp_path, dict(base, filters={"metadata": [{"namespace": CMDB, "value": "prod"}]}), expect_ok=False)
    assert "filters.metadata[0].value" in error


# --- the lab's libvirtd: VMs defined from hand-written XML, nothing of ours on them --------------------------

LEGACY_XML = """<domain type='qemu'>
  <name>{name}</name>
  {title}
  <description>{description}</description>
  <metadata>{metadata}</metadata>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'><source network='{network}'/><model type='e1000'/></interface>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>"""
LEGACY = {
    "app-1": ("App server 1", "owner=team-a env=prod",
              "<cmdb:record xmlns:cmdb='%s'><cmdb:env>prod</cmdb:env><cmdb:service>shop</cmdb:service>"
              "<cmdb:ssh user='deploy'/></cmdb:record>" % CMDB),
    "app-2": ("App server 2", "owner=team-b env=test",
              "<cmdb:record xmlns:cmdb='%s'><cmdb:env>test</cmdb:env><cmdb:service>shop</cmdb:service>"
              "</cmdb:record>" % CMDB),
    "db-1": (None, "database, owner=team-a",
             "<libosinfo:libosinfo xmlns:libosinfo='%s'><libosinfo:os id='http://debian.org/debian/12'/>"
             "</libosinfo:libosinfo>" % OSINFO),
}


@pytest.fixture(scope="module")
def legacy_domains(conn):
    for short, (title, description, metadata) in LEGACY.items():
        conn.defineXML(LEGACY_XML.format(name=PREFIX + short, title="<title>%s</title>" % title if title else "",
                                         description=description, metadata=metadata, network=NETWORK))
    return dict((short, PREFIX + short) for short in LEGACY)


def test_legacy_vms_selected_grouped_and_given_users(tmp_path, legacy_domains):
    app1, app2, db1 = legacy_domains["app-1"], legacy_domains["app-2"], legacy_domains["db-1"]
    mine = {"names": [PREFIX + "*"]}
    config = {
        "uris": [URI], "filters": mine,
        "keyed_groups": [
            {"key": "fleet_vm.metadata['%s'].record.service" % CMDB, "prefix": "service"},
            {"key": "fleet_vm.description_vars.owner", "prefix": "owner"},
            {"key": "fleet_vm.metadata['%s'].libosinfo.os['@id'] | default(omit)" % OSINFO, "prefix": "os",
             "default_value": "unknown"},
        ],
        "groups": {"estate_prod": "fleet_vm.description_vars.env | default('') == 'prod'"},
        "compose": {
            "ansible_user": "fleet_vm.metadata['%s'].record.ssh['@user'] | default('debian')" % CMDB,
            "ansible_become": "fleet_vm.metadata['%s'].record.ssh['@user'] is defined" % CMDB,
        },
    }
    data = inventory(tmp_path, config)
    hostvars = data["_meta"]["hostvars"]
    assert hosts(data) == {app1, app2, db1}
    vm = hostvars[app1]["fleet_vm"]
    assert vm["managed"] is False and vm["adopted"] is False and vm["tags"] == []
    assert vm["title"] == "App server 1" and vm["description_vars"] == {"owner": "team-a", "env": "prod"}
    assert vm["metadata"] == {CMDB: {"record": {"env": "prod", "service": "shop", "ssh": {"@user": "deploy"}}}}
    assert hostvars[db1]["fleet_vm"]["title"] is None
    assert hosts(data, "service_shop") == {app1, app2}
    assert hosts(data, "owner_team_a") == {app1, db1} and hosts(data, "owner_team_b") == {app2}
    assert hosts(data, "estate_prod") == {app1}
    assert any(db1 in group.get("hosts", []) for name, group in data.items() if name.startswith("os_http"))
    # the connection user per VM: from its metadata, else a default; become where a login user is recorded
    assert hostvars[app1]["ansible_user"] == "deploy" and hostvars[app1]["ansible_become"] is True
    assert hostvars[app2]["ansible_user"] == "debian" and hostvars[app2]["ansible_become"] is False

    cases = [
        ({"names": [PREFIX + "app-*"]}, {app1, app2}),
        ({"titles": ["App server*"]}, {app1, app2}),
        ({"descriptions": ["*owner=team-a*"]}, {app1, db1}),
        ({"metadata": [{"namespace": CMDB, "path": "record/env", "value": "prod"}]}, {app1}),
        ({"metadata": [{"namespace": CMDB, "path": "record/ssh/@user"}]}, {app1}),
        ({"metadata": [{"namespace": OSINFO, "path": "libosinfo/os/@id", "value": "*debian*"}]}, {db1}),
        ({"states": ["stopped"], "managed": False}, {app1, app2, db1}),
        ({"states": ["running"]}, set()),
    ]
    for filters, expected in cases:
        assert hosts(inventory(tmp_path, {"uris": [URI], "filters": dict(mine, **filters)})) == expected, filters


def test_one_daemon_through_two_uris_is_two_hypervisors(tmp_path, legacy_domains):
    other = URI.replace("qemu:", "qemu+unix:", 1)
    config = {"uris": [URI, other], "hypervisor_names": {URI: "hv-a", other: "hv-b"},
              "filters": {"names": [PREFIX + "app-*"]}}
    error = inventory(tmp_path, config, expect_ok=False)
    assert "host_names" in error and "qualified" in error
    data = inventory(tmp_path, dict(config, host_names="qualified"))
    app1 = legacy_domains["app-1"]
    assert hosts(data) == set("%s@%s" % (legacy_domains[s], hv) for s in ("app-1", "app-2") for hv in ("hv-a", "hv-b"))
    assert hosts(data, "hypervisor_hv_a") == {legacy_domains["app-1"] + "@hv-a", legacy_domains["app-2"] + "@hv-a"}
    hostvars = data["_meta"]["hostvars"]
    assert hostvars[app1 + "@hv-b"]["fleet_vm"]["uri"] == other
    assert hostvars[app1 + "@hv-b"]["ansible_host"] == app1
    data = inventory(tmp_path, dict(config, host_names="qualified", filters={"names": [PREFIX + "*"], "hypervisors": ["hv-b"]}))
    assert all(host.endswith("@hv-b") for host in hosts(data)) and len(hosts(data)) == 3


def without_uuids(data):
    data = json.loads(json.dumps(data))
    for hostvars in data["_meta"]["hostvars"].values():
        hostvars["fleet_vm"].pop("uuid")
    return data


def test_cache_over_several_hypervisors_gives_what_a_listing_gives(tmp_path):
    # three hypervisors listed concurrently; the cached run must give exactly the hosts, groups and facts of a
    # plain listing, come from the cache when a hypervisor changed, and read the change after --flush-cache
    uris = []
    for i in range(3):
        domains = [("app%d" % i, "prod", True, "App %d" % i), ("batch%d" % i, "test", False, None)]
        uris.append(node_file(tmp_path / ("hv%d.xml" % i), domains))
    config = {"uris": uris, "hypervisor_names": dict((uri, "hv%d" % i) for i, uri in enumerate(uris)),
              "host_names": "qualified"}
    cached = dict(config, cache=True, cache_plugin="ansible.builtin.jsonfile",
                  cache_connection=str(tmp_path / "cache"), cache_timeout=600)
    listed = inventory(tmp_path, config)
    assert hosts(listed) == set("%s%d@hv%d" % (n, i, i) for i in range(3) for n in ("app", "batch"))
    filled = inventory(tmp_path, cached)  # fills the cache
    # the test driver gives a domain without <uuid> a new one on every connection: all else is the same
    assert without_uuids(filled) == without_uuids(listed)
    node_file(tmp_path / "hv1.xml", [("app1", "prod", True, "App 1")])  # batch1 is gone from hv1
    from_cache = inventory(tmp_path, cached)
    assert from_cache == filled, "the second run should come from the cache, unchanged (uuids included)"
    assert from_cache["_meta"]["hostvars"]["app2@hv2"]["fleet_vm"]["uri"] == uris[2]
    path = tmp_path / "estate.libvirt.yml"
    path.write_text(json.dumps(dict({"plugin": "hybridops.fleet.libvirt"}, **cached)))
    flushed = ansible_inventory(path, "--flush-cache")
    assert "batch1@hv1" not in hosts(flushed) and "batch0@hv0" in hosts(flushed)
    assert inventory(tmp_path, cached) == flushed  # the cache now holds the new listing
