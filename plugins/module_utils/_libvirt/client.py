# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place in the collection that opens a libvirt connection.

Everything else receives a :class:`LibvirtClient` and calls libvirt through
:meth:`LibvirtClient.call`, which turns ``libvirt.libvirtError`` into
:class:`BackendError` carrying libvirt's own message.
"""

from __future__ import annotations

import traceback
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
)

LIBVIRT_IMPORT_ERROR = None
try:
    import libvirt
except ImportError:  # pragma: no cover - exercised by the module's missing_required_lib
    libvirt = None
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()

HAS_LIBVIRT = libvirt is not None


def _silence(_ctx: object, _err: object) -> None:
    """libvirt prints every error to stderr by default; we report them ourselves."""


if HAS_LIBVIRT:
    libvirt.registerErrorHandler(_silence, None)


def error_code(exc: libvirt.libvirtError) -> int | None:
    try:
        return exc.get_error_code()
    except Exception:  # pylint: disable=broad-except
        return None


def names_no_driver(error: BackendError) -> bool:
    """True when libvirt refused to connect because no driver takes the URI (a malformed URI such as
    ``banana``, an unknown scheme): the URI is wrong, not a hypervisor that does not answer."""
    return libvirt is not None and error.details.get("libvirt_error_code") == libvirt.VIR_ERR_NO_CONNECT


def error_message(exc: libvirt.libvirtError) -> str:
    """libvirt's message for an exception (falls back to str())."""
    try:
        msg = exc.get_error_message()
    except Exception:  # pylint: disable=broad-except
        msg = None
    return msg or str(exc)


class LibvirtClient:
    """A libvirt connection for one URI. Use as a context manager or call close()."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.conn: Any = None

    # connection -------------------------------------------------------
    def open(self) -> LibvirtClient:
        if self.conn is None:
            try:
                self.conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise BackendError(
                    "cannot connect to libvirt at %s: %s" % (self.uri, error_message(exc)),
                    uri=self.uri,
                    libvirt_error_code=error_code(exc),
                )
            if self.conn is None:  # pragma: no cover - old bindings
                raise BackendError("cannot connect to libvirt at %s" % self.uri, uri=self.uri)
        return self

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # pylint: disable=broad-except
                pass
            self.conn = None

    def __enter__(self) -> LibvirtClient:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def is_local(self) -> bool:
        """True when the hypervisor runs on this machine (paths are shared)."""
        uri = self.uri or ""
        return uri.startswith("test:") or "://" in uri and uri.split("://", 1)[1].startswith("/")

    # calls --------------------------------------------------------------
    def call(self, what: str, func: Callable[..., Any], *args: Any) -> Any:
        """Run ``func(*args)``; libvirt errors become BackendError('<what>: <libvirt message>')."""
        try:
            return func(*args)
        except libvirt.libvirtError as exc:
            raise BackendError("%s: %s" % (what, error_message(exc)), libvirt_error_code=error_code(exc))

    def _lookup(self, func: Callable[[str], Any], name: str, not_found_codes: tuple[int, ...]) -> Any:
        try:
            return func(name)
        except libvirt.libvirtError as exc:
            if error_code(exc) in not_found_codes:
                return None
            raise BackendError("lookup of %s failed: %s" % (name, error_message(exc)))

    def domain(self, name: str) -> Any:
        """The virDomain called ``name`` or None."""
        return self._lookup(self.conn.lookupByName, name, (libvirt.VIR_ERR_NO_DOMAIN,))

    def pool(self, name: str) -> Any:
        return self._lookup(self.conn.storagePoolLookupByName, name, (libvirt.VIR_ERR_NO_STORAGE_POOL,))

    def network(self, name: str) -> Any:
        return self._lookup(self.conn.networkLookupByName, name, (libvirt.VIR_ERR_NO_NETWORK,))

    def volume(self, pool: Any, name: str) -> Any:
        """Volume ``name`` in virStoragePool ``pool`` (or None)."""
        return self._lookup(pool.storageVolLookupByName, name, (libvirt.VIR_ERR_NO_STORAGE_VOL,))

    def volume_by_path(self, path: str) -> Any:
        return self._lookup(
            self.conn.storageVolLookupByPath, path, (libvirt.VIR_ERR_NO_STORAGE_VOL, libvirt.VIR_ERR_OPERATION_INVALID)
        )

    def domains(self) -> list[Any]:
        return self.call("listing domains", self.conn.listAllDomains, 0)

    def domains_with_states(self) -> list[tuple[Any, str]]:
        """[(virDomain, state name)] of every domain, in one call where the driver has bulk stats
        (virConnectGetAllDomainStats), otherwise a listing and one state call per domain."""
        try:
            stats = self.conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
        except libvirt.libvirtError as exc:
            if error_code(exc) not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED):
                raise BackendError("listing domains: %s" % error_message(exc), libvirt_error_code=error_code(exc))
            return [(dom, domain_state(self, dom)) for dom in self.domains()]
        return [(dom, state_of(values.get("state.state", -1))) for dom, values in stats]

    def domain_uuids(self, flags: int) -> set[str]:
        """UUIDs of the domains listAllDomains(flags) gives (for example the autostarted or persistent ones)."""
        return set(dom.UUIDString() for dom in self.call("listing domains", self.conn.listAllDomains, flags))

    def file_volumes(self) -> dict[str, tuple[Any, str]]:
        """{path: (virStorageVol, pool name)} of the volumes of the active file-based pools (dir, fs, netfs), from one
        listing per pool: the key of such a volume is its path. Volumes of other pools are not in it
        (look them up by path)."""
        result = {}
        pools = self.call(
            "listing storage pools", self.conn.listAllStoragePools, libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
        )
        for pool in pools:
            try:
                kind = pool_type(pool.XMLDesc(0))
            except libvirt.libvirtError:
                continue
            if kind not in FILE_POOL_TYPES:
                continue
            try:
                volumes = pool.listAllVolumes(0)
            except libvirt.libvirtError:
                continue  # a pool that went away or cannot be listed: its disks are looked up one by one
            name = pool.name()
            for vol in volumes:
                key = vol.key()
                if key and key.startswith("/"):
                    result[key] = (vol, name)
        return result

    def node(self) -> tuple[list[Any], str, int]:
        """(virConnect.getInfo() list, host name, libvirt version number) of the hypervisor."""
        return (
            self.call("reading the hypervisor's node info", self.conn.getInfo),
            self.call("reading the hypervisor's host name", self.conn.getHostname),
            self.call("reading libvirt's version", self.conn.getLibVersion),
        )

    def networks(self) -> list[Any]:
        return self.call("listing networks", self.conn.listAllNetworks, 0)

    def pools(self) -> list[Any]:
        return self.call("listing storage pools", self.conn.listAllStoragePools, 0)


def domain_state_name(state: int) -> str:
    """virDomainState integer -> running/paused/stopped/... string."""
    names = {
        0: "nostate",
        1: "running",
        2: "blocked",
        3: "paused",
        4: "shutdown",
        5: "stopped",
        6: "crashed",
        7: "pmsuspended",
    }
    return names.get(state, "unknown")


def state_of(state: int) -> str:
    """The state a VM is reported in for a virDomainState integer (blocked counts as running)."""
    name = domain_state_name(state)
    return "running" if name == "blocked" else name


def domain_state(client: LibvirtClient, dom: Any) -> str:
    return state_of(client.call("reading state of %s" % dom.name(), dom.state)[0])


# pools whose volumes are files (or block devices) named by their path, which is also the volume's key
FILE_POOL_TYPES = ("dir", "fs", "netfs")


def pool_type(xml: str) -> str | None:
    """The type attribute of a storage pool's XML (``<pool type='dir'>``), or None."""
    try:
        return ET.fromstring(xml).get("type")
    except ET.ParseError:
        return None
