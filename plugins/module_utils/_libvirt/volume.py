# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Storage volumes: facts, create (empty or qcow2 overlay), streamed upload, checksum, resize, delete."""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    ValidationError,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import (
    ACCEPTED_SIZES,
    SizeError,
    parse_size,
)

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient

CHUNK = 1024 * 1024
CHECKSUM_ALGORITHMS = ("sha256", "sha512", "sha1", "md5")


def volume_info(client, vol):
    """Facts of a virStorageVol: name, pool, path, capacity, allocation, format, backing."""
    xml = client.call("reading volume", vol.XMLDesc, 0)
    root = ET.fromstring(xml)
    fmt = root.find("target/format")
    backing = root.find("backingStore/path")
    info = client.call("reading volume info", vol.info)
    return {
        "name": vol.name(),
        "pool": client.call("reading volume pool", vol.storagePoolLookupByVolume).name(),
        "path": vol.path(),
        "capacity": int(info[1]),
        "allocation": int(info[2]),
        "format": fmt.get("type") if fmt is not None else None,
        "backing_path": backing.text if backing is not None else None,
    }


def require_pool(client, name, option="pool"):
    pool = client.pool(name)
    if pool is None:
        names = sorted(p.name() for p in client.pools())
        raise ValidationError(option, "storage pool %r does not exist" % name, accepted=", ".join(names) or "no pools defined")
    if not pool.isActive():
        raise ValidationError(option, "storage pool %r is not active" % name, accepted="an active pool")
    return pool


def volume_xml(name, capacity, fmt="qcow2", backing_path=None, backing_format=None):
    root = ET.Element("volume")
    ET.SubElement(root, "name").text = name
    ET.SubElement(root, "capacity", {"unit": "bytes"}).text = str(int(capacity))
    if fmt == "qcow2" or backing_path:
        ET.SubElement(root, "allocation", {"unit": "bytes"}).text = "0"
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": fmt})
    if backing_path:
        backing = ET.SubElement(root, "backingStore")
        ET.SubElement(backing, "path").text = backing_path
        ET.SubElement(backing, "format", {"type": backing_format or "qcow2"})
    return ET.tostring(root, encoding="unicode")


def create_volume(client, pool, name, capacity, fmt="qcow2", backing_path=None, backing_format=None):
    xml = volume_xml(name, capacity, fmt, backing_path, backing_format)
    return client.call("creating volume %s in pool %s" % (name, pool.name()), pool.createXML, xml, 0)


def delete_volume(client, vol):
    name = vol.name()
    client.call("deleting volume %s" % name, vol.delete, 0)


def resize_volume(client, vol, capacity):
    client.call("resizing volume %s" % vol.name(), vol.resize, int(capacity), 0)


def file_checksum(path, algorithm="sha256"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def parse_checksum(value, option="checksum"):
    """'sha256:abc...' (or a bare sha256 hex) -> (algorithm, hex)."""
    if not value:
        return None, None
    if ":" in value:
        algorithm, digest = value.split(":", 1)
    else:
        algorithm, digest = "sha256", value
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ValidationError(option, "unknown checksum algorithm %r" % algorithm,
                              accepted="ALGORITHM:HEX with ALGORITHM one of " + ", ".join(CHECKSUM_ALGORITHMS))
    digest = digest.strip().lower()
    if not digest or any(c not in "0123456789abcdef" for c in digest) or len(digest) != hashlib.new(algorithm).digest_size * 2:
        raise ValidationError(option, "%r is not a %s hex digest" % (digest, algorithm), accepted="ALGORITHM:HEX, e.g. sha256:<64 hex digits>")
    return algorithm, digest


def volume_checksum(client, vol, algorithm="sha256"):
    """Checksum of a volume's bytes: read directly on a local hypervisor, streamed otherwise."""
    path = vol.path()
    if client.is_local() and path and os.access(path, os.R_OK):
        return file_checksum(path, algorithm)
    digest = hashlib.new(algorithm)
    stream = client.call("opening stream", client.conn.newStream, 0)
    try:
        client.call("downloading volume %s" % vol.name(), vol.download, stream, 0, 0, 0)
        while True:
            data = client.call("downloading volume %s" % vol.name(), stream.recv, CHUNK)
            if not data or data == -2:
                break
            digest.update(data)
        client.call("finishing download", stream.finish)
    except BackendError:
        try:
            stream.abort()
        except Exception:  # pylint: disable=broad-except
            pass
        raise
    return digest.hexdigest()


def upload_file(client, pool, name, src, fmt="raw"):
    """Create volume ``name`` and stream the file ``src`` into it (never read whole into memory).

    The volume is removed again when the upload fails. Returns the new virStorageVol.
    """
    size = os.path.getsize(src)
    vol = create_volume(client, pool, name, size, "raw" if fmt in (None, "raw", "iso") else fmt)
    try:
        _stream_into(client, vol, src, size)
        try:
            pool.refresh(0)
        except Exception:  # pylint: disable=broad-except
            pass
        vol = client.volume(pool, name) or vol
    except Exception:
        try:
            vol.delete(0)
        except Exception:  # pylint: disable=broad-except
            pass
        raise
    return vol


def _stream_into(client, vol, src, size):
    stream = client.call("opening stream", client.conn.newStream, 0)
    try:
        client.call("uploading into volume %s" % vol.name(), vol.upload, stream, 0, size, 0)
        with open(src, "rb") as handle:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    sent = client.call("uploading into volume %s" % vol.name(), stream.send, bytes(view))
                    if sent is None or sent < 0:
                        raise BackendError("uploading into volume %s: stream refused data" % vol.name())
                    view = view[sent:]
        client.call("finishing upload into volume %s" % vol.name(), stream.finish)
    except Exception:
        try:
            stream.abort()
        except Exception:  # pylint: disable=broad-except
            pass
        raise


def find_volume(client, pool_name, name, option):
    """Volume ``name`` in pool ``pool_name`` or a ValidationError naming ``option``."""
    pool = require_pool(client, pool_name, option)
    vol = client.volume(pool, name)
    if vol is None:
        try:
            names = sorted(pool.listVolumes())
        except Exception:  # pylint: disable=broad-except
            names = []
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise ValidationError(option, "volume %r does not exist in pool %r" % (name, pool_name), accepted=shown or "the pool is empty")
    return pool, vol


def resolve_volume_ref(client, ref, default_pool, option):
    """A volume given as a name in ``default_pool``, 'pool/name', or an absolute path -> (pool, vol)."""
    if ref.startswith("/"):
        vol = client.volume_by_path(ref)
        if vol is None:
            raise ValidationError(option, "%r is not a volume of any storage pool" % ref,
                                  accepted="a volume name, POOL/NAME, or the path of a volume in an active pool (refresh the pool after copying files in)")
        return client.call("reading pool", vol.storagePoolLookupByVolume), vol
    if "/" in ref:
        pool_name, name = ref.split("/", 1)
        return find_volume(client, pool_name, name, option)
    return find_volume(client, default_pool, ref, option)


VOLUME_SIZE_MAX = 2 ** 63 - 1  # bytes: the largest file size (off_t) and qemu-img size


class LibvirtVolumeManager:
    """Converge one volume: import from a file (streamed, checksum-idempotent), create empty or
    as a qcow2 overlay, grow, delete. ``run(params)`` returns the module result."""

    def __init__(self, client: LibvirtClient, check_mode: bool = False, diff: bool = False) -> None:
        self.client = client
        self.check_mode = check_mode
        self.diff_mode = diff
        self.params: dict[str, Any] = {}
        self._clone_source = None

    def _validate(self):
        params = self.params
        validators.check_libvirt_name(params.get("name") or "", "name", "volume name")
        given = [k for k in ("src", "size", "backing", "clone_from") if params.get(k) is not None]
        if params.get("state") != "absent" and not given:
            raise ValidationError("src", "nothing says what the volume holds",
                                  accepted="src (import a file), clone_from (copy a volume on the hypervisor), size (empty volume) or backing (overlay)")
        sources = [k for k in ("src", "backing", "clone_from") if params.get(k)]
        if len(sources) > 1:
            raise ValidationError(sources[1], "cannot be combined with %s" % sources[0], accepted="one of src, clone_from, backing")
        size = None
        if params.get("size") is not None:
            try:
                size = parse_size(params["size"], "GiB")
            except SizeError as exc:
                raise ValidationError("size", exc.reason, accepted=ACCEPTED_SIZES)
            if size <= 0:
                raise ValidationError("size", "must be positive", accepted="a size above 0")
            if size > VOLUME_SIZE_MAX:
                # libvirt takes the capacity as a 64-bit byte count; more is "malformed capacity" after the ask
                raise ValidationError("size", "%d bytes is more than a volume can have" % size,
                                      accepted="a size above 0 and below 8 EiB")
        algorithm, digest = parse_checksum(params.get("checksum"))
        if params.get("src"):
            if not os.path.isfile(params["src"]):
                raise ValidationError("src", "%r is not a readable file on the controller" % params["src"], accepted="the path of an image file")
        elif params.get("checksum") and not params.get("clone_from"):
            raise ValidationError("checksum", "only applies to src or clone_from", accepted="checksum together with src or clone_from")
        return size, algorithm or "sha256", digest

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        # the per-run state the helpers read
        self.params = params
        self._clone_source = None
        size, algorithm, digest = self._validate()
        pool = require_pool(self.client, params.get("pool") or "default")
        vol = self.client.volume(pool, params["name"])
        before: Any = volume_info(self.client, vol) if vol is not None else None
        if params.get("state") == "absent":
            return self._absent(vol, before)
        actions = []
        src = params.get("src")
        src_sum = None
        if src:
            src_sum = file_checksum(src, algorithm)
            if digest and src_sum != digest:
                raise ValidationError("checksum", "%s of %s is %s, not the expected %s" % (algorithm, src, src_sum, digest),
                                      accepted="the checksum of the file given in src")
            if vol is None:
                actions.append("upload")
            else:
                current_sum = volume_checksum(self.client, vol, algorithm)
                before["checksum"] = "%s:%s" % (algorithm, current_sum)
                if current_sum != src_sum:
                    if not params.get("force"):
                        raise ValidationError("force", "volume %s exists with different content (%s:%s, the file has %s:%s)"
                                              % (params["name"], algorithm, current_sum, algorithm, src_sum),
                                              accepted="force: true to replace its content")
                    actions.append("replace")
        elif params.get("clone_from"):
            _spool, source = resolve_volume_ref(self.client, params["clone_from"], pool.name(), "clone_from")
            if digest:
                src_sum = volume_checksum(self.client, source, algorithm)
                if src_sum != digest:
                    raise ValidationError("checksum", "%s of %s is %s, not the expected %s" % (algorithm, params["clone_from"], src_sum, digest),
                                          accepted="the checksum of the clone_from volume")
            # libvirt copies with qemu-img convert: the copy holds the same data in other bytes,
            # so an existing copy is not compared by checksum (force replaces it)
            if vol is None:
                actions.append("clone")
            elif params.get("force"):
                actions.append("replace clone")
            self._clone_source = source
            src_sum = None
        elif params.get("backing") is not None:
            if vol is None:
                resolve_volume_ref(self.client, params["backing"], params.get("backing_pool") or pool.name(), "backing")
                actions.append("create overlay")
        elif vol is None:
            actions.append("create")
        if vol is not None and size is not None and before:
            if size < before["capacity"]:
                raise ValidationError("size", "volumes only grow (current capacity %d bytes)" % before["capacity"],
                                      accepted="at least the current capacity")
            if size > before["capacity"]:
                actions.append("grow")
        result: dict[str, Any] = {"changed": bool(actions), "actions": actions}
        if self.check_mode or not actions:
            after = dict(before or {}, name=params["name"], pool=pool.name())
            if src_sum:
                after["checksum"] = "%s:%s" % (algorithm, src_sum)
            if size is not None and size > after.get("capacity", 0):
                after["capacity"] = size
            result["volume"] = after
        else:
            vol = self._apply(pool, vol, actions, size, src)
            result["volume"] = volume_info(self.client, vol)
            if src_sum:
                result["volume"]["checksum"] = "%s:%s" % (algorithm, src_sum)
        if self.diff_mode:
            keys = ("capacity", "format", "checksum", "backing_path")
            result["diff"] = {"before": dict((k, before.get(k)) for k in keys if k in before) if before else {"state": "absent"},
                              "after": dict((k, result["volume"].get(k)) for k in keys if k in result["volume"])}
        return result

    def _apply(self, pool, vol, actions, size, src):
        params = self.params
        fmt = params.get("format")
        if "upload" in actions:
            vol = upload_file(self.client, pool, params["name"], src, fmt or "raw")
        elif "replace" in actions:
            delete_volume(self.client, vol)
            vol = upload_file(self.client, pool, params["name"], src, fmt or "raw")
        elif "create overlay" in actions:
            _bpool, base = resolve_volume_ref(self.client, params["backing"], params.get("backing_pool") or pool.name(), "backing")
            binfo = volume_info(self.client, base)
            vol = create_volume(self.client, pool, params["name"], max(size or 0, binfo["capacity"]), "qcow2",
                                binfo["path"], binfo["format"])
        elif "clone" in actions or "replace clone" in actions:
            if vol is not None:
                delete_volume(self.client, vol)
            info = volume_info(self.client, self._clone_source)
            xml = volume_xml(params["name"], info["capacity"], info["format"] or "raw")
            vol = self.client.call("copying %s to %s" % (info["path"], params["name"]), pool.createXMLFrom, xml, self._clone_source, 0)
        elif "create" in actions:
            vol = create_volume(self.client, pool, params["name"], size, fmt or "qcow2")
        if "grow" in actions:
            resize_volume(self.client, vol, size)
        return vol

    def _absent(self, vol, before):
        result = {"changed": vol is not None, "actions": ["delete"] if vol is not None else [],
                  "volume": {"name": self.params["name"], "state": "absent"}}
        if self.diff_mode:
            result["diff"] = {"before": before or {"state": "absent"}, "after": {"state": "absent"}}
        if vol is not None and not self.check_mode:
            delete_volume(self.client, vol)
        return result
