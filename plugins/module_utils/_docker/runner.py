# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the Docker managers (shared by every container* module)."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    FleetError,
    fail_from_error,
    fail_unexpected,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import (
    DOCKER_IMPORT_ERROR,
    HAS_DOCKER,
    connect,
)


def run_with_client(module, func, pool_size=None, failure=None):
    """Connect to the engine, call ``func(client)``, exit_json/fail_json with its result.

    ``pool_size``: HTTP connections to keep open (see ``connect``). The result's
    ``diff`` is returned only in diff mode. ``failure(result)``, when given, returns
    a message when the result as a whole is a failure (the module then fails with
    that message and the whole result), or nothing.
    """
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib("docker (Docker SDK for Python >= 5.0.3)"),
                         exception=DOCKER_IMPORT_ERROR)
    try:
        # 0 or less would be the SDK's "Timeout value out of range" after the engine was asked
        if module.params.get("timeout") is not None:
            validators.check_int(module.params["timeout"], "timeout", 1, accepted="seconds, an integer >= 1")
        client = connect(module.params, pool_size=pool_size)
        result = func(client)
    except FleetError as exc:
        fail_from_error(module, exc, changed=False)
        return
    except Exception as exc:  # pylint: disable=broad-except
        # a defect, not bad input: still a message, never a bare traceback
        fail_unexpected(module, exc, changed=False)
        return
    diff = result.pop("diff", None)
    if diff is not None and module._diff:
        result["diff"] = diff
    message = failure(result) if failure else None
    if message:
        module.fail_json(msg=message, **result)
    module.exit_json(**result)
