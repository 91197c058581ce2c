"""playbooks/migrate_plan.yml run for real with ansible-playbook, connection=local, against this machine:
one host that is contacted (vm_discover runs here: on a machine without systemd as PID 1 it fails and the
plan says why; with systemd it finds what runs) and one the inventory knows to be stopped (not contacted).
The plan files are written on the controller; the hosts report no change; --check writes nothing."""
import json
import os
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def run_plan(tmp_path, *extra):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"fleet_vms": {"hosts": {
        "hybridops-mig-here": {"ansible_connection": "local", "ansible_host": "127.0.0.1",
                               "ansible_python_interpreter": sys.executable},
        "hybridops-mig-off": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                              "fleet_vm": {"name": "hybridops-mig-off", "state": "shutoff", "memory": 512}},
    }}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           os.path.join(REPO, "playbooks", "migrate_plan.yml"),
                           "-e", "migrate_plan_dest=%s" % (tmp_path / "plan"), "-e", "migrate_plan_wave_size=5",
                           "-e", "ansible_python_interpreter=" + sys.executable] + list(extra),
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    return output


def recap(output, host):
    line = next(line for line in output.splitlines() if line.startswith(host + " ") and "ok=" in line)
    return dict(part.split("=") for part in line.split(":", 1)[1].split())


def test_plan_written_and_hosts_unchanged(tmp_path):
    output = run_plan(tmp_path)
    # nothing changes on the hosts: discovery only reads
    assert recap(output, "hybridops-mig-here")["changed"] == "0"
    off = recap(output, "hybridops-mig-off")
    assert (off["ok"], off["changed"], off["skipped"]) == ("0", "0", "1")
    plan = json.loads((tmp_path / "plan" / "migration-plan.json").read_text())
    assert plan["schema"] == "hybridops.fleet/migration-plan/v1" and plan["wave_size"] == 5
    vms = dict((v["host"], v) for v in plan["vms"])
    assert vms["hybridops-mig-off"]["not_inspected_reason"] == "the VM is shutoff"
    here = vms["hybridops-mig-here"]
    if not here["inspected"]:  # this machine has no systemd as PID 1 (a container): the reason is discovery's
        assert here["not_inspected_reason"].startswith("discovery failed: vm_discover needs a host whose PID 1 is "
                                                       "systemd"), here
    assert "127.0.0.1" in here["addresses"]
    markdown = (tmp_path / "plan" / "migration-plan.md").read_text()
    assert markdown.startswith("# Migration plan") and "hybridops-mig-off" in markdown
    page = (tmp_path / "plan" / "migration-plan.html").read_text()
    assert 'section id="migration-plan"' in page and "<script" not in page
    assert oct((tmp_path / "plan" / "migration-plan.json").stat().st_mode & 0o777) == "0o600"
    # the wave commands name this run's inventory
    for wave in plan["waves"]:
        assert all(c.startswith("ansible-playbook -i %s " % (tmp_path / "inventory.yml")) for c in wave["commands"])


def test_check_mode_writes_nothing(tmp_path):
    output = run_plan(tmp_path, "--check")
    assert not (tmp_path / "plan").exists(), output[-2000:]
    assert recap(output, "hybridops-mig-here")["changed"] == "0"
