# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge a list of VMs in one module run (libvirt_vms).

Each VM is converged by the same :class:`VmManager` as libvirt_vm, on a thread pool, with one libvirt
connection per hypervisor URI shared by its VMs' threads (libvirt connections are thread-safe). Two passes:
every VM is first planned in check mode (all validation, pool, volume and network lookups), and only when
every plan succeeded are the changes made; so bad input in any item changes nothing anywhere.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import FleetError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.domain import VmManager
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_spec import VM_OPTIONS

# an item may name its own hypervisor; without one it is the module's uri
ITEM_SPEC = dict(VM_OPTIONS, uri=dict(type="str"))
DEFAULT_WORKERS = 4

Item = dict[str, Any]


def item_label(item: Any, index: int) -> str:
    """``vms[NAME]`` once the name is a usable string, ``vms[INDEX]`` before."""
    if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
        return "vms[%s]" % item["name"]
    return "vms[%d]" % index


def validate_items(items: list[Any], default_uri: str) -> tuple[list[Item], set]:
    """Each item checked against libvirt_vm's argument spec (types, choices, defaults, nested options).

    Returns the normalized items (``uri`` filled in) and the no_log values found in them. Raises
    ValidationError naming ``vms[NAME]`` (and the option) for the first bad item, and for a VM listed twice
    on one hypervisor.
    """
    validator = ArgumentSpecValidator(ITEM_SPEC)
    result = []
    secrets = set()
    seen: dict[tuple[str, str], int] = {}
    for index, item in enumerate(items):
        label = item_label(item, index)
        if not isinstance(item, dict):
            raise ValidationError(label, "must be a dictionary, got %r" % (item,),
                                  accepted="a dictionary of the options of hybridops.fleet.libvirt_vm")
        checked = validator.validate(item)
        secrets.update(checked._no_log_values)  # pylint: disable=protected-access
        if checked.error_messages:
            raise ValidationError(label, "; ".join(checked.error_messages),
                                  accepted="the options of hybridops.fleet.libvirt_vm (ansible-doc hybridops.fleet.libvirt_vm)")
        params = checked.validated_parameters
        params["uri"] = params.get("uri") or default_uri
        validators.check_libvirt_uri(params["uri"], label + ".uri")
        key = (params["uri"], params["name"])
        if key in seen:
            raise ValidationError(label + ".name", "%s is listed twice for %s (items %d and %d)"
                                  % (params["name"], params["uri"], seen[key], index),
                                  accepted="each VM once per hypervisor")
        seen[key] = index
        result.append(params)
    return result, secrets


def prefixed(label: str, exc: FleetError) -> str:
    """A manager's message with the item named first (its ValidationErrors name the option alone)."""
    if isinstance(exc, ValidationError) and getattr(exc, "option", None):
        return "%s.%s" % (label, exc.msg)
    return "%s: %s" % (label, exc.msg)


def summary(results: list[Item], planned_only: bool = False) -> dict[str, Any]:
    """The module result from the per-VM results (in the items' order). ``planned_only``: the run stopped after
    the plan pass (a plan failed, so nothing was changed)."""
    failed = [r for r in results if r.get("failed")]
    out = {
        "changed": any(r.get("changed") for r in results),
        "results": results,
        "changed_vms": [r["name"] for r in results if r.get("changed")],
        "failed_vms": [r["name"] for r in failed],
        "diff": {"before": dict((r["key"], (r.get("diff") or {}).get("before")) for r in results),
                 "after": dict((r["key"], (r.get("diff") or {}).get("after")) for r in results)},
    }
    if failed:
        out["failed"] = True
        if planned_only:
            out["msg"] = "; ".join(r["msg"] for r in failed) + " (no VM was changed)"
        else:
            out["msg"] = "%d of %d VMs failed: %s" % (len(failed), len(results), "; ".join(r["msg"] for r in failed))
        if len(failed) == 1 and failed[0].get("option"):
            out["option"] = failed[0]["option"]
    return out


class VmListManager:
    """Plan, then apply, every VM of the list; ``run(params)`` returns the module result dict.

    The client is the dict ``{uri: LibvirtClient}`` of every hypervisor the items name; ``params["vms"]`` are the
    items as :func:`validate_items` returns them (each with its ``uri``).
    """

    def __init__(self, clients: dict[str, Any], check_mode: bool = False, diff: bool = False,
                 run_command: Callable | None = None, max_workers: int = DEFAULT_WORKERS) -> None:
        self.clients = clients
        self.check_mode = check_mode
        self.diff_mode = diff
        self.run_command = run_command
        self.max_workers = max(1, max_workers)
        self.items: list[Item] = []
        self.keys: list[str] = []

    def _one(self, index: int, check_mode: bool) -> Item:
        item = self.items[index]
        label = "vms[%s]" % self.keys[index]
        base = {"name": item["name"], "uri": item["uri"], "key": self.keys[index]}
        if guard.requested():
            return dict(base, changed=False, failed=True, skipped=True,
                        msg="%s: not started, the run was interrupted by %s" % (label, guard.signal_name()))
        client = self.clients[item["uri"]]
        manager = VmManager(client, check_mode=check_mode, diff=self.diff_mode, run_command=self.run_command)
        existed = check_mode or self._exists(client, item["name"])
        try:
            result = manager.run(item)
        except FleetError as exc:
            details = dict(exc.details)
            details.pop("msg", None)
            if isinstance(exc, ValidationError) and exc.option:
                details["option"] = "%s.%s" % (label, exc.option)
            details.setdefault("actions", list(manager.actions))
            if check_mode:
                changed = False
            elif not existed:
                # a new VM whose create failed was undone (no change); one created before its wait failed is there
                changed = self._exists(client, item["name"])
            else:
                changed = bool(details.get("changed")) or bool(details["actions"])
            return dict(details, changed=changed, failed=True, msg=prefixed(label, exc), **base)
        result.update(base)
        return result

    @staticmethod
    def _exists(client: Any, name: str) -> bool:
        """Whether the domain exists; True when that cannot be told (a connection that broke): "changed" then
        errs on the side of saying something may have happened."""
        try:
            return client.domain(name) is not None
        except FleetError:
            return True

    def _pass(self, check_mode: bool) -> list[Item]:
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(self.items) or 1)) as pool:
            return list(pool.map(lambda i: self._one(i, check_mode), range(len(self.items))))

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        # the per-run state _one and _pass read
        self.items = params["vms"]
        # the result key of each VM: its name, or URI/NAME where two hypervisors hold the same name
        names = [i["name"] for i in self.items]
        self.keys = [i["name"] if names.count(i["name"]) == 1 else "%s/%s" % (i["uri"], i["name"]) for i in self.items]
        results = self._pass(check_mode=True)
        planned_only = any(r.get("failed") for r in results)
        if planned_only:
            # a plan failed: nothing was changed anywhere (the message says which VM and why)
            for result in results:
                result["changed"] = False
        elif not self.check_mode:
            # every VM, changed or not: an unchanged VM still waits (wait=) and reports its addresses
            results = self._pass(check_mode=False)
        out = summary(results, planned_only)
        for result in results:
            result.pop("key", None)
            if not self.diff_mode:
                result.pop("diff", None)
        if not self.diff_mode:
            out.pop("diff")
        return out
