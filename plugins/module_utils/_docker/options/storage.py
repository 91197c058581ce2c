# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: environment, labels and mounts.

The image's ENV and LABELs are inherited when the spec leaves them out; the expected values
start from the image's, so an inherited value is never mistaken for drift.
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    COLLECTION, Option, cfg, clean_path, hc, image_cfg, set_cfg, str_dict)

MOUNT_TYPES = ("bind", "volume", "tmpfs")
SECRET_MASK = "********"


def parse_env_list(items):
    """['A=1', 'B'] -> {'A': '1', 'B': ''} (Docker's Config.Env form)."""
    result = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        result[key] = val
    return result


def _normalize_env(value, spec):
    """env and secret_env together: the container's variables (secret values included)."""
    env = str_dict(value, "env") or {}
    secret_env = str_dict(spec.get("secret_env"), "secret_env") or {}
    for option, values in (("env", env), ("secret_env", secret_env)):
        for key in values:
            validators.check_env_key(key, option)
    both = set(env) & set(secret_env)
    if both:
        raise ValidationError("secret_env", "keys %s are also in env; give each variable once" % ", ".join(sorted(both)))
    merged = dict(env)
    merged.update(secret_env)
    return merged


def _expected_env(d, img):
    env = parse_env_list(image_cfg(img).get("Env"))
    env.update(d["env"])
    return env


def env_view(env, img, secret_keys):
    if env is None:
        return None
    image_env = parse_env_list(image_cfg(img).get("Env"))
    result = {}
    for key, value in sorted(env.items()):
        if image_env.get(key) == value and key not in secret_keys:
            continue
        result[key] = SECRET_MASK if key in secret_keys else value
    return result


def _expected_labels(d, img):
    labels = dict(image_cfg(img).get("Labels") or {})
    labels.update(d["labels"])
    return labels


def labels_view(labels, img):
    if labels is None:
        return None
    image_labels = image_cfg(img).get("Labels") or {}
    return dict((k, v) for k, v in sorted(labels.items()) if image_labels.get(k) != v)


# --------------------------------------------------------------------------- mounts

MOUNT_ACCEPTED = ("mounts: dicts with type (bind, volume, tmpfs), source (host path or volume name; "
                  "not for tmpfs), target (absolute path), read_only; volumes: strings "
                  "'SOURCE:/target[:ro|rw]' where an absolute SOURCE is a bind mount, otherwise a named volume")


def _mount(mtype, source, target, read_only, option):
    if mtype not in MOUNT_TYPES:
        raise ValidationError(option, "unknown mount type %r" % (mtype,), accepted=", ".join(MOUNT_TYPES))
    if not target or not str(target).startswith("/"):
        raise ValidationError(option, "target %r must be an absolute path" % (target,), accepted=MOUNT_ACCEPTED)
    if mtype == "tmpfs":
        if source:
            raise ValidationError(option, "a tmpfs mount takes no source (target %s)" % target)
        source = ""
    elif not source:
        raise ValidationError(option, "a %s mount needs a source (target %s)" % (mtype, target), accepted=MOUNT_ACCEPTED)
    elif mtype == "bind" and not str(source).startswith("/"):
        raise ValidationError(option, "bind mount source %r must be an absolute host path" % (source,),
                              accepted=MOUNT_ACCEPTED)
    source = clean_path(source) if mtype == "bind" else str(source)
    return {"type": mtype, "source": source, "target": clean_path(target), "read_only": bool(read_only)}


def normalize_mounts(mounts, volumes):
    result = []
    for item in mounts or []:
        if not isinstance(item, dict):
            raise ValidationError("mounts", "each item must be a dictionary, got %r" % (item,), accepted=MOUNT_ACCEPTED)
        unknown = set(item) - {"type", "source", "target", "read_only"}
        if unknown:
            raise ValidationError("mounts", "unknown keys %s" % ", ".join(sorted(unknown)), accepted=MOUNT_ACCEPTED)
        result.append(_mount(item.get("type") or "volume", item.get("source"), item.get("target"),
                             item.get("read_only"), "mounts"))
    for item in volumes or []:
        if not isinstance(item, str):
            raise ValidationError("volumes", "each item must be a string, got %r" % (item,), accepted=MOUNT_ACCEPTED)
        parts = item.split(":")
        if len(parts) == 2:
            parts.append("rw")
        if len(parts) != 3 or parts[2] not in ("ro", "rw"):
            raise ValidationError("volumes", "cannot parse %r" % item, accepted=MOUNT_ACCEPTED)
        source, target, mode = parts
        mtype = "bind" if source.startswith("/") else "volume"
        result.append(_mount(mtype, source, target, mode == "ro", "volumes"))
    targets = {}
    for mount in result:
        if mount["target"] in targets:
            raise ValidationError("mounts", "target %s is mounted twice (mounts and volumes together "
                                  "must name each target once)" % mount["target"])
        targets[mount["target"]] = mount
    return sorted(result, key=lambda m: m["target"])


def mounts_actual(inspect):
    host = hc(inspect)
    result = []
    for mount in host.get("Mounts") or []:
        mtype = mount.get("Type") or "volume"
        source = mount.get("Source") or ""
        result.append({"type": mtype, "source": clean_path(source) if mtype == "bind" else source,
                       "target": clean_path(mount.get("Target")),
                       "read_only": bool(mount.get("ReadOnly"))})
    for bind in host.get("Binds") or []:
        parts = bind.split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        opts = parts[2].split(",") if len(parts) > 2 else []
        result.append({"type": "bind" if source.startswith("/") else "volume", "source": clean_path(source),
                       "target": clean_path(target), "read_only": "ro" in opts})
    return sorted(result, key=lambda m: m["target"])


def _mounts_apply(mounts, body, d=None):
    if not mounts:
        return
    body["HostConfig"]["Mounts"] = [
        dict([("Type", m["type"]), ("Target", m["target"]), ("ReadOnly", m["read_only"])]
             + ([("Source", m["source"])] if m["type"] != "tmpfs" else []))
        for m in mounts]


ROWS = [
    Option("env", dict(type="dict"), normalize=_normalize_env, expected=_expected_env,
           actual=lambda i: parse_env_list(cfg(i).get("Env")),
           apply=lambda v, b, d=None: b.__setitem__("Env", ["%s=%s" % kv for kv in sorted(v.items())]) if v else None,
           view=lambda v, img, d: env_view(v, img, d["secret_keys"]), comparisons=COLLECTION),
    # compared through env (its values are part of the container's environment)
    Option("secret_env", dict(type="dict", no_log=True), key="secret_keys",
           normalize=lambda v, s: sorted(str_dict(v, "secret_env") or {})),
    Option("labels", dict(type="dict"), normalize=lambda v, s: str_dict(v, "labels") or {},
           expected=_expected_labels, actual=lambda i: dict(cfg(i).get("Labels") or {}),
           apply=set_cfg("Labels"), view=lambda v, img, d: labels_view(v, img), comparisons=COLLECTION),
    Option("mounts", dict(type="list", elements="dict", options=dict(
        type=dict(type="str", choices=list(MOUNT_TYPES), default="volume"),
        source=dict(type="str"),
        target=dict(type="str", required=True),
        read_only=dict(type="bool", default=False),
    )), normalize=lambda v, s: normalize_mounts(v, s.get("volumes")),
        expected=lambda d, img: d["mounts"], actual=mounts_actual, apply=_mounts_apply, comparisons=COLLECTION),
    # compared through mounts (the short form of the same list)
    Option("volumes", dict(type="list", elements="str"), key=False),
]
