"""Pure parts of the image manager: archive manifests and build-context hashes."""
import io
import json
import tarfile

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.image import (
    archive_manifest,
    context_hash,
    validate,
)


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


@pytest.mark.parametrize("manifest", [b'{"Config": "x.json"}', b'["abc"]', b"[]", b'[{"RepoTags": ["a:1"]}]',
                                      b'[{"Config": "x.json", "RepoTags": "a:1"}]'])
def test_archive_manifest_of_another_shape(tmp_path, manifest):
    path = tmp_path / "odd.tar"
    with tarfile.open(str(path), "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    with pytest.raises(ValidationError) as info:
        archive_manifest(str(path))
    assert info.value.option == "load_path" and "docker save" in str(info.value)


def test_archive_manifest_directory(tmp_path):
    with pytest.raises(ValidationError) as info:
        archive_manifest(str(tmp_path))
    assert info.value.option == "load_path" and "is a directory" in str(info.value)


def _build_params(tmp_path, **build):
    (tmp_path / "ctx").mkdir(exist_ok=True)
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "Dockerfile.outside").write_text("FROM scratch\n")
    return {"name": "web:1", "state": "present", "source": "build", "tags": [],
            "build": dict({"path": str(tmp_path / "ctx"), "dockerfile": "Dockerfile"}, **build)}


@pytest.mark.parametrize("build,option", [
    ({"dockerfile": "../Dockerfile.outside"}, "build.dockerfile"),
    ({"dockerfile": "/etc/hostname"}, "build.dockerfile"),
    ({"dockerfile": "Nope"}, "build.dockerfile"),
    ({"args": {"V": {"a": 1}}}, "build.args.V"),
    ({"args": {"V=1": "x"}}, "build.args"),
    ({"labels": {"team": ["a"]}}, "build.labels.team"),
    ({"target": "base\nevil"}, "build.target"),
])
def test_validate_build(tmp_path, build, option):
    with pytest.raises(ValidationError) as info:
        validate(_build_params(tmp_path, **build))
    assert info.value.option == option and info.value.accepted


def test_validate_names_tags_and_returns_strings(tmp_path):
    checked = validate(_build_params(tmp_path, args={"N": 3, "B": True}, labels={"a": 1}))
    assert checked == {"args": {"N": "3", "B": "true"}, "labels": {"a": "1"}}
    for params, option in (({"name": "Web:1"}, "name"), ({"name": "web:1", "tags": ["ok:1", "bad tag"]}, "tags[1]"),
                           ({"name": "bad name", "state": "absent"}, "name")):
        with pytest.raises(ValidationError) as info:
            validate(params)
        assert info.value.option == option
