"""playbooks/teardown.yml on the lab's libvirtd with define-only VMs (nothing boots).

Selection by list, by tag and by inventory group (each VM removed once even when selected twice),
keep-storage, check mode that removes nothing, and the collection's ownership rule.
"""
import os
import re

import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest

libvirt = pytest.importorskip("libvirt")

URI = "qemu:///system"
POOL = "hybridops"
PREFIX = "hybridops-it-td-"  # the conn fixture removes what carries it, before and after this module
BASE = PREFIX + "base.qcow2"  # the base_volume fixture (conftest.py) makes it
PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "playbooks", "teardown.yml")


def _define(ansible, names, tags):
    spec = {"uri": URI, "pool": POOL, "memory": "128MiB", "vcpus": 1, "state": "present",
            "disks": [{"name": "root", "base": BASE, "size": "1GiB"}], "networks": [{"network": "default"}]}
    results = ansible.run_tasks([{"hybridops.fleet.libvirt_vm": dict(spec, name=name, tags=tags.get(name, []))}
                                 for name in names])["localhost"]
    for result in results:
        assert not result.get("failed"), result.get("msg")


def _volumes(conn):
    pool = conn.storagePoolLookupByName(POOL)
    lab.refresh_pool(pool)
    return sorted(v for v in pool.listVolumes() if v.startswith(PREFIX) and v != BASE)


def _domains(conn):
    return sorted(d.name() for d in conn.listAllDomains(0) if d.name().startswith(PREFIX))


def _changed_items(out):
    """The VMs the playbook says it removed (or would remove, in check mode)."""
    said = [m.group(1) for m in re.finditer(r'"msg": "(?:removed|would remove): (.*)"', out)]
    assert len(said) == 1, out
    return [] if said[0] == "nothing" else sorted(said[0].split(", "))


def test_teardown_selects_by_list_tag_and_group(ansible, conn, base_volume, tmp_path):
    names = [PREFIX + n for n in ("a", "b", "c", "d", "keep")]
    _define(ansible, names, {PREFIX + "b": ["td-doomed"], PREFIX + "c": ["td-doomed", "x"]})
    foreign = PREFIX + "foreign"
    conn.defineXML("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                   "</domain>" % foreign)
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n[doomed_group]\n%sd ansible_connection=local\n"
                         "%s ansible_connection=local\n" % (PREFIX, foreign))
    extra = {"fleet_uri": URI, "fleet_vms": [{"name": PREFIX + "a"}, {"name": PREFIX + "b"}],
             "fleet_teardown_tags": ["td-doomed"], "fleet_teardown_group": "doomed_group"}
    volumes_before = _volumes(conn)
    # check mode: nothing goes; the foreign VM in the group already makes the run fail (ownership)
    recap, out = ansible.run_playbook(PLAYBOOK, str(inventory), extra_vars=extra, check=True)
    assert recap["localhost"]["failed"] == 1 and "force" in out, out
    assert _domains(conn) == sorted(names + [foreign]) and _volumes(conn) == volumes_before
    # without the foreign VM: a, b (list and tag), c (tag), d (group) go, with their storage; keep stays
    inventory.write_text("localhost ansible_connection=local\n[doomed_group]\n%sd ansible_connection=local\n" % PREFIX)
    doomed = [PREFIX + n for n in ("a", "b", "c", "d")]
    recap, out = ansible.run_playbook(PLAYBOOK, str(inventory), extra_vars=extra, check=True)
    assert recap["localhost"]["failed"] == 0 and _changed_items(out) == doomed, out
    assert _domains(conn) == sorted(names + [foreign])
    recap, out = ansible.run_playbook(PLAYBOOK, str(inventory), extra_vars=extra)
    assert recap["localhost"]["failed"] == 0 and _changed_items(out) == doomed, out
    assert _domains(conn) == [PREFIX + "foreign", PREFIX + "keep"]
    assert [v for v in _volumes(conn) if not v.startswith(PREFIX + "keep")] == []
    # again: nothing left to do
    recap, out = ansible.run_playbook(PLAYBOOK, str(inventory), extra_vars=extra)
    assert recap["localhost"]["failed"] == 0 and recap["localhost"]["changed"] == 0, out
    # keep-storage: the VM goes, its disk stays
    kept = _volumes(conn)
    assert kept and all(v.startswith(PREFIX + "keep") for v in kept)
    recap, out = ansible.run_playbook(PLAYBOOK, str(inventory), extra_vars={
        "fleet_uri": URI, "fleet_vms": [{"name": PREFIX + "keep"}], "fleet_teardown_keep_storage": True,
        "fleet_teardown_shutdown_timeout": 5})
    assert recap["localhost"]["failed"] == 0 and _changed_items(out) == [PREFIX + "keep"], out
    assert _domains(conn) == [foreign] and _volumes(conn) == kept
    # no selection at all is refused before anything happens
    recap, out = ansible.run_playbook(PLAYBOOK, str(inventory), extra_vars={"fleet_uri": URI})
    assert recap["localhost"]["failed"] == 1 and "fleet_teardown_tags" in out, out
