"""Nothing lost during changes, on the lab's real dockerd and libvirtd (host group).

- a recreate the engine refuses (at create, or at start because another container holds the host port)
  leaves the old container running with the same ID and no temporaries;
- a recreate with fixed host ports succeeds (new ID, no leftovers);
- SIGTERM to the module in the middle of a stack converge, and SIGINT to the whole ansible-playbook (a
  terminal's Ctrl-C, after which the module process goes on by itself): the task says what was done, the
  immediate rerun waits for the lock and converges, no temporaries are left;
- a held lock makes a run wait and fail at lock_timeout naming the holder; two runs at once both succeed
  (container_stack, and libvirt_vm on qemu:///system with a define-only domain).

Names start with ``safe-`` (containers) and ``hybridops-it-safe-`` (the VM) so nothing else here collides.
"""
import os
import signal
import sys
import time

import docker
import pytest

# fixtures are imported so pytest finds them
from test_container_support import docker_client, dump, test_images  # noqa: F401 pylint: disable=unused-import

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".collections"))
from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard  # noqa: E402

WEB1 = "hybridops-test/web:1"
BOX = "hybridops-test/box:1"
P = "safe-"
URI = "qemu:///system"  # the conn fixture (conftest.py) removes libvirt objects named PREFIX* around this module
PREFIX = "hybridops-it-safe-"
NET = P + "net"
HOST = os.environ.get("DOCKER_HOST", "unix:///run/hybridops-lab/docker.sock")


def ours(client):
    return sorted(n.lstrip("/") for item in client.api.containers(all=True) for n in item["Names"]
                  if n.lstrip("/").startswith(P))


def remove_ours(client):
    for item in client.api.containers(all=True):
        if any(n.lstrip("/").startswith(P) for n in item["Names"]):
            try:
                client.api.remove_container(item["Id"], force=True, v=True)
            except docker.errors.NotFound:
                pass


@pytest.fixture
def safe_clean(docker_client, test_images):
    """No safe-* containers before and after; the network NET (a user-defined bridge) for them."""
    remove_ours(docker_client)
    if not docker_client.api.networks(names=[NET]):
        docker_client.api.create_network(NET, driver="bridge")
    yield docker_client
    remove_ours(docker_client)
    for net in docker_client.api.networks(names=[NET]):
        docker_client.api.remove_network(net["Id"])


def temporaries(client):
    return [n for n in ours(client) if ".hybridops-" in n or n.endswith("-hybridops-next")]


def test_refused_recreates_keep_the_old_container_and_fixed_ports_recreate(ansible, safe_clean):
    client = safe_clean
    web = {"name": P + "web", "image": WEB1, "ports": ["127.0.0.1:18911:8080"], "stop_timeout": 1,
           "networks": [{"name": NET}]}
    info = {"hybridops.fleet.container_info": {"name": [P + "web"]}}
    results = ansible.run_tasks([
        {"hybridops.fleet.container": web},
        # the engine refuses the create (no such logging plugin)
        {"hybridops.fleet.container": dict(web, env={"V": "2"}, log_driver="hybridops-nope")},
        info,
        # another container holds the host port the new spec wants: the create works, the start cannot bind it
        {"hybridops.fleet.container": {"name": P + "holder", "image": BOX, "ports": ["127.0.0.1:18912:8080"],
                                       "networks": [{"name": NET}]}},
        {"hybridops.fleet.container": dict(web, ports=["127.0.0.1:18912:8080"])},
        info,
        # a recreate on the same fixed host port: created beside, started once the old one stopped
        {"hybridops.fleet.container": dict(web, env={"V": "3"})},
        {"hybridops.fleet.container": dict(web, env={"V": "3"})},
    ])["localhost"]
    created, refused, after_refused, _holder, unbindable, after_unbindable, recreated, again = results
    assert not created.get("failed"), dump(created)
    first = created["container"]["Id"]
    assert refused.get("failed") and "the engine refused the replacement container" in refused["msg"], dump(refused)
    assert "hybridops-nope" in refused["msg"] and "is still running" in refused["msg"]
    assert refused["old_container_id"] == first and refused["rolled_back"] is True
    assert [(c["id"], c["running"]) for c in after_refused["containers"]] == [(first, True)], dump(after_refused)

    assert unbindable.get("failed") and "could not be started" in unbindable["msg"], dump(unbindable)
    assert "brought back: renamed back to %sweb, running" % P in unbindable["msg"]
    assert [(c["id"], c["running"]) for c in after_unbindable["containers"]] == [(first, True)]

    assert not recreated.get("failed") and recreated["actions"] == ["recreate", "start"], dump(recreated)
    assert recreated["container"]["Id"] != first and recreated["container"]["State"]["Running"]
    assert again["changed"] is False
    data = client.api.inspect_container(P + "web")
    assert data["Id"] == recreated["container"]["Id"]
    assert data["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"] == "18911"
    assert temporaries(client) == [] and ours(client) == [P + "holder", P + "web"]


def stack(env="1", name=P + "st", **extra):
    common = {"image": WEB1, "env": {"V": env}, "stop_timeout": 1, "networks": [{"name": NET}]}
    members = [dict(common, name=P + "st-a")]
    for prev, cur in (("a", "b"), ("b", "c")):
        members.append(dict(common, name=P + "st-" + cur, depends_on=[P + "st-" + prev]))
    return {"hybridops.fleet.container_stack": dict({"name": name, "member_state": "healthy",
                                                     "containers": members}, **extra)}


def children_of():
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            table.setdefault(ppid, []).append(int(entry))
    return table


def module_process(pid):
    """The module's python process under an ansible-playbook run (pipelined: a python without ansible-playbook
    on its command line), or None."""
    table = children_of()
    todo = [pid]
    while todo:
        for child in table.get(todo.pop(), []):
            todo.append(child)
            try:
                with open("/proc/%d/cmdline" % child) as handle:
                    argv = handle.read().split("\0")
            except OSError:
                continue
            if "python" in os.path.basename(argv[0]) and not any("ansible" in part for part in argv[1:]):
                return child
    return None


def wait_for(predicate, what, attempts=600):
    for _attempt in range(attempts):
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("gave up waiting for " + what)


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_signals_in_the_middle_of_a_stack_and_the_rerun(ansible, safe_clean):
    client = safe_clean
    # SIGTERM to the module once the first member exists: it starts no other member and says what it did
    run = ansible.start_tasks([stack()])
    module = wait_for(lambda: module_process(run.pid), "the module process")
    wait_for(lambda: P + "st-a" in ours(client), "the first member")
    os.kill(module, signal.SIGTERM)
    interrupted = ansible.collect(run)["localhost"][0]
    assert interrupted.get("failed") and "interrupted by SIGTERM" in interrupted["msg"], dump(interrupted)
    assert interrupted["interrupted"] == "SIGTERM"
    assert P + "st-c" not in ours(client) and interrupted["containers"][P + "st-c"]["status"] == "skipped"
    assert temporaries(client) == []

    rerun = ansible.run_tasks([stack()])["localhost"][0]
    assert not rerun.get("failed") and rerun["changed"] is True, dump(rerun)
    ids = dict((n, client.api.inspect_container(n)["Id"]) for n in (P + "st-a", P + "st-b", P + "st-c"))

    # Ctrl-C to the whole run during a recreate of every member: ansible-playbook ends, its module process
    # goes on by itself, finishes or undoes its step and drops the lock; the immediate rerun waits for it
    run = ansible.start_tasks([stack(env="2")])
    module = wait_for(lambda: module_process(run.pid), "the module process")
    os.killpg(run.pid, signal.SIGINT)
    run.communicate(timeout=600)
    rerun, again = ansible.run_tasks([stack(env="2"), stack(env="2")])["localhost"]
    assert not rerun.get("failed"), dump(rerun)
    assert again["changed"] is False, dump(again)
    wait_for(lambda: gone(module), "the interrupted module to end")
    for name, old in ids.items():
        data = client.api.inspect_container(name)
        assert data["Id"] != old and "V=2" in data["Config"]["Env"] and data["State"]["Running"], name
    assert temporaries(client) == [] and ours(client) == [P + "st-a", P + "st-b", P + "st-c"]


def test_held_locks_make_runs_wait_and_concurrent_runs_converge(ansible, safe_clean, conn):
    """container_stack (keyed by stack) and libvirt_vm (keyed by URI and VM, on qemu:///system: the test driver
    lives in one process) in the same runs."""
    libvirt = pytest.importorskip("libvirt")
    client = safe_clean
    vm = PREFIX + "lock"
    vm_task = {"hybridops.fleet.libvirt_vm": {"uri": URI, "name": vm, "memory": "128MiB", "vcpus": 1,
                                              "domain_type": "qemu"}}
    keys = ["docker %s stack %s" % (HOST, P + "lk"), "libvirt %s vm %s" % (URI, vm)]
    held = guard.LockSet(keys, 5, holder="the test").acquire()
    try:
        blocked = ansible.run_tasks([stack(name=P + "lk", member_state="started", lock_timeout=1),
                                     {"hybridops.fleet.libvirt_vm": dict(vm_task["hybridops.fleet.libvirt_vm"],
                                                                         lock_timeout=1)}])["localhost"]
    finally:
        held.release()
    for key, result in zip(keys, blocked):
        assert result.get("failed") and "another run holds the lock on %s" % key in result["msg"], dump(result)
        assert "pid %d (the test" % os.getpid() in result["msg"] and "lock_timeout" in result["msg"]
    assert ours(client) == [] and vm not in conn.listDefinedDomains(), "a run without the lock changed something"
    try:
        # two runs at once: each object is converged by one while the other waits for it, then finds nothing to do
        tasks = [stack(name=P + "lk", member_state="started"), vm_task]
        first, second = ansible.start_tasks(tasks), ansible.start_tasks(tasks)
        results = [ansible.collect(first)["localhost"], ansible.collect(second)["localhost"]]
        assert not any(r.get("failed") for run in results for r in run), dump(results)
        for index in (0, 1):
            assert sorted(run[index]["changed"] for run in results) == [False, True], dump(results)
        assert ours(client) == [P + "st-a", P + "st-b", P + "st-c"] and vm in conn.listDefinedDomains()
    finally:
        try:
            conn.lookupByName(vm).undefine()
        except libvirt.libvirtError:
            pass
