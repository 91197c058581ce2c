# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ImageManager: ensure an image from a registry, an archive or a build context; tag; remove.

Idempotent by image ID, and exact in check mode:
- an archive's image IDs are read from its manifest.json without loading it;
- a build is skipped when the image carries the hash of the same context,
  Dockerfile and build args (label ``hybridops.fleet.context-hash``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import keep_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import address, call, split_image_ref

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import EngineClient

SOURCES = ("pull", "load", "build")
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
CONTEXT_LABEL = "hybridops.fleet.context-hash"


ARCHIVE_ACCEPTED = "an archive made by docker save (tar, tar.gz, tar.xz, tar.bz2)"


def archive_manifest(path):
    """[(image_id, [repo tags])] of a `docker save` archive (tar, optionally gz/bz2/xz compressed)."""
    if os.path.isdir(path):
        raise ValidationError("load_path", "%s is a directory" % path, accepted=ARCHIVE_ACCEPTED)
    if not os.path.isfile(path):
        raise ValidationError("load_path", "%s does not exist on the host the module runs on (copy it there first, "
                              "e.g. with ansible.builtin.copy)" % path, accepted=ARCHIVE_ACCEPTED)
    try:
        with tarfile.open(path, "r:*") as tar:
            member = None
            for item in tar:
                if item.name.lstrip("./") == "manifest.json":
                    member = item
                    break
            if member is None:
                raise ValidationError("load_path", "%s has no manifest.json; it is not a `docker save` archive" % path,
                                      accepted=ARCHIVE_ACCEPTED)
            manifest = json.loads(tar.extractfile(member).read().decode("utf-8"))
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise ValidationError("load_path", "cannot read %s: %s" % (path, exc), accepted=ARCHIVE_ACCEPTED)
    # docker save writes a list of {Config: "<id>.json", RepoTags: [...], Layers: [...]}
    if not isinstance(manifest, list) or not manifest or not all(
            isinstance(e, dict) and isinstance(e.get("Config"), str) and e["Config"]
            and isinstance(e.get("RepoTags") or [], list) for e in manifest):
        raise ValidationError("load_path", "the manifest.json of %s is not one docker save writes (a list of images "
                              "with Config and RepoTags)" % path, accepted=ARCHIVE_ACCEPTED)
    result = []
    for entry in manifest:
        config = entry.get("Config") or ""
        digest = os.path.basename(config)
        if digest.endswith(".json"):
            digest = digest[:-5]
        result.append(("sha256:" + digest, list(entry.get("RepoTags") or [])))
    return result


def archive_image_id(images: list[tuple[str, list[str]]], wanted: str, path: str) -> tuple[str, bool]:
    """(image ID, tagged as ``wanted``) of the image an archive holds for ``wanted`` (a full reference): the one
    tagged so, else the archive's only image (which a load then tags); anything else is an error naming ``name``."""
    match = [img for img in images if wanted in img[1]]
    if not match and len(images) != 1:
        raise ValidationError("name", "%s is not in %s, which holds %s; name one of its tags"
                              % (wanted, path, ", ".join(t for _i, tags in images for t in tags) or "untagged images"))
    return (match[0] if match else images[0])[0], bool(match)


def context_hash(path, dockerfile, buildargs, target):
    """Stable hash of a build context directory plus the build parameters."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            rel = os.path.relpath(full, path)
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            if os.path.islink(full):
                digest.update(b"L" + os.readlink(full).encode("utf-8", "surrogateescape"))
                continue
            st = os.stat(full)
            digest.update(("%o\0" % (st.st_mode & 0o7777)).encode())
            with open(full, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digest.update(b"\0")
    digest.update(json.dumps({"dockerfile": dockerfile, "args": buildargs or {}, "target": target},
                             sort_keys=True).encode())
    return "sha256:" + digest.hexdigest()


def validate(params):
    """Check the options before the engine is asked anything; returns the build args and labels as strings."""
    state = params.get("state") or "present"
    validators.check_image_ref(params["name"], "name")
    if state == "absent":
        return None
    for index, tag in enumerate(params.get("tags") or []):
        validators.check_image_ref(tag, "tags[%d]" % index, digest=False)
    load_id = params.get("load_id")
    if load_id is not None:
        if params.get("source") != "load":
            raise ValidationError("load_id", "is only used with source=load", accepted="source=load")
        if not IMAGE_ID.match(load_id):
            raise ValidationError("load_id", "%r is not an image ID" % load_id, accepted="sha256: and 64 hex digits")
    build = params.get("build")
    if params.get("source") == "build" and build:
        path = build.get("path")
        if not path:
            raise ValidationError("build.path", "is required with source=build", accepted="a context directory")
        if not os.path.isdir(path):
            raise ValidationError("build.path", "%s is not a directory on the host the module runs on" % path,
                                  accepted="a context directory on the host the module runs on")
        dockerfile = build.get("dockerfile") or "Dockerfile"
        inside = os.path.normpath(os.path.join(path, dockerfile))
        # the SDK would pack a Dockerfile from outside the context into it: a typo would build another file
        if os.path.isabs(dockerfile) or os.path.relpath(inside, os.path.normpath(path)).startswith(".."):
            raise ValidationError("build.dockerfile", "%s is outside the context %s" % (dockerfile, path),
                                  accepted="a path relative to build.path, inside it")
        if not os.path.isfile(inside):
            raise ValidationError("build.dockerfile", "%s not found in %s" % (dockerfile, path),
                                  accepted="a file inside build.path (default Dockerfile)")
        if build.get("target") is not None:
            validators.check_stage_name(build["target"], "build.target")
        args = validators.check_string_map(build.get("args") or {}, "build.args", key_check=validators.check_env_key,
                                           secret=True)
        labels = validators.check_string_map(build.get("labels") or {}, "build.labels")
        return {"args": args, "labels": labels}
    return None


def full_ref(ref):
    repo, tag = split_image_ref(ref)
    if tag.startswith("sha256:"):
        return "%s@%s" % (repo, tag)
    return "%s:%s" % (repo, tag)


class ImageManager:
    """Converge one image. ``run(params)`` returns the module result dict."""

    def __init__(self, client: EngineClient, check_mode: bool = False, diff: bool = False) -> None:
        self.client = client
        self.api = client.api
        self.check_mode = check_mode
        self.diff_mode = diff

    def inspect(self, ref):
        return call(self.client, "inspecting image %s" % ref, self.api.inspect_image, ref, if_missing=None)

    @staticmethod
    def _view(data):
        if not data:
            return {}
        return {"id": data.get("Id"), "tags": sorted(data.get("RepoTags") or [])}

    @staticmethod
    def summary(data):
        if not data:
            return None
        config = data.get("Config") or {}
        return {"id": data.get("Id"), "tags": data.get("RepoTags") or [], "digests": data.get("RepoDigests") or [],
                "created": data.get("Created"), "size": data.get("Size"), "labels": config.get("Labels") or {},
                "architecture": data.get("Architecture"), "os": data.get("Os")}

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        return keep_diff(self._converge(params), self.diff_mode)

    def _converge(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"]
        state = params.get("state") or "present"
        checked = validate(params)
        before = self.inspect(name)
        result = {"changed": False, "actions": [], "name": name}
        if state == "absent":
            if before is not None:
                result["actions"].append("remove")
                result["changed"] = True
                if not self.check_mode:
                    call(self.client, "removing image %s" % name, self.api.remove_image, name,
                         force=bool(params.get("force")))
            result["image"] = None
            result["diff"] = {"before": self._view(before), "after": {}}
            return result
        source = params.get("source")
        after_id = before.get("Id") if before else None
        if source is None:
            if before is None:
                raise ValidationError("source", "image %s is not on the engine at %s and no source is given"
                                      % (name, address(self.client)), accepted="pull, load (with load_path), build (with build.path)")
        elif source == "pull":
            after_id = self._pull(name, before, params, result)
        elif source == "load":
            after_id = self._load(name, before, params, result)
        elif source == "build":
            after_id = self._build(name, before, params, result, checked)
        else:
            raise ValidationError("source", "unknown source %r" % source, accepted=", ".join(SOURCES))
        tags = []
        for tag in params.get("tags") or []:
            tags.append(full_ref(tag))
        for tag in tags:
            current = self.inspect(tag)
            if current is not None and current.get("Id") == after_id:
                continue
            result["actions"].append("tag %s" % tag)
            result["changed"] = True
            if not self.check_mode and after_id:
                repo, tagname = split_image_ref(tag)
                call(self.client, "tagging %s as %s" % (after_id[:19], tag), self.api.tag, after_id, repo, tagname,
                     force=True)
        final = self.inspect(name) if not self.check_mode else before
        result["image"] = self.summary(final)
        after_view = {"id": after_id, "tags": sorted(set(((before or {}).get("RepoTags") or []) + [full_ref(name)] + tags))}
        if final is not None and not self.check_mode:
            after_view = self._view(final)
        result["diff"] = {"before": self._view(before), "after": after_view}
        return result

    # ------------------------------------------------------------------ sources

    def _pull(self, name, before, params, result):
        if before is not None and not params.get("force"):
            return before.get("Id")
        result["actions"].append("pull")
        if self.check_mode:
            # an existing image is re-pulled only with force; whether it moves is unknown until pulled
            result["changed"] = before is None
            return before.get("Id") if before else None
        auth = None
        if params.get("registry_username"):
            auth = {"username": params["registry_username"], "password": params.get("registry_password") or ""}
            if params.get("registry"):
                auth["serveraddress"] = params["registry"]
        repo, tag = split_image_ref(name)
        try:
            call(self.client, "pulling %s" % name, self.api.pull, repo, tag=tag, auth_config=auth)
        except BackendError as err:
            raise BackendError("%s. Without a reachable registry, use source=load (an archive made by docker save) "
                               "or source=build" % err.msg)
        after = self.inspect(name)
        after_id = after.get("Id") if after else None
        result["changed"] = after_id != (before or {}).get("Id")
        return after_id

    def _load(self, name, before, params, result):
        path = params.get("load_path")
        if not path:
            raise ValidationError("load_path", "is required with source=load")
        wanted = full_ref(name)
        if self.check_mode and not os.path.exists(path):
            # check mode of a play whose earlier task (a copy) would put the archive there: predict from
            # the image ID read on the controller (load_id), else predict a load and say why
            image_id = params.get("load_id")
            match = True
            if not image_id:
                result.setdefault("warnings", []).append(
                    "check mode: load_path %s is not on the host yet, so its image is not known; a load is predicted "
                    "(give load_id, e.g. from the hybridops.fleet.docker_archive_image_id filter, for an exact "
                    "prediction)" % path)
                result["actions"].append("load")
                result["changed"] = True
                return None
        else:
            image_id, match = archive_image_id(archive_manifest(path), wanted, path)
        if before is not None and before.get("Id") == image_id and not params.get("force"):
            return image_id
        result["actions"].append("load")
        result["changed"] = True
        if self.check_mode:
            return image_id
        call(self.client, "loading %s" % path, self._load_archive, path)
        if not match:
            repo, tag = split_image_ref(wanted)
            call(self.client, "tagging the loaded image as %s" % wanted, self.api.tag, image_id, repo, tag, force=True)
        return image_id

    def _load_archive(self, path):
        with open(path, "rb") as handle:
            # the SDK streams the file; a compressed archive is decompressed by the engine
            for chunk in self.api.load_image(handle) or []:
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise BackendError("loading %s failed on %s: %s" % (path, address(self.client), chunk["error"]))

    def _build(self, name, before, params, result, checked):
        """``checked``: what validate() returned (the build args and labels as strings)."""
        build = params["build"]
        path = build["path"]
        dockerfile = build.get("dockerfile") or "Dockerfile"
        args = checked["args"]
        digest = context_hash(path, dockerfile, args, build.get("target"))
        current = ((before or {}).get("Config") or {}).get("Labels") or {}
        if before is not None and current.get(CONTEXT_LABEL) == digest and not params.get("force"):
            return before.get("Id")
        result["actions"].append("build")
        if self.check_mode:
            result["changed"] = True
            return None
        labels = dict(checked["labels"])
        labels[CONTEXT_LABEL] = digest
        kwargs = dict(path=path, tag=full_ref(name), dockerfile=dockerfile, buildargs=args or None, labels=labels,
                      nocache=bool(build.get("nocache")), pull=bool(build.get("pull")), rm=True, forcerm=True,
                      decode=True)
        if build.get("target"):
            kwargs["target"] = build["target"]
        log = []

        def build():
            for chunk in self.api.build(**kwargs):
                if "stream" in chunk:
                    log.append(chunk["stream"])
                if chunk.get("error"):
                    raise BackendError("building %s failed on %s: %s" % (name, address(self.client), chunk["error"].strip()),
                                       build_log="".join(log)[-3000:])
        call(self.client, "building %s" % name, build)
        after = self.inspect(name)
        after_id = after.get("Id") if after else None
        result["changed"] = after_id != (before or {}).get("Id")
        result["build_log"] = "".join(log)[-3000:]
        return after_id
