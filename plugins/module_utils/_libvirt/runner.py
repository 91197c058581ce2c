# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the libvirt managers (shared by every libvirt_* module)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
    fail_from_error,
    fail_unexpected,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import finish
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (
    HAS_LIBVIRT,
    LIBVIRT_IMPORT_ERROR,
    LibvirtClient,
    error_message,
    libvirt,
)

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

URI_ARG = dict(type="str", default="qemu:///system")
# the lock_timeout option of modules that lock (documented in doc_fragments/lock.py)
LOCK_ARGS = dict(lock_timeout=dict(type="int", default=guard.DEFAULT_LOCK_TIMEOUT))


def open_client(uri: str, option: str = "uri") -> LibvirtClient:
    """An open LibvirtClient; a URI that is malformed or does not answer fails naming ``option``."""
    validators.check_libvirt_uri(uri, option)
    try:
        return LibvirtClient(uri).open()
    except BackendError as exc:
        raise ValidationError(option, exc.msg, accepted=validators.LIBVIRT_URI_ACCEPTED + " that answers")


def lock_key(uri: str, kind: str, name: str) -> str:
    """The lock key of one object (a VM...) behind ``uri``."""
    return "libvirt %s %s %s" % (uri, kind, name)


def run_with_client(
    module: AnsibleModule,
    func: Callable[[LibvirtClient], dict[str, Any]],
    uri: str | None = None,
    option: str = "uri",
    locks: Iterable[str] = (),
    mutates: bool = True,
) -> None:
    """Open the connection, call ``func(client)``, exit_json/fail_json with its result.

    ``option`` names the option the URI came from (in messages about it). ``locks``: keys (see
    ``lock_key``) held while ``func`` runs; ``mutates``: the module changes things, so signals are
    deferred (see _common/guard.py).
    """
    uri = uri or module.params["uri"]
    run_with_clients(module, lambda clients: func(clients[uri]), [uri], option=option, locks=locks, mutates=mutates)


def run_with_clients(
    module: AnsibleModule,
    func: Callable[[dict[str, LibvirtClient]], dict[str, Any]],
    uris: Iterable[str],
    option: str | dict[str, str] = "uri",
    locks: Iterable[str] = (),
    mutates: bool = True,
) -> None:
    """As :func:`run_with_client` with one connection per URI: ``func({uri: client})``. ``option`` may be a
    dict naming the option each URI came from."""
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    holder = "%s %s" % (getattr(module, "_name", None) or "a module", module.params.get("name") or "")
    clients: dict[str, LibvirtClient] = {}
    try:
        with guard.guarded(locks, module.params.get("lock_timeout"), holder.strip()) if mutates else nullcontext():
            try:
                for uri in uris:
                    clients[uri] = open_client(uri, option.get(uri, "uri") if isinstance(option, dict) else option)
                result = func(clients)
            finally:
                for client in clients.values():
                    client.close()
    except FleetError as exc:
        fail_from_error(module, exc)
        return
    except libvirt.libvirtError as exc:
        # a libvirt call outside the managers' wrapped calls: still libvirt's message, no traceback
        module.fail_json(msg="libvirt: %s" % error_message(exc))
        return
    except Exception as exc:  # pylint: disable=broad-except
        fail_unexpected(module, exc)
        return
    finish(module, result)
