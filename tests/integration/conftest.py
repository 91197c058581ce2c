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
import xml.etree.ElementTree as ET

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lab"))

import hypervisors  # noqa: E402  (tests/lab/hypervisors.py, the lab's remote hypervisors)
import lab  # noqa: E402  (tests/lab/lab.py, the harness)


def pytest_configure(config):
    config.addinivalue_line("markers", "guest: needs a booted guest (about a minute to boot under TCG)")


GROUPS = ("lab_guest", "own_guests", "host", "matrix", "fleet_lab")


def pytest_addoption(parser):
    parser.addoption("--group", choices=GROUPS, default=None,
                     help="run only the test modules of this group (scripts/test runs them in two chains side by side)")


def module_group(item, on_guest):
    """The group of a test's module (a module is never split, so its module fixtures run in one session):

    - `lab_guest`: modules with a test on the session's shared guest; only that session boots it;
    - `own_guests`: modules that boot guests of their own (TEST_GROUP = "own_guests" in the module);
    - `fleet_lab`: the lab playbook end to end (two guests of its own, the fleet rollouts under load), the
      longest module, in the chain of the host-level tests (TEST_GROUP = "fleet_lab");
    - `host`: the host-level engine and define-only libvirt; one session, since those tests reuse names and
      clean the engine between tests;
    - `matrix`: the option and bad-input matrices that need no guest and touch only objects of their own
      prefixes (TEST_GROUP = "matrix"): many module runs each, so they run beside the host session.
    Under TCG a guest task is bound by the guest's one vCPU, so the groups overlap well on 2 cores.
    """
    if item.module.__name__ in on_guest:
        return "lab_guest"
    return getattr(item.module, "TEST_GROUP", "host")


def pytest_collection_modifyitems(config, items):
    on_guest = set(item.module.__name__ for item in items if "lab_guest" in getattr(item, "fixturenames", ()))
    wanted = config.getoption("--group")
    selected, deselected = [], []
    for item in items:
        group = module_group(item, on_guest)
        if group != "host":
            item.add_marker(pytest.mark.guest)
        (selected if wanted in (None, group) else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


# Ansible runs against guests with SSH pipelining: one SSH round trip per task instead of three or four
# (mkdir, put, exec, rm), each a process start in a TCG guest.
ANSIBLE_ENV = {"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False",
               "ANSIBLE_PIPELINING": "True"}


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


ACTION_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "action_plugins")


class AnsibleRunner:
    """Runs tasks in a real ansible-playbook process and returns each task's registered result."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.count = 0

    def run_tasks(self, tasks, hosts="localhost", inventory=None, extra_vars=None, play_vars=None,
                  gather_facts=False, check=False, diff=False, timeout=1800, env=None):
        """Run tasks on hosts; returns {host: [result, ...]} in task order (``env``: more environment).

        Each task is registered and its result written to a JSON file, so a
        failing task does not hide the results of the others (ignore_errors).
        """
        started = self.start_tasks(tasks, hosts, inventory, extra_vars, play_vars, gather_facts, check, diff, env,
                                   new_session=False)
        try:
            started.out, started.err = started.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            started.kill()
            raise
        return self.collect(started)

    def start_tasks(self, tasks, hosts="localhost", inventory=None, extra_vars=None, play_vars=None,
                    gather_facts=False, check=False, diff=False, env=None, new_session=True):
        """Start ansible-playbook on tasks in the background; ``collect`` reads its results.

        ``new_session``: in its own session and process group, so a test can signal the whole run as a
        terminal's Ctrl-C does.
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
            "save_results": {  # action_plugins/save_results.py: no module run
                "dest": run_dir + "/{{ inventory_hostname }}.json",
                "content": "[" + ",".join(
                    "{{ hybridops_result_%d | default({'skipped': true}) | to_json }}" % i
                    for i in range(len(tasks))) + "]",
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
                   ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_ACTION_PLUGINS=ACTION_PLUGINS,
                   **dict(ANSIBLE_ENV, **(env or {})))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL,  # ansible-core wants a blocking stdin
                                start_new_session=new_session)
        proc.run_dir = run_dir
        return proc

    def collect(self, proc):
        """{host: [result, ...]} of a run from ``start_tasks`` (waits for it to end)."""
        if not hasattr(proc, "out"):
            proc.out, proc.err = proc.communicate(timeout=1800)
        run_dir = proc.run_dir
        results = {}
        for name in os.listdir(run_dir):
            if name.endswith(".json"):
                with open(os.path.join(run_dir, name)) as handle:
                    results[name[:-5]] = json.load(handle)
        if not results:
            raise AssertionError("ansible-playbook produced no results (rc=%s)\nSTDOUT:\n%s\nSTDERR:\n%s"
                                 % (proc.returncode, proc.out[-6000:], proc.err[-4000:]))
        self.last_stdout = proc.out
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
        env = dict(os.environ, **ANSIBLE_ENV)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)  # ansible-core wants a blocking stdin
        self.last_stderr = proc.stderr  # warnings (ansible-playbook writes them to stderr)
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


def libvirt_cleanup(conn, prefix, pool=None):
    """Remove every domain (with its snapshots' metadata), network and volume whose name starts with ``prefix``.

    Volumes are looked for in the storage pool named ``pool``, or in every active pool when it is None;
    overlays are deleted before the volumes they are backed by.
    """
    import libvirt

    for dom in conn.listAllDomains(0):
        if dom.name().startswith(prefix):
            if dom.isActive():
                dom.destroy()
            for snap in dom.listAllSnapshots(0):
                snap.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
    for net in conn.listAllNetworks(0):
        if net.name().startswith(prefix):
            if net.isActive():
                net.destroy()
            net.undefine()
    pools = [conn.storagePoolLookupByName(pool)] if pool else [p for p in conn.listAllStoragePools(0) if p.isActive()]
    for storage in pools:
        lab.refresh_pool(storage)
        vols = [v for v in storage.listAllVolumes(0) if v.name().startswith(prefix)]
        backing = set(ET.fromstring(v.XMLDesc(0)).findtext("backingStore/path") for v in vols)
        for vol in sorted(vols, key=lambda v: v.path() in backing):  # overlays first, their bases last
            vol.delete(0)


@pytest.fixture(scope="module")
def conn(lab_env, request):
    """A libvirt connection for one test module, which owns every object named with its ``PREFIX``.

    The module sets ``URI`` and ``PREFIX``, and ``POOL`` for the storage pool its volumes are in (without
    ``POOL`` every active pool is searched). What carries the prefix is removed (:func:`libvirt_cleanup`)
    before the module's first test and after its last. lab_env fails early, naming the problem, when the
    lab is not up.
    """
    libvirt = pytest.importorskip("libvirt")
    assert lab_env.libvirt_uri
    module = request.module
    pool = getattr(module, "POOL", None)
    connection = libvirt.open(module.URI)
    libvirt_cleanup(connection, module.PREFIX, pool)
    yield connection
    libvirt_cleanup(connection, module.PREFIX, pool)
    connection.close()


@pytest.fixture(scope="module")
def base_volume(conn, request):
    """An empty 64 MiB qcow2 base volume, PREFIX + ``base.qcow2`` in the module's POOL, for VMs that do not
    boot; it carries the module's prefix, so the conn fixture removes it."""
    module = request.module
    name = module.PREFIX + "base.qcow2"
    xml = ("<volume><name>%s</name><capacity unit='bytes'>%d</capacity>"
           "<target><format type='qcow2'/></target></volume>") % (name, 64 * 1024 ** 2)
    conn.storagePoolLookupByName(module.POOL).createXML(xml, 0)
    return name


@pytest.fixture(scope="session")
def remote_hypervisors(lab_env):
    """The lab's remote hypervisors (tests/lab/hypervisors.py): two more libvirtd instances, each in network,
    mount and UTS namespaces of its own with an sshd, reached from here as ``qemu+ssh://`` (the ``uri`` of each
    entry of the list). Started on first use and stopped (by PID) at the end of the session, unless they were
    already up (``lab.py hypervisors up``), in which case they are left running. Tests define VMs there, they
    do not boot them, and remove what they define."""
    already = [hv["name"] for hv in hypervisors.status() if hv["answers"]]
    try:
        started = hypervisors.up(hypervisors.DEFAULT_COUNT)
    except lab.LabError as exc:
        pytest.fail("remote hypervisors did not come up: %s" % exc)
    yield [hv.as_dict() for hv in started]
    if len(already) < hypervisors.DEFAULT_COUNT:
        hypervisors.down()


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


def pytest_terminal_summary(terminalreporter):
    """The bad-input figures (tried / clear / left behind / tracebacks per module) of the matrices that ran."""
    import bad_input  # pylint: disable=import-outside-toplevel
    reports = [r for key in ("passed", "failed", "error") for r in terminalreporter.stats.get(key, [])]
    if any("test_bad_input_" in getattr(r, "nodeid", "") for r in reports):
        terminalreporter.write_sep("-", "bad-input figures (tests/output/bad-input/)")
        terminalreporter.write_line(bad_input.table())
