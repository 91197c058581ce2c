"""The collection's playbooks run through ansible-runner, as AWX / Automation Platform run jobs.

One job imports hybridops.fleet.provision then hybridops.fleet.teardown for a VM that does not boot
(state present), on the lab's libvirtd; the assertions are on the job's events, the way a controller
reads a job: each play and task of ours ran, the module reported what it did, and the job succeeded.
"""
import os

import pytest
import yaml

libvirt = pytest.importorskip("libvirt")
ansible_runner = pytest.importorskip("ansible_runner")

URI = "qemu:///system"
POOL = "hybridops"
PREFIX = "hybridops-it-runner-"  # the conn fixture removes what carries it, before and after this module
BASE = PREFIX + "base.qcow2"  # the base_volume fixture (conftest.py) makes it


def test_provision_then_teardown_as_a_runner_job(conn, base_volume, tmp_path, lab_env):
    vm = PREFIX + "a"
    private = tmp_path / "job"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "inventory" / "hosts").write_text("localhost ansible_connection=local\n")
    (private / "project" / "job.yml").write_text(yaml.safe_dump([
        {"ansible.builtin.import_playbook": "hybridops.fleet.provision"},
        {"ansible.builtin.import_playbook": "hybridops.fleet.teardown"},
    ]))
    extravars = {
        "fleet_uri": URI,
        "fleet_vms": [{"name": vm, "state": "present"}],
        "fleet_vm_defaults": {"pool": POOL, "memory": "128MiB", "vcpus": 1,
                              "disks": [{"name": "root", "base": BASE, "size": "1GiB"}],
                              "networks": [{"network": "default"}]},
    }
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.path.join(
        os.path.dirname(__file__), "..", "..", ".collections")
    job = ansible_runner.run(private_data_dir=str(private), playbook="job.yml", extravars=extravars,
                             envvars={"ANSIBLE_COLLECTIONS_PATH": collections, "ANSIBLE_PIPELINING": "True"},
                             quiet=True)
    events = list(job.events)
    assert job.status == "successful" and job.rc == 0, [e.get("stdout") for e in events][-20:]
    plays = [e["event_data"]["play"] for e in events if e["event"] == "playbook_on_play_start"]
    assert plays == ["Provision the fleet's VMs", "Tear the fleet down"]
    done = [e["event_data"] for e in events if e["event"] == "runner_on_ok"]
    actions = set(d["task_action"] for d in done)
    assert {"hybridops.fleet.libvirt_vms", "ansible.builtin.set_fact"} <= actions, actions
    # the provision job defined the VM (libvirt_vms' per-VM result)...
    provisioned = [d["res"] for d in done if d["task"] == "Provision the VMs concurrently"]
    assert [[(r["vm"]["name"], r["changed"]) for r in p["results"]] for p in provisioned] == [[(vm, True)]], provisioned
    # ...and the teardown removed it
    removed = [d["res"] for d in done if d["task"] == "Remove the VMs concurrently"]
    assert [p["changed_vms"] for p in removed] == [[vm]], removed
    assert job.stats["failures"] == {} and job.stats["ok"].get("localhost")
    with pytest.raises(libvirt.libvirtError):
        conn.lookupByName(vm)
