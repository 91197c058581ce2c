# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init NoCloud seeds: content (pure) and the ISO (volume id ``cidata``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    ValidationError,
)

ISO_TOOLS = ("genisoimage", "mkisofs", "xorrisofs")


def _as_text(value, option, header=None):
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        text = json.dumps(value, indent=2, sort_keys=True)
        return (header + "\n" + text + "\n") if header else text + "\n"
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n"
    raise ValidationError(option, "must be a dict or a string", accepted="a dict (rendered for you) or the file content as a string")


def seed_files(vm_name, options):
    """{'user-data': str, 'meta-data': str, 'network-config': str?} from the cloud_init option."""
    options = options or {}
    user_data = options.get("user_data")
    keys = options.get("ssh_authorized_keys") or []
    hostname = options.get("hostname") or vm_name
    if isinstance(user_data, str) and keys:
        raise ValidationError("cloud_init.ssh_authorized_keys", "cannot be merged into user_data given as a string",
                              accepted="user_data as a dict, or the keys written inside the string")
    if user_data is None or isinstance(user_data, dict):
        data = dict(user_data or {})
        if keys:
            data["ssh_authorized_keys"] = list(data.get("ssh_authorized_keys") or []) + list(keys)
        data.setdefault("hostname", hostname)
        user_text = _as_text(data, "cloud_init.user_data", header="#cloud-config")
    else:
        user_text = _as_text(user_data, "cloud_init.user_data")
    network = _as_text(options.get("network_config"), "cloud_init.network_config")
    meta = options.get("meta_data")
    if meta is None or isinstance(meta, dict):
        meta = dict(meta or {})
        digest = hashlib.sha256((user_text + (network or "")).encode("utf-8")).hexdigest()[:12]
        meta.setdefault("instance-id", "%s-%s" % (vm_name, digest))
        meta.setdefault("local-hostname", hostname)
    files = {"user-data": user_text, "meta-data": _as_text(meta, "cloud_init.meta_data")}
    if network:
        files["network-config"] = network
    return files


def seed_sha256(files):
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def find_iso_tool():
    for tool in ISO_TOOLS:
        path = shutil.which(tool)
        if path:
            return path
    return None


def build_iso(files, run_command, workdir=None):
    """Write the files and make a NoCloud ISO; returns the ISO path (caller removes its directory).

    ``run_command(args)`` returns ``(rc, stdout, stderr)`` (AnsibleModule.run_command).
    """
    tool = find_iso_tool()
    if tool is None:
        raise BackendError("cloud_init: no ISO tool found on the controller (install one of %s)" % ", ".join(ISO_TOOLS))
    workdir = workdir or tempfile.mkdtemp(prefix="hybridops-seed-")
    src = os.path.join(workdir, "seed")
    os.makedirs(src)
    for name, content in files.items():
        with open(os.path.join(src, name), "w") as handle:
            handle.write(content)
    iso = os.path.join(workdir, "seed.iso")
    cmd = [tool, "-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", src]
    rc, _out, err = run_command(cmd)
    if rc != 0:
        raise BackendError("cloud_init: %s failed: %s" % (os.path.basename(tool), (err or "").strip()))
    return iso
