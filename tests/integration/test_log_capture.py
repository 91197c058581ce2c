"""No secret in the output of -vvv or in the managed host's log, and the report files are private.

One ansible-playbook -vvv run, with the host's syslog socket captured for real (syslog_capture.py: a
private mount namespace whose /dev/log is a socket of the test's own): AnsibleModule logs each module's
invocation there while it is constructed. The run calls every secret-bearing option of every module
(the task list of tests/unit/plugins/modules/test_module_secrets_playbook.py, which covers the modules
that test_module_secrets.py finds secrets in), each with a unique marker, and writes a fleet_report and
the vm_to_container role's report into directories that do not exist yet.

The journal path (python-systemd installed on the host) is not taken here: the lab's Python has no
systemd module, so AnsibleModule uses syslog, as it does on hosts without it.
"""
import importlib.util
import os
import stat
import subprocess
import sys

import yaml

# no shared state with the other groups: runs in the chain that has CPU to spare (see scripts/test)
TEST_GROUP = "own_guests"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def secrets_tasks():
    path = os.path.join(REPO, "tests", "unit", "plugins", "modules", "test_module_secrets_playbook.py")
    spec = importlib.util.spec_from_file_location("secrets_playbook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TASKS, module.SECRETS


NO_ENGINE = "unix:///nonexistent/hybridops-sec/docker.sock"


def escaped_secret_tasks():
    """Nested secrets with characters that str() of a dict escapes (newline, backslash, tab)."""
    marks = dict((k, "hybridops-sec-esc-%s-%d" % (k, os.getpid())) for k in ("pem", "backslash", "tab"))
    pem = "-----BEGIN KEY-----\n%s\n-----END KEY-----\n" % marks["pem"]
    tasks = [
        ("hybridops.fleet.container_stack", {"name": "hybridops-sec-visible-esc-stack", "docker_host": NO_ENGINE,
                                             "containers": [{"name": "hybridops-sec-esc", "image": "busybox",
                                                             "secret_env": {"TLS_KEY": pem}}]}),
        ("hybridops.fleet.container_image", {"name": "hybridops-sec-visible-esc-image", "source": "build",
                                             "build": {"path": "/nonexistent", "args": {"PW": "a\\" + marks["backslash"]}},
                                             "docker_host": NO_ENGINE}),
        ("hybridops.fleet.libvirt_vm", {"uri": "test:///default", "name": "hybridops-sec-visible-esc-vm", "memory": "64MiB",
                                        "pool": "default-pool", "cloud_init": {"user_data": {"write_files": [
                                            {"path": "/etc/k", "content": "x\t" + marks["tab"]}]}}}),
    ]
    return tasks, marks


def report_tasks(fleet_dir, migration_dir, secret):
    """A fleet report and the vm_to_container role's report, written on the controller (no guest needed)."""
    fleet = {"hybridops.fleet.fleet_report": {
        "dest": fleet_dir, "hypervisors": [{"uri": "test:///default", "hostname": "hv1"}],
        "vms": [{"name": "hybridops-sec-vm", "uri": "test:///default", "state": "running", "memory": 512, "vcpus": 1}],
        "guests": {}}}
    migration = {"ansible.builtin.include_role": {"name": "hybridops.fleet.vm_to_container", "tasks_from": "report"},
                 "vars": {"vm_to_container_report_dir": migration_dir, "vm_to_container_mode": "replace",
                          "_vm_to_container_svc": {"unit": "hybridops-sec.service"},
                          "_vm_to_container_status": "migrated", "_vm_to_container_started": "2026-01-01T00:00:00Z",
                          "_vm_to_container_name": "hybridops-sec", "_vm_to_container_image": "busybox:1",
                          "_vm_to_container_port": 8080, "_vm_to_container_temp_port": 18080,
                          "_vm_to_container_plan": {"snapshot": None, "secret_env_keys": ["DB_PASSWORD"]},
                          "_vm_to_container_steps": ["started the container"], "_vm_to_container_probes": []}}
    return [dict(fleet, name="fleet report"), dict(migration, name="migration report")]


def private(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_no_secret_in_vvv_output_or_host_log_and_reports_are_private(tmp_path):
    tasks, secrets = secrets_tasks()
    escaped, marks = escaped_secret_tasks()
    tasks = tasks + escaped
    secrets = dict(secrets, **marks)
    (tmp_path / "reports").mkdir()  # fleet_report makes its dest only inside an existing directory
    fleet_dir = str(tmp_path / "reports" / "fleet")
    migration_dir = str(tmp_path / "reports" / "migration")
    play_tasks = [{"name": "secret %d" % i, module: args, "ignore_errors": True} for i, (module, args) in enumerate(tasks)]
    play_tasks += report_tasks(fleet_dir, migration_dir, secrets["container"])
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": play_tasks}]))
    logfile = tmp_path / "syslog.txt"
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_INJECT_INVOCATION="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="False")
    cmd = ["unshare", "--mount", "--propagation", "private", sys.executable, os.path.join(HERE, "syslog_capture.py"),
           str(tmp_path), str(logfile), "--",
           os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=600,
                          check=False)
    output = proc.stdout + proc.stderr
    assert "failed=0" in output, output[-4000:]
    host_log = logfile.read_text(errors="replace")
    # the capture is real: every module's invocation reached the host log, with its visible options ...
    invocations = [line for line in host_log.splitlines() if "Invoked with" in line]
    assert len(invocations) >= len(tasks) + 1, host_log[-3000:]
    for _module, args in tasks:
        assert args["name"] in host_log, (args["name"], host_log[-3000:])
    assert "NOT_LOGGING_PARAMETER" in host_log or "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in host_log
    assert output.count('"module_args"') >= len(tasks)
    # ... and no secret value is in it, nor in the -vvv output, nor in the report files
    reports = ""
    for top in (fleet_dir, migration_dir):
        for name in sorted(os.listdir(top)):
            with open(os.path.join(top, name), errors="replace") as handle:
                reports += handle.read()
    leaked = dict((key, [where for where, text in (("-vvv output", output), ("host log", host_log),
                                                   ("reports", reports)) if value in text])
                  for key, value in secrets.items())
    assert all(not where for where in leaked.values()), "leaked: %s" % leaked
    # the report files are 0600 in 0700 directories (created by the run)
    for top, expected in ((fleet_dir, {"fleet-report.json", "fleet-report.md", "fleet-report.html"}),
                          (migration_dir, {"localhost.json", "localhost.md"})):
        assert private(top) == 0o700, (top, oct(private(top)))
        assert set(os.listdir(top)) == expected
        for name in expected:
            assert private(os.path.join(top, name)) == 0o600, (name, oct(private(os.path.join(top, name))))
    print("host log: %d invocations captured; %s" % (len(invocations), proc.stderr.strip().splitlines()[-1:]))
