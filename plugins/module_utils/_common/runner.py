# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a manager's result becomes the module's answer: one policy for the libvirt and the Docker runners.

Every manager (``Manager(client, check_mode=False, diff=False).run(params) -> dict``) returns a plain dict;
this is the only place that turns it into ``exit_json``/``fail_json``, so both layers report diffs,
warnings and failures alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule


def manager_func(module: AnsibleModule, manager: Callable[..., Any], **extra: Any) -> Callable[[Any], dict[str, Any]]:
    """The ``func(client)`` a runner calls for a module that is one manager: ``manager(client, check_mode,
    diff, **extra).run(module.params)`` with the module's check and diff mode (``extra``: the manager's own
    dependencies, such as ``run_command``)."""
    # pylint: disable-next=protected-access
    return lambda client: manager(client, check_mode=module.check_mode, diff=module._diff, **extra).run(module.params)


def finish(module: AnsibleModule, result: dict[str, Any]) -> None:
    """End the module with ``result``: ``diff`` only in diff mode, ``warnings`` through ``module.warn``,
    ``fail_json`` when the result says ``failed``, else ``exit_json``."""
    # outside diff mode a diff would still land in the registered result (and its size in the output): the user
    # asked for none
    diff = result.pop("diff", None)
    if diff is not None and module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    # module.warn puts each warning in the result's warnings and the controller's output, deduplicated
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    if result.get("failed"):
        # fail_json requires a message; a manager that sets failed sets msg too (this default is a guard)
        module.fail_json(msg=result.pop("msg", "the module failed"), **result)
    module.exit_json(**result)
