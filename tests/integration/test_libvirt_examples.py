"""The EXAMPLES of libvirt_network, libvirt_volume and libvirt_snapshot, run as written against the
lab's libvirtd (names prefixed hybridops-it-ex-, paths and the pool pointed at the lab)."""
import ast
import hashlib
import os
import subprocess

import pytest
import yaml

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
PREFIX = "hybridops-it-ex-"  # the conn fixture (conftest.py) removes what carries it, before and after this module


def examples(module, replacements):
    path = os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "modules", module + ".py")
    with open(path) as handle:
        tree = ast.parse(handle.read())
    text = [node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES"][0]
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    tasks = yaml.safe_load(text)
    for task in tasks:
        args = task.get("hybridops.fleet." + module)
        if isinstance(args, dict):
            args["uri"] = URI
    return tasks


def run_all(ansible, tasks):
    results = ansible.run_tasks(tasks)["localhost"]
    for task, result in zip(tasks, results):
        assert not result.get("failed"), (task["name"], result.get("msg"))
    return results


def test_network_examples(ansible, conn):
    tasks = examples("libvirt_network", [("name: fleet", "name: %sfleet" % PREFIX), ("name: backend", "name: %sbackend" % PREFIX),
                                         ("virbr10", "virbr-itex")])
    results = run_all(ansible, tasks)
    assert [r["changed"] for r in results] == [True, True, True]
    assert PREFIX + "fleet" in conn.listNetworks()
    assert PREFIX + "backend" not in conn.listNetworks() + conn.listDefinedNetworks()
    assert [r["changed"] for r in run_all(ansible, tasks)] == [False, True, True]


def test_volume_examples(ansible, conn, tmp_path):
    image = str(tmp_path / "debian12.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", image, "32M"], check=True)
    with open(image, "rb") as handle:
        (tmp_path / "debian12.qcow2.sha256").write_text(hashlib.sha256(handle.read()).hexdigest())
    tasks = examples("libvirt_volume", [("/var/cache/images/", str(tmp_path) + "/"), ("name: debian12.qcow2", "name: %sdebian12.qcow2" % PREFIX),
                                        ("backing: debian12.qcow2", "backing: %sdebian12.qcow2" % PREFIX),
                                        ("clone_from: debian12.qcow2", "clone_from: %sdebian12.qcow2" % PREFIX),
                                        ("name: debian12-copy", "name: %sdebian12-copy" % PREFIX),
                                        ("name: web1-", "name: %sweb1-" % PREFIX), ("pool: default", "pool: " + POOL)])
    for task in tasks:
        task["hybridops.fleet.libvirt_volume"].setdefault("pool", POOL)
    results = run_all(ansible, tasks)
    assert all(r["changed"] for r in results)
    assert results[0]["volume"]["format"] == "qcow2" and results[1]["volume"]["format"] == "qcow2"
    assert results[2]["volume"]["capacity"] == 20 * 1024 ** 3


def test_snapshot_examples(ansible, conn):
    vm = PREFIX + "web1"
    setup = ansible.run_module("libvirt_vm", {"uri": URI, "name": vm, "pool": POOL, "memory": 128, "disks": [{"size": "64MiB"}]})
    assert not setup.get("failed"), setup.get("msg")
    tasks = examples("libvirt_snapshot", [("vm: web1", "vm: " + vm)])
    results = run_all(ansible, tasks)
    assert [r["changed"] for r in results] == [True, True, False, True]
    assert [s["name"] for s in results[2]["snapshots"]] == ["before-migration"]
    assert conn.lookupByName(vm).snapshotNum(0) == 0
