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
                raise BackendError("cannot connect to libvirt at %s: %s" % (self.uri, error_message(exc)), uri=self.uri)
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


def domain_state(client: LibvirtClient, dom: Any) -> str:
    state = client.call("reading state of %s" % dom.name(), dom.state)[0]
    name = domain_state_name(state)
    if name == "blocked":
        name = "running"
    return name
