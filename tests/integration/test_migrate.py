"""vm_to_container role + playbooks/migrate.yml on the real lab guest.

The test installs its own systemd service on the shared guest (python3 -m
http.server run as a dedicated user, serving a known file) and migrates it into
a container running busybox httpd from the lab's image archive (no registry):
dry run (nothing changes), a migration whose container fails its health check
(rolled back by reverting the VM to the snapshot the run took), the real migration
(same port, same content, VM snapshot first and deleted after, the cut-over gap
measured), then a second run (nothing changes). Everything is removed at the end.
"""
import json
import os
import time
import urllib.request

import guest_service
import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest

UNIT = "hybridops-mig-web"
PORT = 8090
BODY = "<h1>hybridops migrated service</h1>\n"
# a secret in the unit's EnvironmentFile, quoted the systemd way: it must reach the container and no output
SECRET = "tok en-7731-s3cr3t"
ENV_FILE = 'MIG_GREETING=hello\nMIG_API_TOKEN="%s"\n' % SECRET
ARCHIVE = "/run/hybridops-lab/lab-images.tar"
IMAGE = "hybridops/busybox:lab"
PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "migrate.yml")

UNIT_FILE = """[Unit]
Description=hybridops.fleet migration integration test web server
After=network.target

[Service]
User={unit}
Group={unit}
WorkingDirectory=/srv/{unit}
ConfigurationDirectory={unit}
EnvironmentFile=/etc/{unit}/env
ExecStart=/usr/bin/python3 -m http.server {port} --directory /srv/{unit}
Restart=on-failure

[Install]
WantedBy=multi-user.target
""".format(unit=UNIT, port=PORT)

SETUP = [
    {"hybridops.fleet.container": {"name": UNIT, "state": "absent"}},
    {"hybridops.fleet.container": {"name": UNIT + "-candidate", "state": "absent"}},
] + guest_service.install_tasks(UNIT, PORT, UNIT_FILE, dirs=["/srv/" + UNIT, "/etc/" + UNIT], files={
    "/srv/%s/index.html" % UNIT: (BODY, "0644"),
    "/etc/%s/web.conf" % UNIT: ("greeting = hello\n", "0644"),
    "/etc/%s/env" % UNIT: (ENV_FILE, "0600"),
})

RESET = [
    {"hybridops.fleet.container": {"name": UNIT, "state": "absent"}},
    {"hybridops.fleet.container": {"name": UNIT + "-candidate", "state": "absent"}},
    {"ansible.builtin.file": {"path": "/var/lib/hybridops/migrate", "state": "absent"}},
    {"ansible.builtin.systemd_service": {"name": UNIT, "state": "started", "enabled": True}},
    {"ansible.builtin.wait_for": {"host": "127.0.0.1", "port": PORT, "timeout": 60}},
]

TEARDOWN = [
    {"hybridops.fleet.container": {"name": UNIT, "state": "absent"}},
    {"hybridops.fleet.container": {"name": UNIT + "-candidate", "state": "absent"}},
] + guest_service.remove_tasks(UNIT, ["/srv/" + UNIT, "/etc/" + UNIT, "/var/lib/hybridops/migrate",
                                      "/var/lib/hybridops/images/lab-images.tar"])

# what the VM looks like, for the dry-run comparison: one task (each task is seconds on a TCG guest), its
# sections separated by a marker line
STATE_MARK = "--hybridops-state--"
STATE_SCRIPT = """
systemctl is-active UNIT; echo MARK
systemctl is-enabled UNIT; echo MARK
docker ps -a --format '{% raw %}{{.Names}} {{.Image}}{% endraw %}'; echo MARK
docker images -q --no-trunc; echo MARK
ls -la /var/lib/hybridops 2>&1; ls -la /var/lib/hybridops/* 2>&1; echo MARK
docker inspect -f '{% raw %}{{range .Config.Env}}{{println .}}{{end}}{% endraw %}' UNIT 2>&1; echo MARK
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:PORT/", timeout=10).read().decode())'
""".replace("UNIT", UNIT).replace("MARK", STATE_MARK).replace("PORT", str(PORT))
STATE = [{"ansible.builtin.shell": STATE_SCRIPT, "changed_when": False, "failed_when": False}]


def _snapshot_vars(guest):
    return {"vm_to_container_libvirt_uri": "qemu:///system", "vm_to_container_libvirt_domain": guest["name"]}


HEALTHY = ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:%d/" % PORT]


def _check(results):
    for result in results:
        assert not result.get("failed"), result


def _run(ansible, guest, tasks):
    return ansible.run_tasks(tasks, hosts="lab_guests", inventory=guest["inventory"])[guest["name"]]


def _state(ansible, guest):
    result = _run(ansible, guest, STATE)[0]
    sections = [part.strip("\n") for part in result["stdout"].split(STATE_MARK)]
    assert len(sections) == 7, result
    active, enabled, containers, images, files, env, body = sections
    return {
        "active": active, "enabled": enabled, "containers": containers, "env": env.splitlines(),
        "images": sorted(set(images.split())),  # `docker images` order is not stable
        "files": files, "body": body + "\n" if body else None,  # BODY ends in one newline, stripped above
    }


def _fetch(ip):
    """The service's port, from the lab namespace (where this session runs)."""
    with urllib.request.urlopen("http://%s:%d/" % (ip, PORT), timeout=10) as response:
        return response.status, response.read().decode()


def _vars(report_dir, **extra):
    overrides = {
        "image": IMAGE,
        # under a shell that exits on SIGTERM (PID 1 ignores it): a rollback's stop need not wait 10 s
        "command": lab.exit_on_term("httpd -f -p %d -h /srv/%s" % (PORT, UNIT)),
        "pull": "never",
        "healthcheck": {"test": HEALTHY, "interval": "2s", "timeout": "3s", "retries": 3, "start_period": "2s"},
    }
    overrides.update(extra.pop("overrides", {}))
    values = {
        "fleet_hosts": "lab_guests",
        "migrate_service": UNIT,
        "vm_to_container_image": IMAGE,
        "vm_to_container_image_archive": ARCHIVE,
        "vm_to_container_container_overrides": overrides,
        "vm_to_container_report_dir": str(report_dir),
        "vm_to_container_wait_timeout": 60,
        "vm_to_container_probe_retries": 5,
        "vm_to_container_probe_delay": 2,
    }
    values.update(extra)
    return values


@pytest.fixture(scope="module")
def web_service(lab_guest, ansible):
    try:
        _check(_run(ansible, lab_guest, SETUP))
        yield UNIT
    finally:
        _run(ansible, lab_guest, TEARDOWN)


@pytest.fixture()
def fresh_service(lab_guest, ansible, web_service):
    """The service running under systemd with no container of it; reset after a test that did not finish.

    Each Ansible run costs minutes on a loaded TCG guest, so a test that passed
    (and so left the service as asserted) skips the reset.
    """
    done = {"ok": False}
    yield done
    if not done["ok"]:
        _run(ansible, lab_guest, RESET)


def test_dry_run_changes_nothing(lab_guest, ansible, fresh_service, tmp_path):
    before = _state(ansible, lab_guest)
    assert before["active"] == "active" and before["enabled"] == "enabled" and before["body"] == BODY
    recap, out = ansible.run_playbook(PLAYBOOK, lab_guest["inventory"],
                                      extra_vars=_vars(tmp_path, migrate_dry_run=True))
    assert recap[lab_guest["name"]]["failed"] == 0, out
    assert recap[lab_guest["name"]]["changed"] == 0, out
    assert "candidate_name" in out and "%s-candidate" % UNIT in out  # the plan is printed
    assert _state(ansible, lab_guest) == before
    assert not os.listdir(tmp_path)  # no report for a plan
    fresh_service["ok"] = True


def test_snapshot_rollback_needs_its_confirmation(lab_guest, ansible, fresh_service, tmp_path):
    recap, out = ansible.run_playbook(PLAYBOOK, lab_guest["inventory"], extra_vars=_vars(
        tmp_path, vm_to_container_rollback="snapshot", **_snapshot_vars(lab_guest)))
    assert recap[lab_guest["name"]]["failed"] == 1 and recap[lab_guest["name"]]["changed"] == 0, out
    assert "vm_to_container_rollback_snapshot_confirm=true" in out, out[-3000:]
    assert not _snapshots(ansible, lab_guest)
    fresh_service["ok"] = True


def test_failed_health_check_rolls_back(lab_guest, ansible, fresh_service, tmp_path):
    start = time.monotonic()
    broken = {"healthcheck": {"test": ["CMD", "false"], "interval": "2s", "timeout": "2s", "retries": 1,
                              "start_period": "1s"}}
    recap, out = ansible.run_playbook(PLAYBOOK, lab_guest["inventory"], extra_vars=_vars(
        tmp_path, overrides=broken, vm_to_container_wait_timeout=20, vm_to_container_rollback="snapshot",
        vm_to_container_rollback_snapshot_confirm=True, **_snapshot_vars(lab_guest)))
    assert recap[lab_guest["name"]]["failed"] == 1, out
    assert "rolled back" in out
    state = _state(ansible, lab_guest)
    assert state["active"] == "active" and state["enabled"] == "enabled", state
    assert UNIT not in state["containers"], state
    # the VM's disk went back to before the run: the work directory the run made is gone (a services
    # rollback keeps it)
    assert "/var/lib/hybridops/migrate/%s" % UNIT not in state["files"] and " %s\n" % UNIT not in state["files"], state
    # a rolled-back run keeps its snapshot; the next test takes a fresh one
    assert _snapshots(ansible, lab_guest) == ["before-migrate-" + UNIT]
    _drop_snapshot(ansible, lab_guest)
    assert _fetch(lab_guest["ip"]) == (200, BODY)
    with open(tmp_path / ("%s.json" % lab_guest["name"])) as handle:
        report = json.load(handle)
    assert report["status"] == "rolled_back"
    assert report["failure"]["task"] == "Run the candidate container beside the service"
    assert "health" in report["failure"]["message"].lower(), report["failure"]
    assert SECRET not in out and SECRET not in json.dumps(report)
    assert report["rollback"]["unit_active"] == "active" and report["rollback"]["unit_enabled"] == "enabled"
    assert report["rollback"]["port_answers"] is True and report["rollback"]["snapshot_reverted"] is True
    assert any(step.startswith("rolled back: VM reverted to snapshot") for step in report["steps"]), report["steps"]
    assert report["cutover"] is None  # it failed before the cut-over
    markdown = (tmp_path / ("%s.md" % lab_guest["name"])).read_text()
    assert "rolled_back" in markdown and "Why it failed" in markdown
    print("rollback run: %.0fs" % (time.monotonic() - start))
    fresh_service["ok"] = True  # the rollback left the service as it was


def _migrate_with_snapshot(ansible, guest, report_dir):
    """migrate.yml with a VM snapshot first, deleted after a success; returns (recap, output, seconds)."""
    start = time.monotonic()
    recap, out = ansible.run_playbook(PLAYBOOK, guest["inventory"], extra_vars=_vars(
        report_dir, vm_to_container_snapshot_keep=False, **_snapshot_vars(guest)))
    return recap, out, time.monotonic() - start


def test_migrate_then_nothing_to_do(lab_guest, ansible, fresh_service, tmp_path):
    assert _fetch(lab_guest["ip"]) == (200, BODY)
    recap, out, first = _migrate_with_snapshot(ansible, lab_guest, tmp_path)
    assert recap[lab_guest["name"]]["failed"] == 0, out
    assert recap[lab_guest["name"]]["changed"] > 0, out
    # same port, same content, now served by the container
    assert _fetch(lab_guest["ip"]) == (200, BODY)
    state = _state(ansible, lab_guest)
    assert state["active"] == "inactive" and state["enabled"] == "disabled", state
    assert "%s %s" % (UNIT, IMAGE) in state["containers"].splitlines(), state
    assert UNIT + "-candidate" not in state["containers"]
    with open(tmp_path / ("%s.json" % lab_guest["name"])) as handle:
        report = json.load(handle)
    assert report["status"] == "migrated", report
    expected = ["service (before)", "candidate (temporary port)", "container (service port)"]
    assert [p["target"] for p in report["probes"]] == expected
    assert all(p["ok"] for p in report["probes"]) and len({p["body_sha256"] for p in report["probes"]}) == 1
    assert report["snapshot"] and any("snapshot before-migrate-%s of %s taken" % (UNIT, lab_guest["name"]) in s
                                      for s in report["steps"]), report
    assert not _snapshots(ansible, lab_guest)  # vm_to_container_snapshot_keep=false: deleted after the success
    # the port was closed from the unit's stop until the container answered, measured on the VM
    assert report["cutover"]["closed"] and report["cutover"]["reopened"] and report["cutover"]["gap_s"] > 0, report
    # the unit was stopped and the container started by one process on the VM, through the engine's socket
    assert [(step, report["cutover"]["steps"][step]["error"]) for step in ("stop", "start")] == [
        ("stop", None), ("start", None)], report["cutover"]
    assert "port closed during the cut-over | %.3f s" % report["cutover"]["gap_s"] in (
        tmp_path / ("%s.md" % lab_guest["name"])).read_text()
    assert (tmp_path / ("%s.md" % lab_guest["name"])).read_text().startswith("# Migration of %s.service" % UNIT)
    # the EnvironmentFile's secret reached the container (unquoted, as systemd reads it) and nothing else
    assert "MIG_API_TOKEN=" + SECRET in state["env"] and "MIG_GREETING=hello" in state["env"], state["env"]
    assert SECRET not in out
    for report_file in tmp_path.iterdir():
        assert SECRET not in report_file.read_text(), report_file

    recap, out, second = _migrate_with_snapshot(ansible, lab_guest, tmp_path)
    assert recap[lab_guest["name"]]["failed"] == 0, out
    assert recap[lab_guest["name"]]["changed"] == 0, out
    assert "nothing to do" in out
    assert _fetch(lab_guest["ip"]) == (200, BODY)
    steps = report["cutover"]["steps"]
    print("migration %.0fs (port closed %.3fs: unit stop %.1fs, container start %.1fs), second run %.0fs" % (
        first, report["cutover"]["gap_s"], steps["stop"]["s"], steps["start"]["s"], second))
    fresh_service["ok"] = True  # TEARDOWN removes the migrated container and the unit


def _snapshots(ansible, guest):
    result = ansible.run_module("libvirt_snapshot", {"uri": "qemu:///system", "vm": guest["name"], "state": "present"})
    return sorted(snap["name"] for snap in result["snapshots"])


def _drop_snapshot(ansible, guest):
    ansible.run_module("libvirt_snapshot", {"uri": "qemu:///system", "vm": guest["name"],
                                            "name": "before-migrate-" + UNIT, "state": "absent"})


@pytest.fixture(scope="module", autouse=True)
def drop_snapshot(lab_guest, ansible):
    yield
    _drop_snapshot(ansible, lab_guest)
