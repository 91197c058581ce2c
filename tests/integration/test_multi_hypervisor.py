"""One fleet over three hypervisors: the lab's libvirtd (qemu:///system) and the lab's two remote hypervisors
(tests/lab/hypervisors.py: libvirtd + sshd in namespaces of their own, reached as qemu+ssh://), plus a fourth URI
whose host is down.

One playbook provisions define-only VMs on the three with libvirt_vms (one name on two hypervisors: a name
clash), reads them back through the libvirt inventory (host_names qualified, after refresh_inventory), writes
the fleet report over the three, and, in its teardown phase, removes everything with playbooks/teardown.yml
selecting the inventory's group. Every run has the down hypervisor in its inventory and report: it is left out
with a warning naming it, and the rest is listed. The provision and report rerun changes nothing, as does the
teardown rerun. ansible-inventory shows the name clash under host_names=name failing with both URIs, and
strict=true failing on the down hypervisor.

Group `host` (the default): nothing boots, the remote hypervisors start in about 10 s.
"""
import json
import os
import re
import sys

import hypervisors  # tests/lab/hypervisors.py (conftest puts tests/lab on sys.path)
import lab
import pytest
import yaml
from conftest import libvirt_cleanup
from inventory_support import ansible_inventory

sys.path.insert(0, os.path.join(lab.REPO, ".collections"))
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import waiters  # noqa: E402

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

URI = "qemu:///system"
POOL = "hybridops"
NETWORK = "default"
PREFIX = "hybridops-hv-it-"  # the conn fixture (conftest.py) removes what carries it on the lab's libvirtd
BASE = PREFIX + "base.qcow2"  # the base_volume fixture makes it there; the hypervisors fixture on the others
TEARDOWN = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "teardown.yml")
TAG = "hv-it"
# hypervisor -> the VMs defined on it; web1 is on two of them
LAYOUT = {"lab": ["web1", "db1"], "hv1": ["web1", "app1"], "hv2": ["app2"]}


@pytest.fixture(scope="module")
def fleet(remote_hypervisors, conn, base_volume):
    """{"uris": {hypervisor name: URI}, "conns": {name: libvirt connection}, "down": URI}; the remote
    hypervisors get the base volume, and lose what carries PREFIX before and after the module."""
    uris, conns = {"lab": URI}, {"lab": conn}
    for index, hv in enumerate(remote_hypervisors[:2]):
        name = "hv%d" % (index + 1)
        uris[name] = hv["uri"]
        conns[name] = libvirt.open(hv["local_uri"])  # the harness's way in, through the socket: not under test
        libvirt_cleanup(conns[name], PREFIX, POOL)
        conns[name].storagePoolLookupByName(POOL).createXML(
            "<volume><name>%s</name><capacity unit='bytes'>%d</capacity><target><format type='qcow2'/></target>"
            "</volume>" % (BASE, 64 * 1024 ** 2), 0)
    yield {"uris": uris, "conns": conns, "down": hypervisors.unreachable_uri()}
    for name in ("hv1", "hv2"):
        libvirt_cleanup(conns[name], PREFIX, POOL)
        conns[name].close()


def expected_hosts():
    return sorted("%s%s@%s" % (PREFIX, vm, hv) for hv, vms in LAYOUT.items() for vm in vms)


def vm_items(fleet):
    return [{"name": PREFIX + vm, "uri": fleet["uris"][hv], "pool": POOL, "memory": "128MiB", "vcpus": 1,
             "state": "present", "tags": [TAG], "disks": [{"name": "root", "base": BASE, "size": "1GiB"}],
             "networks": [{"network": NETWORK}]}
            for hv, vms in LAYOUT.items() for vm in vms]


def inventory_config(fleet, down=True, **over):
    uris = dict(fleet["uris"], **({"hv-down": fleet["down"]} if down else {}))
    config = {"plugin": "hybridops.fleet.libvirt", "uris": list(uris.values()),
              "hypervisor_names": dict((uri, name) for name, uri in uris.items()),
              "host_names": "qualified", "filters": {"names": [PREFIX + "*"]}}
    config.update(over)
    return config


def write_inventory(tmp_path, config):
    path = tmp_path / "fleet.libvirt.yml"
    path.write_text(json.dumps(config))
    return path


def write_playbook(tmp_path, fleet):
    """Provision, inventory, report, then (phase teardown) playbooks/teardown.yml, over the three hypervisors."""
    report_uris = list(fleet["uris"].values()) + [fleet["down"]]
    play = [
        {"name": "Provision the fleet on three hypervisors", "hosts": "localhost", "gather_facts": False,
         "tasks": [{"name": "The phase that provisions", "when": "hv_phase == 'provision'", "block": [
             {"name": "Define the VMs on the three hypervisors",
              "hybridops.fleet.libvirt_vms": {"uri": URI, "vms": vm_items(fleet), "max_workers": 5}},
             {"name": "Read the inventory again", "ansible.builtin.meta": "refresh_inventory"},
             {"name": "The inventory lists every VM on every hypervisor",
              "ansible.builtin.assert": {"that": [
                  "groups['libvirt'] | sort == %s" % json.dumps(expected_hosts()),
                  "groups['hypervisor_hv1'] | sort == %s" % json.dumps(
                      sorted("%s%s@hv1" % (PREFIX, vm) for vm in LAYOUT["hv1"])),
                  "hostvars['%sweb1@hv1'].fleet_vm.uri == '%s'" % (PREFIX, fleet["uris"]["hv1"]),
                  "hostvars['%sweb1@lab'].fleet_vm.uri == '%s'" % (PREFIX, URI),
                  "groups['libvirt'] | map('extract', hostvars, 'fleet_unreachable_hypervisors') | first"
                  " | map(attribute='hypervisor') | list == ['hv-down']"]}},
             {"name": "Report on the three", "ansible.builtin.include_role": {"name": "hybridops.fleet.fleet_report"},
              "vars": {"fleet_report_uris": report_uris, "fleet_report_vm_names": [PREFIX + "*"],
                       "fleet_report_hosts": [], "fleet_report_dest": str(tmp_path / "report"),
                       "fleet_report_basename": "fleet", "fleet_report_formats": ["json", "markdown"],
                       "fleet_report_discover": False}}]}]},
        {"name": "Tear the fleet down", "ansible.builtin.import_playbook": os.path.abspath(TEARDOWN),
         "when": "hv_phase == 'teardown'",
         "vars": {"fleet_uri": URI, "fleet_teardown_group": "libvirt"}},
    ]
    path = tmp_path / "fleet.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return str(path)


def run_fleet(ansible, tmp_path, fleet, phase):
    inventory = write_inventory(tmp_path, inventory_config(fleet))
    recap, out = ansible.run_playbook(write_playbook(tmp_path, fleet), str(inventory), extra_vars={"hv_phase": phase})
    assert recap["localhost"]["failed"] == 0, out[-6000:] + ansible.last_stderr[-3000:]
    # the down hypervisor is left out with a warning naming it, every run
    assert "hypervisor hv-down (%s) is left out" % fleet["down"] in ansible.last_stderr, ansible.last_stderr
    return recap["localhost"], out


def defined(fleet):
    """{hypervisor name: [VM names with PREFIX]} as each libvirtd holds them."""
    return dict((name, sorted(d.name() for d in conn.listAllDomains(0) if d.name().startswith(PREFIX)))
                for name, conn in fleet["conns"].items())


def volumes(fleet):
    result = {}
    for name, conn in fleet["conns"].items():
        pool = conn.storagePoolLookupByName(POOL)
        lab.refresh_pool(pool)
        result[name] = sorted(v for v in pool.listVolumes() if v.startswith(PREFIX) and v != BASE)
    return result


def test_one_playbook_provisions_and_reports_across_three_hypervisors(ansible, fleet, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fleet")
    fleet["tmp"] = tmp_path
    assert defined(fleet) == {"lab": [], "hv1": [], "hv2": []}
    first = run_fleet(ansible, tmp_path, fleet, "provision")[0]
    assert first["changed"] >= 2  # the VMs, the report
    assert defined(fleet) == dict((hv, sorted(PREFIX + vm for vm in vms)) for hv, vms in LAYOUT.items())
    assert volumes(fleet) == dict((hv, sorted(PREFIX + vm + "-root.qcow2" for vm in vms)) for hv, vms in LAYOUT.items())
    # the VMs on the remote hypervisors are defined there, not booted, and not on the lab's libvirtd
    for name in ("hv1", "hv2"):
        assert all(not d.isActive() for d in fleet["conns"][name].listAllDomains(0))
    assert fleet["conns"]["hv2"].getHostname() == "hybridops-hv2"

    report = json.loads((tmp_path / "report" / "fleet.json").read_text())
    assert sorted(h["uri"] for h in report["hypervisors"]) == sorted(fleet["uris"].values())
    assert sorted(h["hostname"] for h in report["hypervisors"] if h["uri"] != URI) == ["hybridops-hv1", "hybridops-hv2"]
    uri_name = dict((uri, name) for name, uri in fleet["uris"].items())
    assert sorted((v["name"], uri_name[v["uri"]]) for v in report["vms"]) == sorted(
        (PREFIX + vm, hv) for hv, vms in LAYOUT.items() for vm in vms)
    by_uri = dict((h["uri"], h) for h in report["hypervisors"])
    assert sorted(by_uri[fleet["uris"]["hv1"]]["vms"]) == sorted(PREFIX + vm for vm in LAYOUT["hv1"])
    assert [u["uri"] for u in report["findings"]["unreachable_hypervisors"]] == [fleet["down"]]
    assert "No route to host" in report["findings"]["unreachable_hypervisors"][0]["error"]
    assert any(fleet["down"] in line and "did not answer" in line for line in report["summary"]), report["summary"]

    # the same playbook again: nothing changes, on any hypervisor or in the report
    again, out = run_fleet(ansible, tmp_path, fleet, "provision")
    assert again["changed"] == 0, out[-6000:]


def test_inventory_names_hosts_per_hypervisor_and_leaves_the_down_one_out(fleet, tmp_path):
    data, stderr = ansible_inventory(write_inventory(tmp_path, inventory_config(fleet)), with_stderr=True)
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == expected_hosts()
    assert "hypervisor hv-down (%s) is left out" % fleet["down"] in stderr, stderr
    for hv, vms in LAYOUT.items():
        assert sorted(data["hypervisor_" + hv]["hosts"]) == sorted("%s%s@%s" % (PREFIX, vm, hv) for vm in vms)
        for vm in vms:
            facts = hostvars["%s%s@%s" % (PREFIX, vm, hv)]["fleet_vm"]
            assert (facts["name"], facts["uri"], facts["hypervisor"], facts["state"]) == (
                PREFIX + vm, fleet["uris"][hv], hv, "stopped")
    # a variable of the group libvirt (ansible-inventory --list puts group variables in each host's)
    for host in expected_hosts():
        unreachable = hostvars[host]["fleet_unreachable_hypervisors"]
        assert [(u["hypervisor"], u["uri"]) for u in unreachable] == [("hv-down", fleet["down"])]
    # the twins are two VMs, not one host: their UUIDs differ
    assert hostvars[PREFIX + "web1@lab"]["fleet_vm"]["uuid"] != hostvars[PREFIX + "web1@hv1"]["fleet_vm"]["uuid"]

    # all three answering: nothing is left out, nothing warned
    data, stderr = ansible_inventory(write_inventory(tmp_path, inventory_config(fleet, down=False)), with_stderr=True)
    assert sorted(data["_meta"]["hostvars"]) == expected_hosts()
    assert all(h["fleet_unreachable_hypervisors"] == [] for h in data["_meta"]["hostvars"].values())
    assert "left out" not in stderr, stderr


def test_name_clash_and_strict_fail_naming_what(fleet, tmp_path):
    # host_names=name: web1 is on the lab's libvirtd and on hv1; the inventory fails naming both URIs
    error = ansible_inventory(write_inventory(tmp_path, inventory_config(fleet, down=False, host_names="name")),
                              expect_ok=False)
    assert "VM '%sweb1' is on" % PREFIX in error, error
    assert URI in error and fleet["uris"]["hv1"] in error and fleet["uris"]["hv2"] not in error, error
    assert "host_names: qualified" in error, error
    # names unique across the hypervisors: host_names=name works
    data = ansible_inventory(write_inventory(tmp_path, inventory_config(
        fleet, down=False, host_names="name", filters={"names": [PREFIX + "app*", PREFIX + "db*"]})))
    assert sorted(data["_meta"]["hostvars"]) == sorted(PREFIX + n for n in ("app1", "app2", "db1"))

    # strict: the down hypervisor fails the inventory, named with its URI
    error = ansible_inventory(write_inventory(tmp_path, inventory_config(fleet, strict=True)), expect_ok=False)
    assert "hypervisor hv-down (%s) did not answer" % fleet["down"] in error, error
    # no hypervisor answering is an error whatever strict says
    error = ansible_inventory(write_inventory(tmp_path, dict(inventory_config(fleet), uris=[fleet["down"]],
                                                             hypervisor_names={fleet["down"]: "hv-down"})),
                              expect_ok=False)
    assert "no hypervisor answered" in error and "hv-down" in error, error


def test_the_fleet_report_fails_on_the_down_hypervisor_with_strict(ansible, fleet, tmp_path):
    play = [{"name": "Report, strict", "hosts": "localhost", "gather_facts": False, "roles": [{
        "role": "hybridops.fleet.fleet_report",
        "vars": {"fleet_report_uris": [URI, fleet["uris"]["hv1"], fleet["down"]], "fleet_report_strict": True,
                 "fleet_report_vm_names": [PREFIX + "*"], "fleet_report_hosts": [],
                 "fleet_report_dest": str(tmp_path / "report")}}]}]
    playbook = tmp_path / "report.yml"
    playbook.write_text(yaml.safe_dump(play))
    hosts = tmp_path / "hosts"
    hosts.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    recap, out = ansible.run_playbook(str(playbook), str(hosts))
    assert recap["localhost"]["failed"] == 1, out[-4000:]
    assert '"msg": "uris[2]: cannot connect to libvirt at %s' % fleet["down"] in out, out[-4000:]
    assert not (tmp_path / "report").exists()


def test_teardown_removes_everything_across_the_three(ansible, fleet):
    tmp_path = fleet["tmp"]
    recap, out = run_fleet(ansible, tmp_path, fleet, "teardown")
    assert recap["changed"] >= 1
    said = re.findall(r'"msg": "removed: (.*)"', out)
    assert len(said) == 1, out[-4000:]
    removed = sorted(said[0].split(", "))
    assert removed == sorted(PREFIX + vm for vms in LAYOUT.values() for vm in vms), out[-3000:]
    assert defined(fleet) == {"lab": [], "hv1": [], "hv2": []}
    assert volumes(fleet) == {"lab": [], "hv1": [], "hv2": []}
    # the base volumes stay (teardown removes what the VMs own)
    for conn in fleet["conns"].values():
        assert BASE in conn.storagePoolLookupByName(POOL).listVolumes()

    again, out = run_fleet(ansible, tmp_path, fleet, "teardown")
    assert again["changed"] == 0, out[-6000:]
    assert "removed: nothing" in out


def test_an_ssh_banner_read_through_the_hypervisor(fleet, remote_hypervisors):
    """wait.ssh_via=hypervisor's path with the harness's real URI (its ssh command wrapper that pins the host
    keys, its key) and a real sshd: `ssh -W` through hv1 to an SSH server as hv1 sees it (hv1's own sshd, the
    one SSH server in its namespace; guests on hv1's NAT network are reached the same way). A URI whose host is
    down gives no banner and no hang."""
    jump = waiters.hypervisor_ssh(fleet["uris"]["hv1"])
    assert jump[0] != "ssh" and "-i" in jump, jump  # the URI's command= and keyfile= are used
    banner = waiters.ssh_banner_via(jump, remote_hypervisors[0]["address"], 22)
    assert banner and banner.startswith("SSH-2.0-OpenSSH"), banner
    assert waiters.ssh_banner_via(waiters.hypervisor_ssh(fleet["down"]), "192.168.122.10", 22, timeout=20) is None
