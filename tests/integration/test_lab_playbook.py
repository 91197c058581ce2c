"""The main job end to end: playbooks/lab.yml provisions two VMs, makes them
container hosts and deploys the demo; a second run changes nothing; the demo
answers; teardown.yml leaves no domain or volume behind."""
import json
import os
import sys
import urllib.request

import lab
import libvirt
import pytest

TEST_GROUP = "own_guests"  # boots two guests of its own (conftest.py: module_group)
VMS = ["hybridops-it-lab-1", "hybridops-it-lab-2"]


@pytest.fixture(scope="module")
def lab_run(lab_env, tmp_path_factory):
    image = lab_env.image()
    facts_file = os.path.join(lab.RUN_DIR, "image.json")
    archive = os.path.join(lab.RUN_DIR, "lab-images.tar")
    lab.build_local_images(archive=archive)
    workdir = tmp_path_factory.mktemp("labplay")
    inventory = workdir / "controller.ini"
    inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    extra = {"fleet_vms": [{"name": name} for name in VMS], "lab_images_archive": archive}
    with open(facts_file) as handle:
        extra.update(json.load(handle))
    assert extra["ssh_key"] == image.ssh_key
    yield {"inventory": str(inventory), "extra": extra}
    conn = libvirt.open(lab_env.libvirt_uri)
    for name in VMS:  # teardown.yml is under test; make sure nothing stays even when it fails
        try:
            dom = conn.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        except libvirt.libvirtError:
            pass
    conn.close()


def playbook(name):
    return os.path.join(lab.REPO, "playbooks", name)


def test_lab_playbook_converges_is_idempotent_serves_and_tears_down(lab_run, ansible, lab_env):
    recap, out = ansible.run_playbook(playbook("lab.yml"), lab_run["inventory"], extra_vars=lab_run["extra"])
    assert set(VMS) <= set(recap), out[-3000:]
    assert all(counts["failed"] == 0 and counts["unreachable"] == 0 for counts in recap.values()), out[-5000:]

    recap, out = ansible.run_playbook(playbook("lab.yml"), lab_run["inventory"], extra_vars=lab_run["extra"])
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in recap.values()), out[-5000:]

    conn = libvirt.open(lab_env.libvirt_uri)
    try:
        for name in VMS:
            ip = lab.lease_ip(conn, conn.lookupByName(name))
            with urllib.request.urlopen("http://%s:8080/cgi-bin/index.cgi" % ip, timeout=20) as response:
                body = response.read().decode()
            assert "hybridops demo-web" in body and '"status": "ok"' in body, body
    finally:
        conn.close()

    recap, out = ansible.run_playbook(playbook("teardown.yml"), lab_run["inventory"], extra_vars=lab_run["extra"])
    assert recap["localhost"]["failed"] == 0, out[-3000:]
    conn = libvirt.open(lab_env.libvirt_uri)
    try:
        names = [dom.name() for dom in conn.listAllDomains(0)]
        pool = conn.storagePoolLookupByName(lab_run["extra"]["pool"])
        lab.refresh_pool(pool)
        volumes = pool.listVolumes()
    finally:
        conn.close()
    assert not set(VMS) & set(names), names
    assert not [v for v in volumes if v.startswith(tuple(VMS))], volumes
    assert lab_run["extra"]["volume"] in volumes  # the base volume is kept
