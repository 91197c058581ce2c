"""Fixtures for integration tests: real Ansible runs against the lab daemons.

The whole integration session runs inside the lab's network namespace
(scripts/test enters it with nsenter), so VM and container addresses are
reachable here and nowhere else.
"""
import json
import os
import subprocess
import sys
import tempfile

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lab"))

import lab  # noqa: E402  (tests/lab/lab.py, the harness)


def pytest_configure(config):
    config.addinivalue_line("markers", "guest: needs a booted guest (about a minute to boot under TCG)")


@pytest.fixture(scope="session")
def lab_env():
    """The running lab: daemons up, network namespace entered. Fails if it is not."""
    env = lab.LabEnv.from_environment()
    problems = env.check()
    if problems:
        pytest.fail("lab is not up (run scripts/test or scripts/lab): " + "; ".join(problems))
    return env


def parse_recap(stdout):
    """{host: {"ok": n, "changed": n, ...}} from ansible-playbook's PLAY RECAP."""
    recap = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and " : " in line:
            host, counts = line.split(" : ", 1)
            recap[host.strip()] = {k: int(v) for k, v in (item.split("=") for item in counts.split())}
    return recap


class AnsibleRunner:
    """Runs tasks in a real ansible-playbook process and returns each task's registered result."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.count = 0

    def run_tasks(self, tasks, hosts="localhost", inventory=None, extra_vars=None, play_vars=None,
                  gather_facts=False, check=False, diff=False, timeout=1800):
        """Run tasks on hosts; returns {host: [result, ...]} in task order.

        Each task is registered and its result written to a JSON file, so a
        failing task does not hide the results of the others (ignore_errors).
        """
        self.count += 1
        run_dir = os.path.join(self.workdir, "run%03d" % self.count)
        os.makedirs(run_dir)
        play_tasks = []
        for index, task in enumerate(tasks):
            task = dict(task)
            task.setdefault("name", "task %d" % index)
            task["register"] = "hybridops_result_%d" % index
            task["ignore_errors"] = True
            if check:
                task.setdefault("check_mode", True)
            if diff:
                task.setdefault("diff", True)
            play_tasks.append(task)
        play_tasks.append({
            "name": "save results",
            "delegate_to": "localhost",
            "check_mode": False,
            "ansible.builtin.copy": {
                "dest": run_dir + "/{{ inventory_hostname }}.json",
                "content": "[" + ",".join(
                    "{{ hybridops_result_%d | default({'skipped': true}) | to_json }}" % i
                    for i in range(len(tasks))) + "]",
                "mode": "0600",
            },
        })
        play = [{"name": "integration", "hosts": hosts, "gather_facts": gather_facts,
                 "vars": play_vars or {}, "tasks": play_tasks}]
        playbook = os.path.join(run_dir, "play.yml")
        with open(playbook, "w") as handle:
            yaml.safe_dump(play, handle)
        cmd = ["ansible-playbook", playbook]
        if inventory:
            cmd += ["-i", inventory]
        else:
            cmd += ["-i", "localhost,", "-c", "local"]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=os.environ.get("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
                   if not inventory else os.environ.get("ANSIBLE_PYTHON_INTERPRETER", "auto_silent"),
                   ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_DEPRECATION_WARNINGS="False")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        results = {}
        for name in os.listdir(run_dir):
            if name.endswith(".json"):
                with open(os.path.join(run_dir, name)) as handle:
                    results[name[:-5]] = json.load(handle)
        if not results:
            raise AssertionError("ansible-playbook produced no results (rc=%s)\nSTDOUT:\n%s\nSTDERR:\n%s"
                                 % (proc.returncode, proc.stdout[-6000:], proc.stderr[-4000:]))
        self.last_stdout = proc.stdout
        return results

    def run_playbook(self, playbook, inventory, extra_vars=None, check=False, diff=False, timeout=1800):
        """Run a playbook file; returns (recap, stdout) with recap = {host: {ok, changed, failed, ...}}."""
        cmd = ["ansible-playbook", playbook, "-i", inventory]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        recap = parse_recap(proc.stdout)
        if not recap:
            raise AssertionError("no PLAY RECAP (rc=%s)\nSTDOUT:\n%s\nSTDERR:\n%s"
                                 % (proc.returncode, proc.stdout[-6000:], proc.stderr[-4000:]))
        return recap, proc.stdout

    def run_module(self, module, args, check=False, diff=False, **kwargs):
        """Run one module task on localhost; returns its result dict."""
        if "." not in module:
            module = "hybridops.fleet." + module
        results = self.run_tasks([{module: args}], check=check, diff=diff, **kwargs)
        return results["localhost"][0]


@pytest.fixture(scope="session")
def ansible():
    with tempfile.TemporaryDirectory(prefix="hybridops-it-") as workdir:
        yield AnsibleRunner(workdir)


@pytest.fixture(scope="session")
def lab_guest(lab_env, tmp_path_factory):
    """One booted Debian guest (overlay on the cached base), shared by the whole session.

    Booting under TCG costs about a minute, so tests share this guest and reset
    what they change instead of rebooting. Yields the guest dict (name, ip,
    ssh_key, timings) plus `inventory`, an INI inventory with group lab_guests.
    """
    # one guest per test session (sessions running side by side must not share
    # one); HYBRIDOPS_LAB_GUEST names it, to reuse a guest kept with HYBRIDOPS_LAB_KEEP
    name = lab.GUEST_PREFIX + os.environ.get("HYBRIDOPS_LAB_GUEST", "it-%d" % os.getpid())
    try:
        guests = lab_env.boot([name], reuse=bool(os.environ.get("HYBRIDOPS_LAB_GUEST")))
    except lab.LabError as exc:
        lab_env.destroy(name)
        pytest.fail("lab guest did not come up: %s" % exc)
    guest = guests[0]
    guest["inventory"] = lab.write_inventory(guests, str(tmp_path_factory.mktemp("inventory") / "hosts.ini"))
    yield guest
    if not os.environ.get("HYBRIDOPS_LAB_KEEP"):
        lab_env.destroy(name)
