# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: environment, labels and mounts.

The image's ENV and LABELs are inherited when the spec leaves them out; the expected values
start from the image's, so an inherited value is never mistaken for drift.
"""

from __future__ import annotations

import os

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import format_size
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    COLLECTION,
    Option,
    cfg,
    clean_path,
    hc,
    image_cfg,
    set_cfg,
    set_hc,
    str_dict,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.resources import ram_size

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
        raise ValidationError(
            "secret_env", "keys %s are also in env; give each variable once" % ", ".join(sorted(both))
        )
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

MOUNT_ACCEPTED = (
    "mounts: dicts with type (bind, volume, tmpfs), source (host path or volume name; "
    "not for tmpfs; a volume without one is anonymous), target (absolute path), read_only, "
    "propagation, selinux (z or Z), no_copy, labels, volume_driver, volume_options (volume mounts), "
    "tmpfs_size, tmpfs_mode (tmpfs mounts); volumes: strings 'SOURCE:/target[:OPTIONS]' where an "
    "absolute SOURCE is a bind mount, otherwise a named volume, or '/target' alone (an anonymous "
    "volume); OPTIONS are comma-separated ro, rw, z, Z, nocopy and a propagation mode"
)
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
# the engine's propagation for a bind mount that names none
DEFAULT_PROPAGATION = "rprivate"
SELINUX_LABELS = ("z", "Z")
# volume string options without an effect on Linux engines (Docker Desktop's file sharing)
IGNORED_MODES = ("consistent", "cached", "delegated")


def _tmpfs_mode(value, option):
    """'1777', '0o1777', 1777 (octal digits, as chmod) -> '1777'."""
    text = str(value).strip().lower()
    if text.startswith("0o"):
        text = text[2:]
    if isinstance(value, bool) or not text or any(c not in "01234567" for c in text) or not 0 < int(text, 8) <= 0o7777:
        # 0 is what the engine stores for "no mode given" (it then uses 1777): a mode is above 0
        raise ValidationError(
            option, "tmpfs_mode %r is not an octal mode above 0" % (value,), accepted="octal like 1777 or 0700"
        )
    return "%o" % int(text, 8)


def _volume_extras(mount, extra, option):
    """labels, volume_driver, volume_options (the engine's VolumeOptions) and tmpfs_size, tmpfs_mode."""
    mtype = mount["type"]
    labels = str_dict(extra.get("labels"), option + ".labels")
    driver = extra.get("volume_driver")
    driver_options = str_dict(extra.get("volume_options"), option + ".volume_options")
    for key, value in (("labels", labels), ("volume_driver", driver), ("volume_options", driver_options)):
        if value and mtype != "volume":
            raise ValidationError(option, "%s is for volume mounts only (target %s)" % (key, mount["target"]))
    for key in ("tmpfs_size", "tmpfs_mode"):
        if extra.get(key) not in (None, "") and mtype != "tmpfs":
            raise ValidationError(option, "%s is for tmpfs mounts only (target %s)" % (key, mount["target"]))
    if labels:
        mount["labels"] = labels
    if driver:
        mount["volume_driver"] = str(driver)
    if driver_options:
        mount["volume_options"] = driver_options
    if extra.get("tmpfs_size") not in (None, ""):
        size = ram_size(extra["tmpfs_size"], option + ".tmpfs_size")
        if size <= 0:
            raise ValidationError(option + ".tmpfs_size", "must be more than 0")
        mount["tmpfs_size"] = format_size(size)
    if extra.get("tmpfs_mode") not in (None, ""):
        mount["tmpfs_mode"] = _tmpfs_mode(extra["tmpfs_mode"], option + ".tmpfs_mode")
    return mount


def _mount(mtype, source, target, read_only, option, propagation=None, selinux=None, no_copy=False, extra=None):
    if mtype not in MOUNT_TYPES:
        raise ValidationError(option, "unknown mount type %r" % (mtype,), accepted=", ".join(MOUNT_TYPES))
    if not target or not str(target).startswith("/"):
        raise ValidationError(option, "target %r must be an absolute path" % (target,), accepted=MOUNT_ACCEPTED)
    if mtype == "tmpfs":
        if source:
            raise ValidationError(option, "a tmpfs mount takes no source (target %s)" % target)
        source = ""
    elif not source and mtype == "bind":
        raise ValidationError(option, "a bind mount needs a source (target %s)" % target, accepted=MOUNT_ACCEPTED)
    elif mtype == "bind" and not str(source).startswith("/"):
        raise ValidationError(
            option, "bind mount source %r must be an absolute host path" % (source,), accepted=MOUNT_ACCEPTED
        )
    if propagation not in (None, "") and propagation not in PROPAGATIONS:
        raise ValidationError(option, "unknown propagation %r" % (propagation,), accepted=", ".join(PROPAGATIONS))
    if propagation and mtype != "bind":
        raise ValidationError(option, "propagation is for bind mounts only (target %s)" % target)
    if selinux not in (None, "") and selinux not in SELINUX_LABELS:
        raise ValidationError(
            option, "unknown SELinux label mode %r" % (selinux,), accepted="z (shared) or Z (private)"
        )
    if selinux and mtype == "tmpfs":
        raise ValidationError(option, "a tmpfs mount takes no SELinux label (target %s)" % target)
    if no_copy and mtype != "volume":
        raise ValidationError(option, "no_copy is for volume mounts only (target %s)" % target)
    source = clean_path(source) if mtype == "bind" else str(source or "")
    mount = {"type": mtype, "source": source, "target": clean_path(target), "read_only": bool(read_only)}
    # the extra keys only when set, so a plain mount keeps its plain form
    if propagation and propagation != DEFAULT_PROPAGATION:
        mount["propagation"] = propagation
    if selinux:
        mount["selinux"] = selinux
    if no_copy:
        mount["no_copy"] = True
    if extra:
        if selinux and any(extra.get(k) for k in ("labels", "volume_driver", "volume_options")):
            raise ValidationError(
                option, "a mount with selinux is a bind string, which takes no volume options (target %s)" % target
            )
        _volume_extras(mount, extra, option)
    return mount


def parse_volume(item, option="volumes"):
    """'SOURCE:/target[:OPTIONS]' or '/target' (anonymous volume) -> mount dict."""
    if not isinstance(item, str):
        raise ValidationError(option, "each item must be a string, got %r" % (item,), accepted=MOUNT_ACCEPTED)
    parts = item.split(":")
    if len(parts) == 1:
        # docker run -v /data: an anonymous volume
        return _mount("volume", "", parts[0], False, option)
    if len(parts) > 3:
        raise ValidationError(option, "cannot parse %r" % item, accepted=MOUNT_ACCEPTED)
    source, target = parts[0], parts[1]
    modes = [m for m in (parts[2].split(",") if len(parts) == 3 else []) if m]
    unknown = [m for m in modes if m not in ("ro", "rw", "nocopy") + PROPAGATIONS + SELINUX_LABELS + IGNORED_MODES]
    if unknown or ("ro" in modes and "rw" in modes):
        raise ValidationError(
            option, "cannot parse %r (options %s)" % (item, ", ".join(unknown) or "ro and rw"), accepted=MOUNT_ACCEPTED
        )
    propagation = [m for m in modes if m in PROPAGATIONS]
    selinux = [m for m in modes if m in SELINUX_LABELS]
    if len(propagation) > 1 or len(selinux) > 1:
        raise ValidationError(
            option, "%r names more than one propagation or SELinux mode" % item, accepted=MOUNT_ACCEPTED
        )
    mtype = "bind" if source.startswith("/") else "volume"
    return _mount(
        mtype,
        source,
        target,
        "ro" in modes,
        option,
        propagation=(propagation or [None])[0],
        selinux=(selinux or [None])[0],
        no_copy="nocopy" in modes,
    )


VOLUME_EXTRA_KEYS = ("labels", "volume_driver", "volume_options", "tmpfs_size", "tmpfs_mode")
MOUNT_KEYS = {"type", "source", "target", "read_only", "propagation", "selinux", "no_copy"} | set(VOLUME_EXTRA_KEYS)


def normalize_mounts(mounts, volumes):
    result = []
    for index, item in enumerate(mounts or []):
        option = "mounts[%d]" % index
        if not isinstance(item, dict):
            raise ValidationError(option, "each item must be a dictionary, got %r" % (item,), accepted=MOUNT_ACCEPTED)
        unknown = set(item) - MOUNT_KEYS
        if unknown:
            raise ValidationError(option, "unknown keys %s" % ", ".join(sorted(unknown)), accepted=MOUNT_ACCEPTED)
        result.append(
            _mount(
                item.get("type") or "volume",
                item.get("source"),
                item.get("target"),
                item.get("read_only"),
                option,
                propagation=item.get("propagation"),
                selinux=item.get("selinux"),
                no_copy=bool(item.get("no_copy")),
                extra=dict((k, item.get(k)) for k in VOLUME_EXTRA_KEYS),
            )
        )
    for index, item in enumerate(volumes or []):
        result.append(parse_volume(item, "volumes[%d]" % index))
    targets = {}
    for mount in result:
        if mount["target"] in targets:
            raise ValidationError(
                "mounts",
                "target %s is mounted twice (mounts and volumes together must name each target once)" % mount["target"],
            )
        targets[mount["target"]] = mount
    return sorted(result, key=lambda m: m["target"])


def _bind_mount(source, target, opts):
    propagation = [o for o in opts if o in PROPAGATIONS]
    selinux = [o for o in opts if o in SELINUX_LABELS]
    mtype = "bind" if source.startswith("/") else "volume"
    return _mount(
        mtype,
        source,
        target,
        "ro" in opts,
        "HostConfig.Binds",
        propagation=(propagation or [None])[0],
        selinux=(selinux or [None])[0],
        no_copy="nocopy" in opts,
    )


def mounts_actual(inspect):
    host = hc(inspect)
    result = []
    for mount in host.get("Mounts") or []:
        mtype = mount.get("Type") or "volume"
        source = mount.get("Source") or ""
        item = {
            "type": mtype,
            "source": clean_path(source) if mtype == "bind" else source,
            "target": clean_path(mount.get("Target")),
            "read_only": bool(mount.get("ReadOnly")),
        }
        propagation = (mount.get("BindOptions") or {}).get("Propagation")
        if propagation and propagation != DEFAULT_PROPAGATION:
            item["propagation"] = propagation
        volume = mount.get("VolumeOptions") or {}
        if volume.get("NoCopy"):
            item["no_copy"] = True
        if volume.get("Labels"):
            item["labels"] = dict(volume["Labels"])
        driver = volume.get("DriverConfig") or {}
        if driver.get("Name"):
            item["volume_driver"] = driver["Name"]
        if driver.get("Options"):
            item["volume_options"] = dict(driver["Options"])
        tmpfs = mount.get("TmpfsOptions") or {}
        if tmpfs.get("SizeBytes"):
            item["tmpfs_size"] = format_size(int(tmpfs["SizeBytes"]))
        if tmpfs.get("Mode"):
            item["tmpfs_mode"] = "%o" % int(tmpfs["Mode"])
        result.append(item)
    for bind in host.get("Binds") or []:
        parts = bind.split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        opts = parts[2].split(",") if len(parts) > 2 else []
        try:
            result.append(_bind_mount(source, target, opts))
        except ValidationError:
            # a bind made by another tool in a form this module does not write: compared as written
            result.append(
                {
                    "type": "bind" if source.startswith("/") else "volume",
                    "source": clean_path(source),
                    "target": clean_path(target),
                    "read_only": "ro" in opts,
                }
            )
    return sorted(result, key=lambda m: m["target"])


def _bind_string(m):
    opts = ["ro" if m["read_only"] else "rw", m["selinux"]]
    if m.get("propagation"):
        opts.append(m["propagation"])
    if m.get("no_copy"):
        opts.append("nocopy")
    return "%s:%s:%s" % (m["source"], m["target"], ",".join(opts))


def _mounts_apply(mounts, body, d=None):
    if not mounts:
        return
    api_mounts = []
    for m in mounts:
        if m.get("selinux"):
            # the Mounts API has no SELinux relabelling: such a mount is a bind string
            body["HostConfig"].setdefault("Binds", []).append(_bind_string(m))
            continue
        item = dict(
            [("Type", m["type"]), ("Target", m["target"]), ("ReadOnly", m["read_only"])]
            + ([("Source", m["source"])] if m["type"] != "tmpfs" and m["source"] else [])
        )
        if m.get("propagation"):
            item["BindOptions"] = {"Propagation": m["propagation"]}
        volume = {}
        if m.get("no_copy"):
            volume["NoCopy"] = True
        if m.get("labels"):
            volume["Labels"] = dict(m["labels"])
        if m.get("volume_driver") or m.get("volume_options"):
            volume["DriverConfig"] = dict(
                [("Name", m.get("volume_driver") or "")]
                + ([("Options", dict(m["volume_options"]))] if m.get("volume_options") else [])
            )
        if volume:
            item["VolumeOptions"] = volume
        tmpfs = {}
        if m.get("tmpfs_size"):
            tmpfs["SizeBytes"] = ram_size(m["tmpfs_size"], "mounts.tmpfs_size")
        if m.get("tmpfs_mode"):
            tmpfs["Mode"] = int(m["tmpfs_mode"], 8)
        if tmpfs:
            item["TmpfsOptions"] = tmpfs
        api_mounts.append(item)
    if api_mounts:
        body["HostConfig"]["Mounts"] = api_mounts


# --------------------------------------------------------------------------- volumes_from, env_file (family B)


def _normalize_volumes_from(value, spec):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("volumes_from", "must be a list of container names, got %r" % (value,))
    result = []
    for index, item in enumerate(value):
        option = "volumes_from[%d]" % index
        name, _sep, mode = str(item).partition(":")
        validators.check_docker_name(name, option, "container name")
        if mode not in ("", "ro", "rw"):
            raise ValidationError(option, "unknown mode %r" % mode, accepted="NAME, NAME:ro or NAME:rw")
        # rw is the engine's default: NAME and NAME:rw are the same
        result.append(name if mode in ("", "rw") else "%s:%s" % (name, mode))
    return result


def _volumes_from_actual(inspect):
    result = []
    for item in hc(inspect).get("VolumesFrom") or []:
        name, _sep, mode = item.partition(":")
        result.append(name if mode in ("", "rw") else item)
    return result


def parse_env_file(text, option="env_file"):
    """KEY=VALUE lines (docker's --env-file format): '#' comments and blank lines skipped; no quote removal."""
    result = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition("=")
        key = key.rstrip()
        if not sep:
            raise ValidationError(
                option,
                "line %d is not KEY=VALUE: %r" % (number, line[:80]),
                accepted="lines KEY=VALUE, blank lines and # comments",
            )
        validators.check_env_key(key, "%s line %d" % (option, number))
        result[key] = value
    return result


def _normalize_env_file(value, spec):
    if value is None:
        return None
    path = os.path.expanduser(str(value))
    try:
        with open(path) as handle:
            return parse_env_file(handle.read())
    except OSError as exc:
        raise ValidationError(
            "env_file",
            "cannot read %s: %s" % (path, exc.strerror or exc),
            accepted="a readable file on the managed host with KEY=VALUE lines",
        )


def _check_env_file(desired, spec):
    # env (and secret_env) win over the file, as in community.docker
    if desired.get("env_file"):
        desired["env"] = dict(desired["env_file"], **desired["env"])


ROWS: list[Option] = [
    Option(
        "env",
        dict(type="dict"),
        normalize=_normalize_env,
        expected=_expected_env,
        actual=lambda i: parse_env_list(cfg(i).get("Env")),
        apply=set_cfg("Env", lambda v: ["%s=%s" % kv for kv in sorted(v.items())], when=bool),
        view=lambda v, img, d: env_view(v, img, d["secret_keys"]),
        comparisons=COLLECTION,
    ),
    # compared through env (its values are part of the container's environment)
    Option(
        "secret_env",
        dict(type="dict", no_log=True),
        key="secret_keys",
        normalize=lambda v, s: sorted(str_dict(v, "secret_env") or {}),
    ),
    Option(
        "labels",
        dict(type="dict"),
        normalize=lambda v, s: str_dict(v, "labels") or {},
        expected=_expected_labels,
        actual=lambda i: dict(cfg(i).get("Labels") or {}),
        apply=set_cfg("Labels"),
        view=lambda v, img, d: labels_view(v, img),
        comparisons=COLLECTION,
    ),
    Option(
        "mounts",
        dict(
            type="list",
            elements="dict",
            options=dict(
                type=dict(type="str", choices=list(MOUNT_TYPES), default="volume"),
                source=dict(type="str"),
                target=dict(type="str", required=True),
                read_only=dict(type="bool", default=False),
                propagation=dict(type="str", choices=list(PROPAGATIONS)),
                selinux=dict(type="str", choices=list(SELINUX_LABELS)),
                no_copy=dict(type="bool", default=False),
                labels=dict(type="dict"),
                volume_driver=dict(type="str"),
                volume_options=dict(type="dict"),
                tmpfs_size=dict(type="str"),
                tmpfs_mode=dict(type="str"),
            ),
        ),
        normalize=lambda v, s: normalize_mounts(v, s.get("volumes")),
        expected=lambda d, img: d["mounts"],
        actual=mounts_actual,
        apply=_mounts_apply,
        comparisons=COLLECTION,
    ),
    # compared through mounts (the short form of the same list)
    Option("volumes", dict(type="list", elements="str"), key=False),
    Option(
        "volumes_from",
        dict(type="list", elements="str"),
        normalize=_normalize_volumes_from,
        expected=lambda d, img: d["volumes_from"],
        actual=_volumes_from_actual,
        apply=set_hc("VolumesFrom", list, when=bool),
        view=lambda v, img, d: v or None,
        comparisons=COLLECTION,
    ),
    # compared through env (the file's variables are part of the container's environment)
    Option("env_file", dict(type="str"), normalize=_normalize_env_file, check=_check_env_file),
]
