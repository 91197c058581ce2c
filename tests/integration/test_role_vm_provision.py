"""vm_provision role on the lab's libvirtd with VMs that do not boot (states present and stopped).

The role's default wait (SSH) only applies to VMs that end up running: a VM
provisioned ``present`` or ``stopped`` used to fail with "waiting needs a
running VM". Define-only, so nothing boots; a second run changes nothing.
"""
import pytest
import yaml

libvirt = pytest.importorskip("libvirt")

URI = "qemu:///system"
POOL = "hybridops"
PREFIX = "hybridops-it-prov-"  # the conn fixture removes what carries it, before and after this module
BASE = PREFIX + "base.qcow2"  # the base_volume fixture (conftest.py) makes it


def _play(tmp_path, state, vms):
    play = [{
        "name": "Provision without booting",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "roles": [{"role": "hybridops.fleet.vm_provision", "vars": {
            "vm_provision_uri": URI,
            "vm_provision_state": state,
            "vm_provision_defaults": {"pool": POOL, "memory": "128MiB", "vcpus": 1,
                                      "disks": [{"name": "root", "base": BASE, "size": "1GiB"}],
                                      "networks": [{"network": "default"}]},
            "vm_provision_vms": vms,
        }}],
        "post_tasks": [{"name": "What the role recorded", "ansible.builtin.debug": {"var": "vm_provision_results"}}],
    }]
    path = tmp_path / ("provision-%s.yml" % state)
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return str(path)


def test_present_and_stopped_vms_are_not_waited_for(ansible, conn, base_volume, tmp_path):
    vms = [{"name": PREFIX + "a"}, {"name": PREFIX + "b", "state": "stopped"}]
    playbook = _play(tmp_path, "present", vms)
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n")
    recap, out = ansible.run_playbook(playbook, str(inventory))
    assert recap["localhost"]["failed"] == 0, out
    assert "waiting needs a running VM" not in out
    for name in (PREFIX + "a", PREFIX + "b"):
        dom = conn.lookupByName(name)
        assert not dom.isActive(), name
    assert recap["localhost"]["changed"] > 0, out
    # idempotent: the same spec again changes nothing
    recap, out = ansible.run_playbook(playbook, str(inventory))
    assert recap["localhost"]["failed"] == 0 and recap["localhost"]["changed"] == 0, out
    # an explicit wait on a VM that will not run is still refused, naming the option
    bad = _play(tmp_path, "present", [{"name": PREFIX + "c", "wait": {"ssh": True}}])
    recap, out = ansible.run_playbook(bad, str(inventory))
    assert recap["localhost"]["failed"] == 1, out
    assert "wait" in out and "running" in out
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName(PREFIX + "c")
