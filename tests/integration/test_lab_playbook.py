"""The main job end to end: playbooks/lab.yml provisions two VMs, makes them
container hosts and deploys the demo (demo-web behind HAProxy on its fixed port);
a second run changes nothing; the demo answers; playbooks/rollout.yml rolls
demo-web out across both VMs one at a time under a bounded HTTP client loop (a
second VM whose new version never gets healthy stops the fleet rollout, the fixed
rerun finishes it, a rollback to v1 needs no registry, its rerun changes
nothing), with no failed request; teardown.yml leaves no domain or volume behind."""
import json
import os
import sys
import urllib.request

import lab
import libvirt
import pytest
import yaml
from http_load import Load

# boots two guests of its own; the longest module, run in the chain that otherwise ends first (conftest.py)
TEST_GROUP = "fleet_lab"
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
        ips = dict((name, lab.lease_ip(conn, conn.lookupByName(name))) for name in VMS)
    finally:
        conn.close()
    for ip in ips.values():
        # demo-web through HAProxy on the fixed port, talking to demo-api on the stack's network
        with urllib.request.urlopen("http://%s:8080/cgi-bin/index.cgi" % ip, timeout=20) as response:
            body = response.read().decode()
        assert "hybridops demo-web" in body and '"status": "ok"' in body, body

    fleet_rollouts(ansible, lab_run, ips)

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


def fleet_rollouts(ansible, lab_run, ips):
    """playbooks/rollout.yml over the two VMs, in batches of one, each run under an HTTP loop on both VMs."""
    workdir = os.path.dirname(lab_run["inventory"])
    inventory = os.path.join(workdir, "vms.ini")
    with open(inventory, "w") as handle:
        handle.write("[fleet_vms]\n" + "".join(
            "%s ansible_host=%s ansible_user=root ansible_ssh_private_key_file=%s ansible_python_interpreter=/usr/bin/python3"
            " ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
            % (name, ip, lab_run["extra"]["ssh_key"]) for name, ip in ips.items()))
    # the lab's own service definition, with the image and container options a run chooses
    with open(playbook("lab.yml")) as handle:
        service = yaml.safe_load(handle)[0]["vars"]["container_deploy_proxy_services"][0]
    never_healthy = dict(service["container"], healthcheck={"test": ["CMD", "false"], "interval": "2s", "retries": 1})
    summary_path = os.path.join(workdir, "rollout.json")
    first, second = VMS

    def run(version=1, break_host="", rollback=None, summary=True, configure_proxy=False):
        item = dict(service, container="{{ broken if inventory_hostname == (break_host | default('')) else normal }}")
        if rollback:
            item.pop("image")
            item["rollback"] = rollback
        # HAProxy is configured by lab.yml (twice: made, then unchanged) and by the last run here (unchanged after
        # the rollouts: no handler); the runs between only roll out, as fleet_rollout_configure_proxy=false lets
        # a user do: the three proxy tasks cost a serial host about a minute per run on a loaded TCG guest
        extra = {"container_deploy_proxy_services": [item], "normal": service["container"], "broken": never_healthy,
                 "fleet_rollout_batch": 1, "lab_demo_web_version": version, "break_host": break_host,
                 "fleet_rollout_configure_proxy": configure_proxy}
        if summary:
            extra["fleet_rollout_summary_path"] = summary_path
        # 20 requests a second per VM: enough to see any gap, not so many that the client loop itself starves the
        # TCG guests; a guest busy starting a container may answer a request seconds late (slowest is printed)
        with Load("http://%s:8080/" % ips[first], interval=0.05, timeout=30) as load_first, \
                Load("http://%s:8080/" % ips[second], interval=0.05, timeout=30) as load_second:
            recap, out = ansible.run_playbook(playbook("rollout.yml"), inventory, extra_vars=extra)
        result = None
        if summary:
            with open(summary_path) as handle:
                result = json.load(handle)
        return recap, out, result, {first: load_first, second: load_second}

    v1, v2 = "hybridops/demo-web:1", "hybridops/demo-web:2"
    # v2 everywhere, but the second VM's new container never gets healthy: the first VM runs v2, the second v1
    recap, out, summary, loads = run(version=2, break_host=second)
    assert "the rollout failed on %s" % second in out, out[-5000:]
    assert summary["hosts"][first]["status"] == "rolled out" and summary["hosts"][first]["services"] == {"demo-web": v2}
    assert summary["hosts"][second]["status"] == "failed" and summary["hosts"][second]["services"] == {"demo-web": v1}
    assert "health gate failed" in summary["hosts"][second]["reason"], summary
    assert len(summary["hosts"][second]["containers"]) == 1, summary  # no container of the failed version left
    assert summary["versions"] == {"demo-web": {v2: [first], v1: [second]}}, summary
    for name, load in loads.items():
        assert load.errors == [], (name, load.errors[:5])
    assert len(loads[first].bodies) >= 500, len(loads[first].bodies)
    assert loads[first].versions() == ["hybridops demo-web v1", "hybridops demo-web v2"], loads[first].versions()
    assert loads[second].versions() == ["hybridops demo-web v1"], loads[second].versions()

    # fixed: the rerun finishes the fleet (the first VM is already there)
    recap, out, summary, loads = run(version=2)
    assert all(counts["failed"] == 0 for counts in recap.values()), out[-5000:]
    assert [summary["hosts"][n]["status"] for n in VMS] == ["unchanged", "rolled out"], summary
    assert all(not load.errors for load in loads.values()), [load.errors[:5] for load in loads.values()]
    assert loads[second].versions() == ["hybridops demo-web v1", "hybridops demo-web v2"], loads[second].versions()

    # back to v1 from the image each VM kept (the lab has no registry), then the rerun changes nothing: no proxy
    # reload, no container touched
    recap, out, summary, loads = run(rollback=v1)
    assert all(counts["failed"] == 0 for counts in recap.values()), out[-5000:]
    assert summary["versions"] == {"demo-web": {v1: list(VMS)}}, summary
    for load in loads.values():
        assert load.errors == [] and load.versions() == ["hybridops demo-web v2", "hybridops demo-web v1"], (
            load.errors[:5], load.versions())
    # (without the summary file, which changes with the statuses; the printed summary says it)
    recap, out, _summary, loads = run(rollback=v1, summary=False, configure_proxy=True)
    assert all(counts["changed"] == 0 and counts["failed"] == 0 for counts in recap.values()), out[-5000:]
    assert "RUNNING HANDLER" not in out and "Write the HAProxy configuration" in out
    assert all("%s: unchanged (demo-web %s)" % (name, v1) in out for name in VMS), out[-5000:]
    assert all(not load.errors and load.versions() == ["hybridops demo-web v1"] for load in loads.values())
