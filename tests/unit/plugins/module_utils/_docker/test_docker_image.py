"""Pure parts of the image manager: archive manifests and build-context hashes."""
import io
import json
import tarfile

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.image import (
    archive_image_id,
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


def test_archive_image_id_by_tag_or_the_only_image():
    images = [("sha256:aaa", ["docker.io/library/web:1"]), ("sha256:bbb", ["docker.io/library/web:2"])]
    assert archive_image_id(images, "docker.io/library/web:2", "a.tar") == ("sha256:bbb", True)
    # the only image of an archive is loaded and tagged with the name given
    assert archive_image_id(images[:1], "docker.io/library/other:1", "a.tar") == ("sha256:aaa", False)
    with pytest.raises(ValidationError) as err:
        archive_image_id(images, "docker.io/library/other:1", "a.tar")
    assert err.value.option == "name" and "web:1" in err.value.msg and "web:2" in err.value.msg


def test_docker_archive_image_id_filter(tmp_path):
    from ansible.errors import AnsibleFilterError

    from ansible_collections.hybridops.fleet.plugins.filter.docker_archive import FilterModule

    image_id = FilterModule().filters()["docker_archive_image_id"]
    path = tmp_path / "two.tar"
    write_archive(path, [{"Config": "%s.json" % ("a" * 64), "RepoTags": ["web:1"], "Layers": []},
                         {"Config": "%s.json" % ("b" * 64), "RepoTags": ["hybridops/web:2"], "Layers": []}])
    assert image_id(str(path), "web:1") == "sha256:" + "a" * 64  # the short name means docker.io/library/web:1
    assert image_id(str(path), "hybridops/web:2") == "sha256:" + "b" * 64
    with pytest.raises(AnsibleFilterError, match="not a file on the controller"):
        image_id(str(tmp_path / "missing.tar"), "web:1")
    with pytest.raises(AnsibleFilterError, match="hybridops/web:3 is not in"):
        image_id(str(path), "hybridops/web:3")
