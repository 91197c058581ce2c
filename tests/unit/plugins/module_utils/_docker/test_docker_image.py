"""Pure parts of the image manager: archive manifests and build-context hashes."""
import io
import json
import tarfile

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.image import archive_manifest, context_hash


def write_archive(path, manifest, mode="w"):
    with tarfile.open(str(path), mode) as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("mode,name", [("w", "a.tar"), ("w:gz", "a.tar.gz"), ("w:xz", "a.tar.xz")])
def test_archive_manifest_legacy_and_compressed(tmp_path, mode, name):
    path = tmp_path / name
    write_archive(path, [{"Config": "abc123.json", "RepoTags": ["web:1"], "Layers": []}], mode)
    assert archive_manifest(str(path)) == [("sha256:abc123", ["web:1"])]


def test_archive_manifest_oci_layout(tmp_path):
    path = tmp_path / "oci.tar"
    write_archive(path, [{"Config": "blobs/sha256/def456", "RepoTags": None, "Layers": []}])
    assert archive_manifest(str(path)) == [("sha256:def456", [])]


def test_archive_manifest_errors(tmp_path):
    with pytest.raises(ValidationError) as info:
        archive_manifest(str(tmp_path / "missing.tar"))
    assert info.value.option == "load_path"
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not a tar" * 100)
    with pytest.raises(ValidationError):
        archive_manifest(str(bad))
    empty = tmp_path / "empty.tar"
    with tarfile.open(str(empty), "w"):
        pass
    with pytest.raises(ValidationError) as info:
        archive_manifest(str(empty))
    assert "manifest.json" in str(info.value)


def test_context_hash_tracks_content_args_and_mode(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f").write_text("1")
    first = context_hash(str(tmp_path), "Dockerfile", {"A": "1"}, None)
    assert first == context_hash(str(tmp_path), "Dockerfile", {"A": "1"}, None)
    assert first != context_hash(str(tmp_path), "Dockerfile", {"A": "2"}, None)
    assert first != context_hash(str(tmp_path), "Dockerfile", {"A": "1"}, "stage")
    (tmp_path / "sub" / "f").write_text("2")
    second = context_hash(str(tmp_path), "Dockerfile", {"A": "1"}, None)
    assert second != first
    (tmp_path / "sub" / "f").chmod(0o755)
    assert context_hash(str(tmp_path), "Dockerfile", {"A": "1"}, None) != second
