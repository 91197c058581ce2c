"""Volume helpers and LibvirtVolumeManager on test:///default (uploads need a real daemon: integration tests)."""
import pytest

libvirt = pytest.importorskip("libvirt")

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import volume as volumes  # noqa: E402
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient  # noqa: E402

POOL = "default-pool"


@pytest.fixture
def client():
    with LibvirtClient("test:///default") as conn:
        yield conn
        for vol in conn.pool(POOL).listAllVolumes():
            if vol.name().startswith("unit-vol-"):
                vol.delete(0)


def run(client, check=False, **params):
    params.setdefault("pool", POOL)
    params.setdefault("state", "present")
    return volumes.LibvirtVolumeManager(client, check_mode=check, diff=True).run(params)


@pytest.mark.parametrize("value,expected", [
    ("sha256:" + "a" * 64, ("sha256", "a" * 64)),
    ("B" * 64, ("sha256", "b" * 64)),
    ("md5:" + "0" * 32, ("md5", "0" * 32)),
    (None, (None, None)),
])
def test_parse_checksum(value, expected):
    assert volumes.parse_checksum(value) == expected


@pytest.mark.parametrize("value", ["crc32:abcd", "sha256:xyz", "sha256:" + "a" * 10])
def test_parse_checksum_rejects(value):
    with pytest.raises(ValidationError) as info:
        volumes.parse_checksum(value)
    assert info.value.option == "checksum"


def test_volume_xml_overlay():
    xml = volumes.volume_xml("o.qcow2", 1024, "qcow2", "/pool/base.qcow2", "qcow2")
    assert "<backingStore><path>/pool/base.qcow2</path><format type=\"qcow2\" /></backingStore>" in xml


def test_create_check_idempotent_absent(client):
    predicted = run(client, check=True, name="unit-vol-a", size="1GiB")
    assert predicted["changed"] and predicted["actions"] == ["create"]
    assert client.volume(client.pool(POOL), "unit-vol-a") is None
    created = run(client, name="unit-vol-a", size="1GiB")
    assert created["changed"] and created["volume"]["capacity"] == 1024 ** 3
    assert run(client, name="unit-vol-a", size="1GiB")["changed"] is False
    grow = run(client, check=True, name="unit-vol-a", size="2GiB")
    assert grow["actions"] == ["grow"] and grow["volume"]["capacity"] == 2 * 1024 ** 3
    assert grow["diff"]["before"]["capacity"] == 1024 ** 3
    with pytest.raises(ValidationError) as info:
        run(client, name="unit-vol-a", size="512MiB")
    assert info.value.option == "size"
    assert run(client, name="unit-vol-a", state="absent")["changed"]
    assert run(client, name="unit-vol-a", state="absent")["changed"] is False


def test_overlay_and_validation(client):
    run(client, name="unit-vol-base", size=1)
    overlay = run(client, name="unit-vol-ov", backing="unit-vol-base")
    assert overlay["actions"] == ["create overlay"] and overlay["volume"]["backing_path"].endswith("unit-vol-base")
    for params, option in (({"name": "unit-vol-x", "backing": "missing"}, "backing"),
                           ({"name": "unit-vol-x"}, "src"),
                           ({"name": "unit-vol-x", "size": "huge"}, "size"),
                           ({"name": "unit-vol-x", "size": 1, "pool": "nope"}, "pool"),
                           ({"name": "unit-vol-x", "src": "/nonexistent"}, "src"),
                           ({"name": "a/b", "size": 1}, "name"),
                           ({"name": "unit-vol-x\nevil", "size": 1}, "name"),
                           ({"name": "-unit-vol-x", "size": 1}, "name"),
                           ({"name": "v" * 256, "size": 1}, "name")):
        with pytest.raises(ValidationError) as info:
            run(client, **params)
        assert info.value.option == option
    assert client.volume(client.pool(POOL), "unit-vol-x") is None


def test_checksum_mismatch_of_source_creates_nothing(client, tmp_path):
    src = tmp_path / "img"
    src.write_bytes(b"data")
    with pytest.raises(ValidationError) as info:
        run(client, name="unit-vol-up", src=str(src), checksum="sha256:" + "0" * 64)
    assert info.value.option == "checksum" and volumes.file_checksum(str(src)) in str(info.value)
    assert client.volume(client.pool(POOL), "unit-vol-up") is None


def test_clone_from(client):
    run(client, name="unit-vol-src", size=1)
    predicted = run(client, check=True, name="unit-vol-copy", clone_from="unit-vol-src")
    assert predicted["actions"] == ["clone"] and client.volume(client.pool(POOL), "unit-vol-copy") is None
    cloned = run(client, name="unit-vol-copy", clone_from="unit-vol-src")
    assert cloned["changed"] and cloned["volume"]["capacity"] == 1024 ** 3
    assert run(client, name="unit-vol-copy", clone_from="unit-vol-src")["changed"] is False
    with pytest.raises(ValidationError) as info:
        run(client, name="unit-vol-x", clone_from="unit-vol-src", backing="unit-vol-src")
    assert info.value.option in ("backing", "clone_from")
    with pytest.raises(ValidationError) as info:
        run(client, name="unit-vol-x", clone_from="missing")
    assert info.value.option == "clone_from"


@pytest.mark.parametrize("size", ["999999PiB", 2 ** 63])
def test_size_beyond_a_64_bit_capacity_is_refused_first(client, size):
    with pytest.raises(ValidationError) as info:
        run(client, name="unit-vol-huge", size=size)
    assert info.value.option == "size" and "8 EiB" in str(info.value)
    assert client.volume(client.pool(POOL), "unit-vol-huge") is None
