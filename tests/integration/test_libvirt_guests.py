"""Booted guests (the lab's cached Debian image, TCG, direct kernel boot), shared by every test here.

Three guests are provisioned concurrently by one libvirt_vms task on qcow2
overlays of the cached base. One of them gets a cloud-init seed with a key made for
this run. The tests then prove: overlay on the base, key injection, IP via lease and
via the guest agent, SSH, snapshot + revert (a file written after the snapshot is
gone after the revert), and that the three boots overlapped.
"""
import subprocess
import time

import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

TEST_GROUP = "own_guests"  # boots three guests of its own (conftest.py: module_group)

URI = "qemu:///system"
PREFIX = "hybridops-it-g-"  # the conn fixture (conftest.py) removes what carries it, before and after this module
NAMES = [PREFIX + "a", PREFIX + "b", PREFIX + "c"]
CLOUD_INIT_GUEST = NAMES[0]


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("key") / "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hybridops-it", "-f", path], check=True)
    with open(path + ".pub") as handle:
        return path, handle.read().strip()


@pytest.fixture(scope="module")
def image(lab_env):
    return lab_env.image()


def guest_args(name, image, pool, network, pubkey=None, wait=None):
    args = {
        "uri": URI, "name": name, "state": "running", "pool": pool,
        "domain_type": "qemu", "memory": "512MiB", "vcpus": 1,
        "kernel": image.kernel, "initrd": image.initrd, "cmdline": image.cmdline,
        "disks": [{"name": "root", "base": image.volume, "size": "6GiB"}],
        "networks": [{"network": network}],
        "tags": ["it-guest"],
        "wait": wait or {"ssh": True, "ip_sources": ["lease"], "timeout": 900, "interval": 5},
    }
    if pubkey:
        args["cloud_init"] = {"ssh_authorized_keys": [pubkey], "hostname": "it-cloud-init"}
        # cloud-init restarts sshd while it runs (set-passwords): SSH is usable once it has finished
        args["wait"] = dict(args["wait"], cloud_init=True)
    return args


@pytest.fixture(scope="module")
def guests(ansible, conn, lab_env, image, key):
    """Provision the three guests in one playbook, concurrently; returns per-guest results and timings."""
    items = [guest_args(name, image, lab_env.pool, lab_env.network, key[1] if name == CLOUD_INIT_GUEST else None)
             for name in NAMES]
    started = time.monotonic()
    result = ansible.run_module("libvirt_vms", {"uri": URI, "vms": items, "max_workers": 3}, timeout=2400)
    elapsed = time.monotonic() - started
    assert result.get("failed") is not True, result.get("msg")
    collected = result["results"]
    by_name = dict((item["vm"]["name"], item) for item in collected)
    assert sorted(by_name) == sorted(NAMES), collected
    return {"results": by_name, "elapsed": elapsed, "key": key, "image": image}


def ssh(keyfile, ip, command):
    return subprocess.run(
        ["ssh", "-i", keyfile, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "root@" + ip, command],
        capture_output=True, text=True, timeout=180, check=False)


def test_three_guests_provisioned_concurrently(guests):
    waits = dict((name, r["wait"]["waited"]) for name, r in guests["results"].items())
    for name, result in guests["results"].items():
        assert result["changed"] and result["created"], name
        assert result["vm"]["state"] == "running", name
        assert result["wait"]["ip_source"] == "lease" and result["wait"]["ssh"].startswith("SSH-"), name
        assert result["vm"]["ip"] == result["wait"]["ip"], name
    # Boots that ran one after another could not wait longer in total than the whole run took.
    print("provisioning of 3 guests took %.0fs; per-guest waits: %s" % (guests["elapsed"], waits))
    assert sum(waits.values()) > guests["elapsed"], (guests["elapsed"], waits)


def test_overlay_on_cached_base(guests, conn):
    image = guests["image"]
    for name, result in guests["results"].items():
        root = result["vm"]["disks"][0]
        assert root["target"] == "vda" and root["format"] == "qcow2" and root["capacity"] == 6 * 1024 ** 3
        vol = conn.storageVolLookupByPath(root["path"])
        assert image.path in vol.XMLDesc(0), name  # backing store is the shared base


def test_cloud_init_injected_key(guests):
    keyfile = guests["key"][0]
    with_seed = guests["results"][CLOUD_INIT_GUEST]
    assert [d["path"].endswith("-cidata.iso") for d in with_seed["vm"]["disks"]] == [False, True]
    assert with_seed["wait"]["cloud_init"] == "done" and with_seed["wait"]["agent"] is True
    proc = ssh(keyfile, with_seed["vm"]["ip"], "hostname")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "it-cloud-init"
    # control: the same key is refused by a guest that got no seed
    other = guests["results"][NAMES[1]]
    assert ssh(keyfile, other["vm"]["ip"], "true").returncode != 0


def test_wait_via_agent_and_idempotent_running_guest(ansible, guests, lab_env):
    name = NAMES[1]
    args = guest_args(name, guests["image"], lab_env.pool, lab_env.network,
                      wait={"ip": True, "agent": True, "cloud_init": True, "ip_sources": ["agent"], "timeout": 600,
                            "interval": 5})
    result = ansible.run_module("libvirt_vm", args)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False, result["changes"]
    assert result["wait"]["agent"] is True and result["wait"]["ip_source"] == "agent"
    # no seed attached: ds-identify disabled cloud-init for the boot, so there is nothing to wait for
    assert result["wait"]["cloud_init"] == "disabled"
    assert result["wait"]["ip"] == guests["results"][name]["vm"]["ip"]


def test_snapshot_revert_removes_file(ansible, guests, lab_env):
    name = NAMES[2]
    keyfile = guests["image"].ssh_key
    ip = guests["results"][name]["vm"]["ip"]
    snap = ansible.run_module("libvirt_snapshot", {"uri": URI, "vm": name, "name": "clean"})
    assert not snap.get("failed"), snap.get("msg")
    assert snap["snapshot"]["state"] == "running"
    made = ssh(keyfile, ip, "echo hello > /root/after-snapshot && sync && cat /root/after-snapshot")
    assert made.returncode == 0 and made.stdout.strip() == "hello", made.stderr
    reverted = ansible.run_module("libvirt_snapshot", {"uri": URI, "vm": name, "name": "clean", "state": "reverted"})
    assert not reverted.get("failed"), reverted.get("msg")
    back = ansible.run_module("libvirt_vm", guest_args(name, guests["image"], lab_env.pool, lab_env.network))
    assert not back.get("failed"), back.get("msg")
    assert back["vm"]["state"] == "running"
    check = ssh(keyfile, back["wait"]["ip"], "test -e /root/after-snapshot && echo present || echo absent")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "absent"


def test_vm_info_reports_guest_ips(ansible, guests):
    result = ansible.run_module("libvirt_vm_info", {"uri": URI, "tags": ["it-guest"], "state": ["running"]})
    assert not result.get("failed"), result.get("msg")
    found = dict((vm["name"], vm) for vm in result["vms"])
    assert sorted(found) == sorted(NAMES)
    for name in NAMES:
        assert found[name]["ip"], name
        assert found[name]["interfaces"][0]["ips"] == [found[name]["ip"]], name
    for name in NAMES[:2]:
        assert found[name]["ip"] == guests["results"][name]["vm"]["ip"], name


def test_graceful_stop_and_absent_of_booted_guest(ansible, guests, conn, lab_env):
    name = NAMES[1]
    stopped = ansible.run_module("libvirt_vm", dict(guest_args(name, guests["image"], lab_env.pool, lab_env.network),
                                                    state="stopped", wait=None, shutdown_timeout=300))
    assert not stopped.get("failed"), stopped.get("msg")
    assert stopped["vm"]["state"] == "stopped" and "shutdown" in stopped["actions"] and "destroy" not in stopped["actions"]
    assert not conn.lookupByName(name).isActive()
    overlay = guests["results"][name]["vm"]["disks"][0]["path"]
    gone = ansible.run_module("libvirt_vm", {"uri": URI, "name": name, "state": "absent", "remove_storage": True})
    assert not gone.get("failed"), gone.get("msg")
    assert gone["removed_volumes"] == [overlay]
    assert name not in [d.name() for d in conn.listAllDomains(0)]
    assert guests["image"].path not in gone["removed_volumes"]
