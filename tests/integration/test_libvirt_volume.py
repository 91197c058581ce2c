"""libvirt_volume against the lab's libvirtd: streamed import with checksum, overlays, growth, deletion."""
import hashlib
import os
import subprocess

import lab  # tests/lab/lab.py (conftest puts it on sys.path)
import pytest

libvirt = pytest.importorskip("libvirt")
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # lookups of absent objects are expected

URI = os.environ.get("HYBRIDOPS_LIBVIRT_URI", "qemu:///system")
POOL = os.environ.get("HYBRIDOPS_LIBVIRT_POOL", "hybridops")
PREFIX = "hybridops-it-vol-"  # the conn fixture (conftest.py) removes what carries it, before and after this module


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A small real qcow2 image with content (made with qemu-img on the controller)."""
    path = str(tmp_path_factory.mktemp("img") / "base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "64M"], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 1M", path], check=True, capture_output=True)
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return path, digest


def vol(ansible, args, **kwargs):
    params = {"uri": URI, "pool": POOL}
    params.update(args)
    return ansible.run_module("libvirt_volume", params, **kwargs)


def names(conn):
    pool = conn.storagePoolLookupByName(POOL)
    lab.refresh_pool(pool)
    return sorted(v for v in pool.listVolumes() if v.startswith(PREFIX))


def test_import_checksum_idempotent(ansible, conn, image):
    path, digest = image
    name = PREFIX + "base.qcow2"
    bad = vol(ansible, {"name": name, "src": path, "checksum": "sha256:" + "0" * 64})
    assert bad.get("failed") and bad["option"] == "checksum" and digest in bad["msg"]
    assert name not in names(conn)
    predicted = vol(ansible, {"name": name, "src": path, "checksum": "sha256:" + digest}, check=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["upload"]
    assert name not in names(conn)
    done = vol(ansible, {"name": name, "src": path, "checksum": "sha256:" + digest}, diff=True)
    assert done["changed"] and done["volume"]["format"] == "qcow2"
    assert done["volume"]["capacity"] == 64 * 1024 ** 2
    assert done["volume"]["checksum"] == "sha256:" + digest
    with open(done["volume"]["path"], "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == digest
    again = vol(ansible, {"name": name, "src": path, "checksum": "sha256:" + digest})
    assert again["changed"] is False


def test_different_content_needs_force(ansible, conn, image, tmp_path):
    path, _digest = image
    name = PREFIX + "replace.img"
    other = tmp_path / "other.img"
    other.write_bytes(b"x" * 4096)
    assert vol(ansible, {"name": name, "src": str(other)})["changed"]
    refused = vol(ansible, {"name": name, "src": path})
    assert refused.get("failed") and refused["option"] == "force"
    replaced = vol(ansible, {"name": name, "src": path, "force": True})
    assert replaced["changed"] and replaced["actions"] == ["replace"]
    assert vol(ansible, {"name": name, "src": path})["changed"] is False


def test_overlay_grow_and_delete(ansible, conn, image):
    base = PREFIX + "base.qcow2"
    path, digest = image
    vol(ansible, {"name": base, "src": path})
    name = PREFIX + "overlay.qcow2"
    created = vol(ansible, {"name": name, "backing": base, "size": "128MiB"})
    assert created["changed"] and created["volume"]["backing_path"].endswith(base)
    assert created["volume"]["capacity"] == 128 * 1024 ** 2
    assert vol(ansible, {"name": name, "backing": base, "size": "128MiB"})["changed"] is False
    shrink = vol(ansible, {"name": name, "backing": base, "size": "64MiB"})
    assert shrink.get("failed") and shrink["option"] == "size"
    grown = vol(ansible, {"name": name, "backing": base, "size": "256MiB"}, diff=True)
    assert grown["actions"] == ["grow"] and grown["volume"]["capacity"] == 256 * 1024 ** 2
    assert grown["diff"]["before"]["capacity"] == 128 * 1024 ** 2
    empty = vol(ansible, {"name": PREFIX + "empty.qcow2", "size": 1})
    assert empty["changed"] and empty["volume"]["capacity"] == 1024 ** 3
    gone = vol(ansible, {"name": name, "state": "absent"})
    assert gone["changed"] and name not in names(conn)
    assert vol(ansible, {"name": name, "state": "absent"})["changed"] is False
    # the base keeps its content
    assert vol(ansible, {"name": base, "src": path, "checksum": digest})["changed"] is False


@pytest.mark.parametrize("args,option", [
    ({"name": PREFIX + "x", "size": "big"}, "size"),
    ({"name": PREFIX + "x"}, "src"),
    ({"name": PREFIX + "x", "src": "/nonexistent/file"}, "src"),
    ({"name": PREFIX + "x", "size": 1, "pool": "no-such-pool"}, "pool"),
    ({"name": PREFIX + "x", "backing": "no-such-base"}, "backing"),
    ({"name": PREFIX + "x", "size": 1, "checksum": "sha256:abc"}, "checksum"),
])
def test_bad_input(ansible, conn, args, option):
    result = vol(ansible, args)
    assert result.get("failed") and result["option"] == option, result
    assert PREFIX + "x" not in names(conn)


def test_clone_from_hypervisor_volume_with_checksum(ansible, conn, image):
    path, digest = image
    base = PREFIX + "base.qcow2"
    vol(ansible, {"name": base, "src": path})
    name = PREFIX + "clone.qcow2"
    bad = vol(ansible, {"name": name, "clone_from": base, "checksum": "0" * 64})
    assert bad.get("failed") and bad["option"] == "checksum" and name not in names(conn)
    cloned = vol(ansible, {"name": name, "clone_from": base, "checksum": digest})
    assert cloned["changed"] and cloned["actions"] == ["clone"]
    # same guest-visible data (libvirt copies with qemu-img convert, so the bytes differ)
    compare = subprocess.run(["qemu-img", "compare", "-q", path, cloned["volume"]["path"]], check=False)
    assert compare.returncode == 0
    assert vol(ansible, {"name": name, "clone_from": base, "checksum": digest})["changed"] is False
    again = vol(ansible, {"name": name, "clone_from": base, "force": True})
    assert again["changed"] and again["actions"] == ["replace clone"]
