"""Faults injected into real daemons: each task fails with a clear message, a rerun converges, nothing is orphaned.

The daemons broken here are private to this module (tests/integration/faults.py): a dockerd with its own
socket and data root in the lab's namespace, and a session-mode libvirtd as an unprivileged user. The lab's
shared engine and libvirtd are never restarted. Every fault is injected at a known point (the module is
waiting for a health check that the test controls, or a ``qemu-img create`` is held by a wrapper), so the
tests are not races.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import docker
import faults
import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest
from faults import PrivateDockerd, wait_until

# no shared state with the other groups: runs in the chain that has CPU to spare (see scripts/test)
TEST_GROUP = "own_guests"
PREFIX = "fault-"
BOX = "hybridops/busybox:lab"
WEB1 = "hybridops/web:1"
WEB2 = "hybridops/web:2"


def dump(result):
    return json.dumps(result, indent=1, default=str)[:5000]


def assert_clear_failure(result, *words):
    """The task failed with a message that names what failed, and no traceback reached the user."""
    assert result.get("failed") is True, dump(result)
    msg = result.get("msg") or ""
    assert "Traceback" not in msg and "Traceback" not in (result.get("module_stderr") or ""), dump(result)
    assert "exception" not in result or "Traceback" not in str(result.get("exception")) or msg, dump(result)
    for word in words:
        assert word in msg, (word, dump(result))
    return msg


def converge_twice(ansible, module, args):
    """The rerun and an idempotence check in one playbook run: (rerun result, second result)."""
    task = {"hybridops.fleet." + module: args}
    return tuple(ansible.run_tasks([task, dict(task)])["localhost"])


def in_background(func, *args, **kwargs):
    """Run func in a thread; returns (thread, box) where box["result"] is set when it is done."""
    box = {}

    def target():
        try:
            box["result"] = func(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - re-raised by the test through box
            box["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def joined(thread, box, timeout=600):
    thread.join(timeout)
    assert not thread.is_alive(), "the playbook did not end"
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.fixture(scope="module")
def engine(lab_env):
    root = tempfile.mkdtemp(prefix="hybridops-fault-docker-")
    dockerd = PrivateDockerd(root)
    dockerd.start()
    dockerd.load_images()
    yield dockerd
    dockerd.close()
    faults.remove_tree(root)


@pytest.fixture
def client(engine):
    """A client of the private engine; every container/volume/network it holds is removed before and after."""
    if not engine.ping():
        engine.start()
    api = docker.APIClient(base_url=engine.host, version="auto", timeout=30)

    def wipe():
        for item in api.containers(all=True):
            api.remove_container(item["Id"], force=True, v=True)
        for vol in (api.volumes().get("Volumes") or []):
            api.remove_volume(vol["Name"], force=True)
        for net in api.networks():
            if net["Name"] not in ("none", "host", "bridge"):
                api.remove_network(net["Id"])
    wipe()
    yield api
    if not engine.ping():
        engine.start()
        api = docker.APIClient(base_url=engine.host, version="auto", timeout=30)
    wipe()
    api.close()


def names(api):
    return sorted(c["Names"][0].lstrip("/") for c in api.containers(all=True))


def running(api, name):
    try:
        return api.inspect_container(name)["State"]["Running"]
    except docker.errors.NotFound:
        return False


# ---------------------------------------------------------------- dockerd restarted during a stack converge

def stack_members(flag_dir):
    """Ten members: five that wait to be healthy (healthy once FLAG_DIR/go exists), five that depend on the first."""
    health = {"test": ["CMD", "test", "-e", "/flag/go"], "interval": "1s", "timeout": "1s", "retries": 1000}
    first = [{"name": PREFIX + "m%02d" % i, "image": BOX, "command": ["sleep", "3600"], "state": "healthy",
              "healthcheck": health, "wait_timeout": 600, "stop_timeout": 1,
              "mounts": [{"type": "bind", "source": flag_dir, "target": "/flag", "read_only": True}]}
             for i in range(5)]
    rest = [{"name": PREFIX + "m%02d" % i, "image": BOX, "command": ["sleep", "3600"], "stop_timeout": 1,
             "depends_on": [PREFIX + "m00"]} for i in range(5, 10)]
    return first + rest


def test_dockerd_restarted_during_a_stack_converge(ansible, engine, client, tmp_path):
    flag_dir = str(tmp_path / "flag")
    os.makedirs(flag_dir)
    members = stack_members(flag_dir)
    args = {"name": PREFIX + "stack", "containers": members, "docker_host": engine.host}
    thread, box = in_background(ansible.run_module, "container_stack", args)
    # the five independent members run and wait for their health check: restart the engine now
    wait_until("five members running", lambda: all(running(client, m["name"]) for m in members[:5]), timeout=300)
    assert not any(running(client, m["name"]) for m in members[5:])
    engine.stop()
    engine.start()
    failed = joined(thread, box)
    msg = assert_clear_failure(failed)
    assert failed["failed_members"], dump(failed)
    assert sorted(failed["skipped_members"]) == sorted(m["name"] for m in members[5:]), dump(failed)
    print("stack fault said:", msg)

    open(os.path.join(flag_dir, "go"), "w").close()
    client = docker.APIClient(base_url=engine.host, version="auto", timeout=30)
    rerun, again = converge_twice(ansible, "container_stack", args)
    assert rerun.get("failed") is not True and rerun["changed"] is True, dump(rerun)
    assert again["changed"] is False, dump(again)
    assert all(running(client, m["name"]) for m in members)
    assert all(client.inspect_container(m["name"])["State"]["Health"]["Status"] == "healthy" for m in members[:5])
    # nothing orphaned: exactly the ten members, no temporary replacements, no volumes
    assert names(client) == sorted(m["name"] for m in members)
    assert (client.volumes().get("Volumes") or []) == []


# ---------------------------------------------------------------- the engine dies during a rolling replace

def test_engine_killed_during_a_rollout_loses_nothing(ansible, engine, client, tmp_path):
    flag_dir = str(tmp_path / "flag")
    os.makedirs(flag_dir)
    base = {"name": PREFIX + "roll", "command": ["sleep", "3600"], "restart_policy": "unless-stopped",
            "stop_timeout": 1, "docker_host": engine.host,
            "healthcheck": {"test": ["CMD", "test", "-e", "/flag/go"], "interval": "1s", "timeout": "1s",
                            "retries": 1000},
            "mounts": [{"type": "bind", "source": flag_dir, "target": "/flag", "read_only": True}]}
    first = ansible.run_module("container", dict(base, image=WEB1, state="started"))
    assert first.get("failed") is not True, dump(first)
    old_id = client.inspect_container(PREFIX + "roll")["Id"]
    rollout = dict(base, image=WEB2, state="healthy", recreate="rolling", wait_timeout=300)
    thread, box = in_background(ansible.run_module, "container", rollout)
    # the replacement runs beside the old one and waits for its health check (which the test holds back):
    # the engine goes away at once, as it does with the guest it runs on
    wait_until("the replacement running", lambda: running(client, PREFIX + "roll-hybridops-next"), timeout=300)
    engine.stop(signal.SIGKILL)
    failed = joined(thread, box)
    msg = assert_clear_failure(failed, "rolling replace of %sroll failed" % PREFIX, engine.host,
                               "the next run removes %sroll-hybridops-next" % PREFIX, "was not touched")
    assert failed["rolled_back"] is False
    print("rollout fault said:", msg)

    started = time.monotonic()
    engine.start()
    print("the killed engine answered again after %.1fs" % (time.monotonic() - started))
    client = docker.APIClient(base_url=engine.host, version="auto", timeout=30)
    # nothing lost: the old container is there, unchanged (the engine's boot restarts it: unless-stopped)
    old = client.inspect_container(PREFIX + "roll")
    assert old["Id"] == old_id and old["Config"]["Image"] == WEB1
    assert names(client) == [PREFIX + "roll", PREFIX + "roll-hybridops-next"]
    open(os.path.join(flag_dir, "go"), "w").close()
    rerun, again = converge_twice(ansible, "container", rollout)
    assert rerun.get("failed") is not True and rerun["changed"] is True, dump(rerun)
    assert rerun["removed_leftover"] == PREFIX + "roll-hybridops-next", dump(rerun)
    assert again["changed"] is False, dump(again)
    assert client.inspect_container(PREFIX + "roll")["Config"]["Image"] == WEB2
    assert names(client) == [PREFIX + "roll"]  # the half-done replacement is gone


# ---------------------------------------------------------------- an engine that cannot be reached

MODULE_PROBE = """
import json, runpy, sys
sys.argv = [sys.argv[1], sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_module_without_dac_override(module, args, tmp_path):
    """One module run as Ansible runs it on a managed host, by root without CAP_DAC_OVERRIDE/DAC_READ_SEARCH
    (root otherwise opens any socket whatever its mode); returns its JSON result."""
    path = tmp_path / ("%s-args.json" % module)
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    collections = os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0]
    source = os.path.join(collections, "ansible_collections", "hybridops", "fleet", "plugins", "modules",
                          module + ".py")
    cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, source, str(path)]
    proc = subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=collections), capture_output=True,
                          text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def test_unreachable_engine_fails_clearly(ansible, engine, tmp_path):
    # an engine that is down (its socket file stays behind, as after a crash)
    engine.stop(signal.SIGKILL)
    try:
        down = ansible.run_module("container", {"name": PREFIX + "x", "image": BOX, "docker_host": engine.host})
        assert_clear_failure(down, "cannot reach the Docker engine at " + engine.host, "connection refused")
        print("engine down said:", down["msg"])
    finally:
        engine.start()
    # a socket this user may not open (another owner, mode 0600)
    st = os.stat(engine.sock)
    os.chown(engine.sock, 65534, 65534)
    os.chmod(engine.sock, 0o600)
    try:
        denied = run_module_without_dac_override("container_info", {"docker_host": engine.host}, tmp_path)
    finally:
        os.chown(engine.sock, st.st_uid, st.st_gid)
        os.chmod(engine.sock, st.st_mode & 0o777)
    assert_clear_failure(denied, "cannot reach the Docker engine at " + engine.host, "permission denied")
    print("socket denied said:", denied["msg"])


# ---------------------------------------------------------------- libvirt: a private session-mode daemon

LV_PREFIX = "hybridops-it-fault-"
LV_POOL = LV_PREFIX + "pool"
BASE_VOL = LV_PREFIX + "base.qcow2"


def pool_xml(name, path):
    return "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (name, path)


@pytest.fixture(scope="module")
def libvirtd(lab_env):
    libvirt = pytest.importorskip("libvirt")
    root = tempfile.mkdtemp(prefix="hybridops-fault-libvirt-")
    daemon = faults.PrivateLibvirtd(root)
    daemon.start()
    pool_dir = os.path.join(root, "pool")
    os.makedirs(pool_dir)
    daemon.chown(pool_dir)
    conn = libvirt.open(daemon.uri)
    pool = conn.storagePoolCreateXML(pool_xml(LV_POOL, pool_dir), 0)  # transient: gone with the daemon
    pool.createXML("<volume><name>%s</name><capacity unit='MiB'>16</capacity><target><format type='qcow2'/>"
                   "</target></volume>" % BASE_VOL, 0)
    conn.close()
    daemon.pool_dir = pool_dir
    yield daemon
    daemon.release()
    daemon.stop()
    faults.remove_tree(root)


def lv_state(uri, pool_name=LV_POOL):
    """(domain names, volume names of the pool), read afresh (the pool is refreshed first)."""
    import libvirt  # pylint: disable=import-outside-toplevel
    conn = libvirt.open(uri)
    try:
        pool = conn.storagePoolLookupByName(pool_name)
        lab.refresh_pool(pool)
        return sorted(d.name() for d in conn.listAllDomains(0)), sorted(pool.listVolumes())
    finally:
        conn.close()


def vm_args(uri, name, disks):
    return {"uri": uri, "name": name, "pool": LV_POOL, "domain_type": "qemu", "memory": "64MiB", "vcpus": 1,
            "networks": [], "disks": disks}


def test_libvirtd_restarted_during_a_provision(ansible, libvirtd):
    vms = [LV_PREFIX + "vm%d" % i for i in range(3)]
    disks = [{"name": "root", "base": BASE_VOL}, {"name": "data", "base": BASE_VOL}]
    task = {"hybridops.fleet.libvirt_vm": "{{ item }}", "loop": [vm_args(libvirtd.uri, vm, disks) for vm in vms]}
    # the second overlay of the first VM is held; meanwhile libvirtd is killed (and started again after the run)
    libvirtd.hold_create(2)
    thread, box = in_background(ansible.run_tasks, [task])
    wait_until("the second qemu-img create", lambda: os.path.exists(libvirtd.held), timeout=300)
    libvirtd.stop(signal.SIGKILL)
    failed = joined(thread, box)["localhost"][0]
    libvirtd.release()  # the held qemu-img now writes its file, as one outliving its daemon would
    # ... and has written it before the daemon comes back (its pool scan then finds the file)
    held_file = os.path.join(libvirtd.root, "pool", vms[0] + "-data.qcow2")
    wait_until("the held qemu-img create to finish", lambda: os.path.exists(held_file), timeout=60)
    libvirtd.start()
    assert failed.get("failed") is True, dump(failed)
    first = failed["results"][0]
    msg = assert_clear_failure(first, vms[0])
    print("libvirtd restart said:", msg, "| then:", [r.get("msg") for r in failed["results"][1:]])
    for later in failed["results"][1:]:
        assert_clear_failure(later)

    rerun, again = ansible.run_tasks([task, dict(task)])["localhost"]
    assert rerun.get("failed") is not True, dump(rerun)
    assert again["changed"] is False, dump(again)
    # nothing orphaned: the three domains, each with its two overlays, and the base; nothing else
    domains, vols = lv_state(libvirtd.uri)
    assert domains == vms
    assert vols == sorted([BASE_VOL] + ["%s-%s.qcow2" % (vm, d) for vm in vms for d in ("root", "data")])
    removed = ansible.run_tasks([{"hybridops.fleet.libvirt_vm": "{{ item }}",
                                  "loop": [{"uri": libvirtd.uri, "name": vm, "state": "absent", "remove_storage": True}
                                           for vm in vms]}])["localhost"][0]
    assert removed.get("failed") is not True, dump(removed)
    assert lv_state(libvirtd.uri) == ([], [BASE_VOL])  # every overlay was the VMs' own


def test_pool_filesystem_full_during_an_overlay_create(ansible, libvirtd):
    import libvirt  # pylint: disable=import-outside-toplevel
    full_dir = os.path.join(libvirtd.root, "full")
    os.makedirs(full_dir)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", full_dir], check=True)
    full_pool = LV_PREFIX + "full"
    conn = libvirt.open(libvirtd.uri)
    try:
        os.chown(full_dir, libvirtd.user.pw_uid, libvirtd.user.pw_gid)
        pool = conn.storagePoolCreateXML(pool_xml(full_pool, full_dir), 0)
        # fill the filesystem to its last byte
        subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(full_dir, "filler"), "bs=64k"],
                       capture_output=True, check=False)
        lab.refresh_pool(pool)
        name = LV_PREFIX + "full"
        args = vm_args(libvirtd.uri, name, [{"name": "root", "base": BASE_VOL},
                                            {"name": "data", "base": BASE_VOL, "base_pool": LV_POOL, "pool": full_pool}])
        failed = ansible.run_module("libvirt_vm", args)
        msg = assert_clear_failure(failed, name + "-data.qcow2", full_pool)
        assert msg.endswith("No space left on device (nothing was left behind)"), msg
        print("pool full said:", msg)
        # nothing left behind: no domain, the root overlay made before the failure is gone again
        domains, vols = lv_state(libvirtd.uri)
        assert name not in domains and vols == [BASE_VOL], (domains, vols)
        assert lv_state(libvirtd.uri, full_pool)[1] == ["filler"]
        os.unlink(os.path.join(full_dir, "filler"))
        converged, again, removed = ansible.run_tasks([{"hybridops.fleet.libvirt_vm": args},
                                                       {"hybridops.fleet.libvirt_vm": args},
                                                       {"hybridops.fleet.libvirt_vm": dict(args, state="absent",
                                                                                           remove_storage=True)}])["localhost"]
        assert converged.get("failed") is not True and converged["changed"] is True, dump(converged)
        assert again["changed"] is False and removed["changed"] is True, dump([again, removed])
        assert lv_state(libvirtd.uri) == ([], [BASE_VOL]) and lv_state(libvirtd.uri, full_pool)[1] == []
    finally:
        try:
            conn.storagePoolLookupByName(full_pool).destroy()
        except libvirt.libvirtError:
            pass
        conn.close()
        subprocess.run(["umount", full_dir], check=False)


# ---------------------------------------------------------------- ownership of volumes (the lab's engine)

LAB_ENGINE = "unix:///run/hybridops-lab/docker.sock"


def test_volumes_the_collection_did_not_create_are_kept_without_force(ansible, lab_env):
    api = docker.APIClient(base_url=LAB_ENGINE, version="auto", timeout=30)
    foreign, owned, stackvol = PREFIX + "foreign", PREFIX + "owned", PREFIX + "stackvol"
    for name in (foreign, owned, stackvol):
        try:
            api.remove_volume(name, force=True)
        except docker.errors.NotFound:
            pass
    api.create_volume(foreign, labels={"owner": "someone-else"})
    stack = {"name": PREFIX + "ownstack", "containers": [], "volumes": [{"name": stackvol}, {"name": foreign}],
             "docker_host": LAB_ENGINE}
    try:
        results = ansible.run_tasks([
            {"hybridops.fleet.container_volume": {"name": foreign, "state": "absent", "docker_host": LAB_ENGINE},
             "check_mode": True},
            {"hybridops.fleet.container_volume": {"name": foreign, "state": "absent", "docker_host": LAB_ENGINE}},
            {"hybridops.fleet.container_volume": {"name": foreign, "driver_opts": {"type": "tmpfs", "device": "tmpfs"},
                                                  "force": False, "docker_host": LAB_ENGINE}},
            {"hybridops.fleet.container_volume": {"name": owned, "docker_host": LAB_ENGINE}},
            {"hybridops.fleet.container_stack": stack},
            {"hybridops.fleet.container_stack": dict(stack, state="absent", remove_volumes=True)},
        ])["localhost"]
        checked, refused, recreate, created, with_stack, stack_gone = results
        for result in (checked, refused):
            msg = assert_clear_failure(result, "refusing to remove volume " + foreign, "not created by hybridops.fleet",
                                       "force: true")
        print("foreign volume said:", msg)
        assert_clear_failure(recreate, "force")
        assert api.inspect_volume(foreign)["Labels"] == {"owner": "someone-else"}  # untouched
        assert created["volume"]["labels"] == {"hybridops.fleet.managed": "true"}, dump(created)
        assert with_stack["volumes_created"] == [stackvol], dump(with_stack)  # the foreign one is used, not taken
        assert stack_gone["volumes_removed"] == [stackvol], dump(stack_gone)
        assert api.inspect_volume(foreign)["Name"] == foreign
        removed = ansible.run_tasks([
            {"hybridops.fleet.container_volume": {"name": owned, "state": "absent", "docker_host": LAB_ENGINE}},
            {"hybridops.fleet.container_volume": {"name": foreign, "state": "absent", "force": True,
                                                  "docker_host": LAB_ENGINE}},
        ])["localhost"]
        assert [r.get("changed") for r in removed] == [True, True], dump(removed)
        assert not [v for v in (api.volumes().get("Volumes") or []) if v["Name"] in (foreign, owned, stackvol)]
    finally:
        for name in (foreign, owned, stackvol):
            try:
                api.remove_volume(name, force=True)
            except docker.errors.NotFound:
                pass
        api.close()
