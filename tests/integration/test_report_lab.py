"""playbooks/report.yml on the lab: the session guest runs a small stack, the
report is written as JSON, Markdown and HTML, its numbers are checked against
what libvirt and the guest's Docker engine say about the same VM and
containers, and the HTML page is opened in a real headless Chromium.
"""
import json
import os
import sys

import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import libvirt
import pytest
from chromium import render_page  # tests/integration/chromium.py

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "report.yml")
ARCHIVE = "/run/hybridops-lab/lab-images.tar"
IMAGE = "hybridops/busybox:lab"
STACK = "hybridops-report"
MEMBERS = {
    # name -> memory limit (None: no limit)
    "hybridops-report-a": "64m",
    "hybridops-report-b": None,
}
LIMIT_MIB = {"64m": 64}


def _stack_tasks(state="present"):
    tasks = []
    if state == "present":
        tasks += [
            {"ansible.builtin.copy": {"src": ARCHIVE, "dest": "/var/tmp/hybridops-report-images.tar", "mode": "0600"}},
            {"hybridops.fleet.container_image": {
                "name": IMAGE, "source": "load", "load_path": "/var/tmp/hybridops-report-images.tar"}},
        ]
    members = []
    for name, limit in sorted(MEMBERS.items()):
        member = {"name": name, "image": IMAGE, "command": lab.exit_on_term("sleep 86400"),
                  "restart_policy": "no"}
        if limit:
            member["memory"] = limit
        members.append(member)
    tasks.append({"hybridops.fleet.container_stack": {"name": STACK, "state": state, "containers": members}})
    if state == "absent":
        tasks.append({"ansible.builtin.file": {"path": "/var/tmp/hybridops-report-images.tar", "state": "absent"}})
    return tasks


@pytest.fixture(scope="module")
def report_stack(lab_guest, ansible):
    name = lab_guest["name"]
    try:
        results = ansible.run_tasks(_stack_tasks(), hosts="lab_guests", inventory=lab_guest["inventory"])[name]
        assert not any(r.get("failed") for r in results), json.dumps(results, indent=1)[-4000:]
        yield
    finally:
        ansible.run_tasks(_stack_tasks("absent"), hosts="lab_guests", inventory=lab_guest["inventory"])


@pytest.fixture(scope="module")
def inventory(lab_guest, tmp_path_factory):
    """The guest's inventory plus a localhost that runs this venv's Python (libvirt-python)."""
    path = tmp_path_factory.mktemp("report-inventory") / "hosts.ini"
    with open(lab_guest["inventory"]) as handle:
        text = handle.read()
    path.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n\n%s" % (sys.executable, text))
    return str(path)


def _vars(dest):
    return {"fleet_hosts": "lab_guests", "fleet_report_uris": ["qemu:///system"], "fleet_report_dest": str(dest)}


def test_report_matches_libvirt_and_docker(lab_guest, ansible, report_stack, inventory, tmp_path):
    dest = tmp_path / "report"
    recap, out = ansible.run_playbook(PLAYBOOK, inventory, extra_vars=_vars(dest))
    assert recap[lab_guest["name"]]["failed"] == 0 and recap["localhost"]["failed"] == 0, out
    assert recap[lab_guest["name"]]["changed"] == 0, out  # looking inside a VM changes nothing there
    for ext in ("json", "md", "html"):
        assert (dest / ("fleet-report." + ext)).stat().st_size > 0, ext
    report = json.loads((dest / "fleet-report.json").read_text())
    assert report["schema"] == "hybridops.fleet/report/v1"

    # the hypervisor and the VM as libvirt reports them
    conn = libvirt.open("qemu:///system")
    try:
        node = conn.getInfo()
        dom = conn.lookupByName(lab_guest["name"])
        _state, max_kib, _mem_kib, vcpus, _cpu_time = dom.info()
        domain_names = sorted(d.name() for d in conn.listAllDomains(0))
    finally:
        conn.close()
    hypervisors = {h["uri"]: h for h in report["hypervisors"]}
    assert hypervisors["qemu:///system"]["cpus"] == node[2]
    assert hypervisors["qemu:///system"]["memory_mib"] == node[1]
    vms = {vm["name"]: vm for vm in report["vms"]}
    # the lab's own guests (other domains, e.g. a bench's, may come and go meanwhile)
    assert sorted(n for n in vms if n.startswith(lab.GUEST_PREFIX)) == [
        n for n in domain_names if n.startswith(lab.GUEST_PREFIX)]
    vm = vms[lab_guest["name"]]
    assert vm["memory_mib"] == max_kib // 1024 and vm["vcpus"] == vcpus
    assert vm["state"] == "running" and vm["ip"] == lab_guest["ip"]

    # the containers as the guest's engine reports them (docker inspect, not our modules)
    # raw: Ansible would template docker's Go-template braces
    fmt = "{% raw %}{{.Name}} {{.State.Status}} {{.HostConfig.Memory}} {{.Config.Image}}{% endraw %}"
    inspect = ansible.run_tasks([{"ansible.builtin.command": {"argv": ["docker", "inspect", "--format", fmt]
                                                              + sorted(MEMBERS)}}],
                                hosts="lab_guests", inventory=lab_guest["inventory"])[lab_guest["name"]][0]
    assert not inspect.get("failed"), inspect
    engine = {}
    for line in inspect["stdout_lines"]:
        cname, status, memory, image = line.split()
        engine[cname.lstrip("/")] = {"state": status, "memory_limit_mib": int(memory) // 1048576 or None,
                                     "image": image}
    reported = {c["name"]: c for c in vm["containers"] if c["name"] in MEMBERS}
    assert sorted(reported) == sorted(engine)
    for cname, facts in engine.items():
        assert reported[cname]["state"] == facts["state"] == "running", reported[cname]
        assert reported[cname]["image"] == facts["image"] == IMAGE
        assert reported[cname]["memory_limit_mib"] == facts["memory_limit_mib"] == LIMIT_MIB.get(MEMBERS[cname])
        assert reported[cname]["memory_used_mib"] is not None and reported[cname]["memory_used_mib"] >= 0
    assert len(vm["containers"]) >= len(MEMBERS)

    # the page renders in a real browser, with a chart and this VM's row
    page = render_page(str(dest / "fleet-report.html"), str(tmp_path / "chromium"))
    assert 'data-vm="%s"' % lab_guest["name"] in page.dom
    assert "<svg" in page.dom

    # check mode predicts without writing: nothing to write when the files are current is not
    # asserted (live usage moves between runs); a new destination is predicted and not created
    fresh = tmp_path / "never-written"
    recap, out = ansible.run_playbook(PLAYBOOK, inventory, extra_vars=_vars(fresh), check=True)
    assert recap["localhost"]["failed"] == 0 and recap["localhost"]["changed"] == 1, out
    assert not fresh.exists()
