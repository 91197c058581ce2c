"""hybridops.fleet.container_image against the lab's real dockerd: load, build, tag, remove, pull errors."""
import json
import os
import time

import docker
import pytest

# fixtures are imported so pytest finds them
from test_container_support import PREFIX, build_image, clean, docker_client, dump, test_images  # noqa: F401 pylint: disable=unused-import

REPO = PREFIX + "img"


def remove_test_images(client):
    for image in client.api.images():
        for tag in image.get("RepoTags") or []:
            if tag.startswith(REPO):
                try:
                    client.api.remove_image(tag, force=True)
                except docker.errors.APIError:
                    pass


@pytest.fixture
def images(clean):
    remove_test_images(clean)
    yield clean
    remove_test_images(clean)


def image_id(client, ref):
    try:
        return client.api.inspect_image(ref)["Id"]
    except docker.errors.ImageNotFound:
        return None


def save(client, ref, path):
    with open(path, "wb") as handle:
        for chunk in client.api.get_image(ref):
            handle.write(chunk)


def test_load_from_archive_idempotent_and_check_mode(ansible, images, tmp_path):
    client = images
    # an image with content unique to this run, saved to an archive and removed from the engine
    unique = "%s/uniq:%d" % (REPO, os.getpid())
    built = build_image(client, unique, "unique %s" % time.time(), health=False)
    archive = str(tmp_path / "uniq.tar")
    save(client, unique, archive)
    client.api.remove_image(unique, force=True)
    assert image_id(client, built["Id"]) is None

    args = {"name": REPO + "/loaded:1", "source": "load", "load_path": archive}
    predicted = ansible.run_module("container_image", args, check=True, diff=True)
    assert predicted["changed"] is True and predicted["actions"] == ["load"], dump(predicted)
    assert predicted["diff"]["after"]["id"] == built["Id"]
    assert image_id(client, built["Id"]) is None, "check mode loaded the image"

    loaded = ansible.run_module("container_image", args)
    assert loaded["changed"] is True and loaded["actions"] == ["load"], dump(loaded)
    assert loaded["image"]["id"] == built["Id"]
    assert image_id(client, REPO + "/loaded:1") == built["Id"]

    again = ansible.run_module("container_image", args)
    assert again["changed"] is False and again["actions"] == [], dump(again)
    assert ansible.run_module("container_image", args, check=True)["changed"] is False

    # and the loaded image runs as a container
    run = ansible.run_module("container", {"name": PREFIX + "loaded", "image": REPO + "/loaded:1", "pull": "never"})
    assert run["changed"] is True and run["container"]["State"]["Running"] is True, dump(run)


def test_check_mode_load_before_the_archive_is_on_the_host(ansible, images, tmp_path):
    """A play copies the archive, then loads it: in check mode the copy is only predicted. load_id (read on the
    controller by the docker_archive_image_id filter) keeps the prediction exact; without it a load is
    predicted with a warning; nothing is changed either way."""
    client = images
    ref = REPO + "/later:1"
    built = build_image(client, ref, "later %s" % time.time(), health=False)
    archive = str(tmp_path / "later.tar")
    save(client, ref, archive)
    missing = str(tmp_path / "not-copied-yet.tar")
    args = {"name": ref, "source": "load", "load_path": missing}
    present, other, unknown, real, wrong = ansible.run_tasks([
        {"hybridops.fleet.container_image": dict(
            args, load_id="{{ '%s' | hybridops.fleet.docker_archive_image_id('%s') }}" % (archive, ref))},
        {"hybridops.fleet.container_image": dict(args, load_id="sha256:" + "0" * 64)},
        {"hybridops.fleet.container_image": args},
        {"hybridops.fleet.container_image": dict(args, load_id=built["Id"]), "check_mode": False},
        {"hybridops.fleet.container_image": dict(args, load_id="latest")},
    ], check=True, diff=True)["localhost"]
    # the same image is on the engine: a real run after the copy would load nothing
    assert present["changed"] is False and present["actions"] == [], dump(present)
    assert other["changed"] is True and other["actions"] == ["load"], dump(other)
    assert other["diff"]["after"]["id"] == "sha256:" + "0" * 64
    assert unknown["changed"] is True and unknown["actions"] == ["load"], dump(unknown)
    assert any("not on the host yet" in w for w in unknown.get("warnings", [])), dump(unknown)
    # outside check mode a missing archive is still an error, load_id or not
    assert real.get("failed") and "load_path" in real["msg"] and "does not exist" in real["msg"], dump(real)
    assert wrong.get("failed") and wrong["msg"].startswith("load_id:") and "sha256:" in wrong["msg"], dump(wrong)
    assert image_id(client, ref) == built["Id"]


def test_load_compressed_archive_by_its_own_tag(ansible, images, tmp_path):
    client = images
    client.api.tag("hybridops-test/box:1", REPO + "/box", "gz")
    archive = str(tmp_path / "box.tar")
    save(client, REPO + "/box:gz", archive)
    client.api.remove_image(REPO + "/box:gz")
    import gzip
    with open(archive, "rb") as src, gzip.open(archive + ".gz", "wb") as dst:
        dst.write(src.read())
    args = {"name": REPO + "/box:gz", "source": "load", "load_path": archive + ".gz"}
    # the image ID is already on the engine (same as hybridops-test/box:1) but not under this tag
    result = ansible.run_module("container_image", args)
    assert result["changed"] is True, dump(result)
    assert image_id(client, REPO + "/box:gz") == image_id(client, "hybridops-test/box:1")
    assert ansible.run_module("container_image", args)["changed"] is False


def test_build_from_context_idempotent_tags_and_rebuild(ansible, images, tmp_path):
    client = images
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM hybridops-test/box:1\nARG GREETING=hi\nCOPY hello.txt /hello.txt\n"
                                        "LABEL greeting=$GREETING\n")
    (context / "hello.txt").write_text("hello 1\n")
    args = {"name": REPO + "/built:1", "source": "build",
            "build": {"path": str(context), "args": {"GREETING": "hey"}}, "tags": [REPO + "/built:latest"]}

    predicted = ansible.run_module("container_image", args, check=True)
    assert predicted["changed"] is True and predicted["actions"] == ["build", "tag %s/built:latest" % REPO], dump(predicted)
    assert image_id(client, REPO + "/built:1") is None

    built = ansible.run_module("container_image", args)
    assert built["changed"] is True, dump(built)
    first = image_id(client, REPO + "/built:1")
    assert first and image_id(client, REPO + "/built:latest") == first
    assert client.api.inspect_image(first)["Config"]["Labels"]["greeting"] == "hey"

    again = ansible.run_module("container_image", args)
    assert again["changed"] is False and again["actions"] == [], dump(again)
    assert ansible.run_module("container_image", args, check=True)["changed"] is False

    (context / "hello.txt").write_text("hello 2\n")
    predicted = ansible.run_module("container_image", args, check=True)
    assert predicted["changed"] is True and "build" in predicted["actions"]
    rebuilt = ansible.run_module("container_image", args)
    assert rebuilt["changed"] is True
    second = image_id(client, REPO + "/built:1")
    assert second != first and image_id(client, REPO + "/built:latest") == second


def test_build_failure_is_reported(ansible, images, tmp_path):
    context = tmp_path / "bad"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM hybridops-test/box:1\nCOPY missing.txt /x\n")
    result = ansible.run_module("container_image", {"name": REPO + "/bad:1", "source": "build",
                                                    "build": {"path": str(context)}})
    assert result.get("failed") is True
    assert "building" in result["msg"] and "missing.txt" in result["msg"], result["msg"]


def test_remove_and_missing_without_source(ansible, images):
    client = images
    client.api.tag("hybridops-test/box:1", REPO + "/gone", "1")
    predicted = ansible.run_module("container_image", {"name": REPO + "/gone:1", "state": "absent"}, check=True)
    assert predicted["changed"] is True and image_id(client, REPO + "/gone:1")
    removed = ansible.run_module("container_image", {"name": REPO + "/gone:1", "state": "absent"})
    assert removed["changed"] is True and image_id(client, REPO + "/gone:1") is None
    assert ansible.run_module("container_image", {"name": REPO + "/gone:1", "state": "absent"})["changed"] is False
    assert image_id(client, "hybridops-test/box:1") is not None

    missing = ansible.run_module("container_image", {"name": REPO + "/gone:1"})
    assert missing.get("failed") is True
    assert "source" in missing["msg"] and "pull, load" in missing["msg"]


def test_pull_without_registry_fails_clearly_and_hides_password(ansible, images):
    secret = "hybridops-registry-password-77"
    result = ansible.run_module("container_image", {
        "name": "127.0.0.1:1/%s/nothing:1" % REPO, "source": "pull",
        "registry_username": "deploy", "registry_password": secret})
    assert result.get("failed") is True, dump(result)
    assert "pulling" in result["msg"] and "source=load" in result["msg"]
    assert secret not in json.dumps(result) and secret not in ansible.last_stdout


def test_bad_archive(ansible, images, tmp_path):
    path = tmp_path / "not-an-image.tar"
    path.write_bytes(b"garbage" * 100)
    result = ansible.run_module("container_image", {"name": REPO + "/x:1", "source": "load", "load_path": str(path)})
    assert result.get("failed") is True and "load_path" in result["msg"]
    result = ansible.run_module("container_image", {"name": REPO + "/x:1", "source": "load",
                                                    "load_path": str(tmp_path / "nothing.tar")})
    assert result.get("failed") is True and "does not exist" in result["msg"]
