# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the Docker managers (shared by every container* module)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    FleetError,
    fail_from_error,
    fail_unexpected,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import finish
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import (
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    EngineClient,
    connect,
    docker_host_from,
)

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

# the lock_timeout option of modules that lock (documented in doc_fragments/lock.py)
LOCK_ARGS = dict(lock_timeout=dict(type="int", default=guard.DEFAULT_LOCK_TIMEOUT))


def lock_key(params: Mapping[str, Any], kind: str, name: str) -> str:
    """The lock key of one object on the engine ``params`` name (the engine's address is part of it)."""
    return "docker %s %s %s" % (docker_host_from(params), kind, name.lstrip("/"))


def run_with_client(
    module: AnsibleModule,
    func: Callable[[EngineClient], dict[str, Any]],
    pool_size: int | None = None,
    locks: Iterable[str] = (),
    mutates: bool = True,
) -> None:
    """Connect to the engine, call ``func(client)``, end the module with its result (``finish``).

    ``pool_size``: HTTP connections to keep open (see ``connect``). A result that is a
    failure as a whole says ``failed`` and ``msg`` (see ``_common/runner.finish``).
    """
    if not HAS_DOCKER:
        module.fail_json(
            msg=missing_required_lib("docker (Docker SDK for Python >= 5.0.3)"), exception=DOCKER_IMPORT_ERROR
        )
    try:
        # 0 or less would be the SDK's "Timeout value out of range" after the engine was asked
        if module.params.get("timeout") is not None:
            validators.check_int(module.params["timeout"], "timeout", 1, accepted="seconds, an integer >= 1")
        with guard.guarded(locks, module.params.get("lock_timeout"), _holder(module)) if mutates else nullcontext():
            client = connect(module.params, pool_size=pool_size)
            result = func(client)
    except FleetError as exc:
        fail_from_error(module, exc, changed=False)
        return
    except Exception as exc:  # pylint: disable=broad-except
        # a defect, not bad input: still a message, never a bare traceback
        fail_unexpected(module, exc, changed=False)
        return
    finish(module, result)


def _holder(module: AnsibleModule) -> str:
    name = getattr(module, "_name", None) or "a module"
    target = module.params.get("name")
    return "%s %s" % (name, target) if target else name
