"""vm_to_container writes its reports on the controller 0600 in a 0700 directory: a real ansible-playbook
run of the role's report steps (the end of a failed migration and the already-migrated path) on localhost."""
import os
import socket
import stat
import subprocess
import sys

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_role_reports_are_private(tmp_path):
    failed_dir, migrated_dir = tmp_path / "failed", tmp_path / "migrated"
    failed_dir.mkdir(mode=0o755)  # left by an older run: the role's own directory is tightened
    os.chmod(str(failed_dir), 0o755)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    facts = {
        "_vm_to_container_dry": False,
        "_vm_to_container_svc": {"unit": "hybridops-web.service"},
        "_vm_to_container_status": "rolled_back",
        "_vm_to_container_started": "2026-01-01T00:00:00Z",
        "_vm_to_container_name": "hybridops-web",
        "_vm_to_container_image": "hybridops/web:1",
        "_vm_to_container_port": port,
        "_vm_to_container_temp_port": port + 1,
        "_vm_to_container_plan": {"snapshot": None},
        "_vm_to_container_steps": ["probe the service"],
        "_vm_to_container_probes": [],
        "_vm_to_container_failure": {"task": "Probe", "message": "refused"},
        "vm_to_container_probe_host": "127.0.0.1",
    }
    role = {"name": "hybridops.fleet.vm_to_container"}
    play = [{"hosts": "localhost", "gather_facts": False, "vars": facts, "tasks": [
        {"name": "report of a failed migration", "ansible.builtin.include_role": dict(role, tasks_from="report.yml"),
         "vars": {"vm_to_container_report_dir": str(failed_dir)}},
        {"name": "report of an already migrated service",
         "ansible.builtin.include_role": dict(role, tasks_from="migrated.yml"),
         "vars": {"vm_to_container_report_dir": str(migrated_dir)}},
    ]}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    try:
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                               "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                              capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=300,
                              check=False)
    finally:
        listener.close()
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert sorted(os.listdir(str(failed_dir))) == ["localhost.json", "localhost.md"]
    assert sorted(os.listdir(str(migrated_dir))) == ["localhost.json"]
    for directory in (failed_dir, migrated_dir):
        assert mode(directory) == 0o700
        for name in os.listdir(str(directory)):
            assert mode(directory / name) == 0o600, name
