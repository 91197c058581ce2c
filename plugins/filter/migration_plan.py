# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration_plan, migration_plan_markdown and migration_plan_html filters (documented in the .yml files
beside this one); the logic is module_utils/_report/plan.py and plan_render.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.hybridops.fleet.plugins.module_utils._report.plan import DEFAULT_PLAYBOOK, build_plan
from ansible_collections.hybridops.fleet.plugins.module_utils._report.plan_render import (
    render_plan_html,
    render_plan_markdown,
)


def _plain(value: Any) -> Any:
    """Ansible's lazy/unsafe containers as plain dicts, lists and strings."""
    if isinstance(value, Mapping):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _why_not(result: Any, vm: Mapping[str, Any]) -> str:
    """Why a host has no discovery result, from what was registered (or not)."""
    state = vm.get("state")
    if state and state != "running":
        return "the VM is %s" % state
    if not isinstance(result, Mapping):
        return "not reached: discovery did not run on this host (unreachable or failed before it)"
    if result.get("unreachable"):
        return "unreachable: %s" % (result.get("msg") or "no answer")
    if result.get("skipped"):
        return "skipped: %s" % (result.get("skip_reason") or result.get("false_condition") or "condition false")
    return "discovery failed: %s" % (result.get("msg") or "no services in its result")


def host_entry(hostvars: Mapping[str, Any], register: str = "migrate_plan_discovery") -> tuple[str, dict[str, Any]]:
    """One host's variables -> (inventory host name, build_plan's input entry)."""
    name = str(hostvars.get("inventory_hostname"))
    vm = _plain(hostvars.get("fleet_vm") or {})
    result = _plain(hostvars.get(register))
    ok = isinstance(result, dict) and isinstance(result.get("services"), dict) and not result.get("unreachable")
    addresses = [a for a in [hostvars.get("ansible_host"), vm.get("ip")] if isinstance(a, str) and a]
    memory = vm.get("memory")
    return name, {
        "vm": str(vm.get("name") or name),
        "discovery": result if ok else None,
        "error": None if ok else _why_not(result, vm),
        "addresses": [str(a) for a in addresses],
        "memory_mib": memory if isinstance(memory, (int, float)) and not isinstance(memory, bool) else None,
    }


def migration_plan(hosts: Any, playbook: str = DEFAULT_PLAYBOOK, inventory: str | None = None,
                   fleet_hosts: str | None = None, wave_size: int = 10, headroom_percent: int = 20,
                   extra_args: list[str] | None = None, register: str = "migrate_plan_discovery") -> dict[str, Any]:
    """The plan of the hosts: a list of host variables (as ``map('extract', hostvars)`` gives them), or a dict
    host -> {vm, discovery, error, addresses, memory_mib}."""
    if isinstance(hosts, Mapping):
        entries = dict((str(k), _plain(v)) for k, v in hosts.items())
    elif isinstance(hosts, (list, tuple)):
        entries = {}
        for index, item in enumerate(hosts):
            if not isinstance(item, Mapping) or not item.get("inventory_hostname"):
                raise AnsibleFilterError("migration_plan: item %d is not a host's variables (no inventory_hostname)"
                                         % index)
            name, entry = host_entry(item, register)
            entries[name] = entry
    else:
        raise AnsibleFilterError("migration_plan: expects a list of host variables or a dict of hosts, got %s"
                                 % type(hosts).__name__)
    try:
        return build_plan(entries, playbook=str(playbook), inventory=inventory or None,
                          fleet_hosts=fleet_hosts or None, wave_size=wave_size, headroom_percent=headroom_percent,
                          extra_args=[str(a) for a in extra_args or []])
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("migration_plan: %s" % exc) from exc


def _check(plan: Any, name: str) -> dict[str, Any]:
    if not isinstance(plan, Mapping) or not str(plan.get("schema", "")).startswith("hybridops.fleet/migration-plan/"):
        raise AnsibleFilterError("%s: expects the result of hybridops.fleet.migration_plan" % name)
    return _plain(plan)


def migration_plan_markdown(plan: Any) -> str:
    return render_plan_markdown(_check(plan, "migration_plan_markdown"))


def migration_plan_html(plan: Any, title: str = "Migration plan") -> str:
    return render_plan_html(_check(plan, "migration_plan_html"), title=str(title))


class FilterModule:
    def filters(self):
        return {"migration_plan": migration_plan, "migration_plan_markdown": migration_plan_markdown,
                "migration_plan_html": migration_plan_html}
