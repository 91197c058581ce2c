# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""StackManager: converge many containers in one call, in parallel.

One listing of the engine's containers, one inspect per existing member (in
parallel), one image lookup per distinct image; then the members are converged
by a bounded pool of workers. A member starts only when the members it
``depends_on`` are done (and healthy, when they were asked to be); members whose
dependency failed are skipped, the rest carry on. Containers carrying the
stack's label that are no longer declared are pruned. Every member's outcome is
reported, so a partial failure says exactly what changed and what did not; a
rerun converges.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ansible.module_utils.common.validation import check_type_bool

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import keep_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import FleetError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import call, docker_host_from
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import (
    CONTAINER_SPEC_ARGS,
    PULL_MODES,
    RECREATE_MODES,
    STATES,
    ContainerManager,
    ImageResolver,
    kill_signal_of,
    leftovers,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import table as option_table
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import (
    EngineNetworkManager,
    EngineVolumeManager,
)

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import EngineClient

MEMBER_KEYS = set(CONTAINER_SPEC_ARGS) | {
    "state", "recreate", "pull", "wait_timeout", "keep_volumes", "restart", "depends_on", "force_kill", "kill_signal"}
# Suboptions of container_stack's ``containers``. Types, choices and defaults
# are checked by normalize_members (so a message names containers[INDEX].OPTION
# and member defaults come from the stack's options); the spec exists so that
# AnsibleModule knows secret_env is no_log before it logs its invocation.
MEMBER_SPEC = dict((key, dict(type="raw", no_log=CONTAINER_SPEC_ARGS.get(key, {}).get("no_log", False)))
                   for key in sorted(MEMBER_KEYS))
NETWORK_KEYS = {"name", "driver", "internal", "subnet", "gateway", "labels", "options"}
VOLUME_KEYS = {"name", "driver", "labels", "driver_opts"}


def _check_keys(item, allowed, where):
    if not isinstance(item, dict):
        raise ValidationError(where, "must be a dictionary, got %r" % (item,))
    unknown = set(item) - allowed
    if unknown:
        raise ValidationError("%s.%s" % (where, sorted(unknown)[0]), "unknown option",
                              accepted=", ".join(sorted(allowed)))


def _member_bool(value, option):
    try:
        return check_type_bool(value)
    except TypeError:
        raise ValidationError(option, "%r is not a boolean" % (value,), accepted="true or false")


def _depends_on(member):
    """A member's depends_on as a list of names (a lone string is not split into letters)."""
    value = member.get("depends_on")
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(dep, str) for dep in value):
        raise ValidationError("containers[%s].depends_on" % member["name"], "%r is not a list of member names" % (value,),
                              accepted="a list of member names, e.g. [db]")
    return [dep.lstrip("/") for dep in value]


def order_members(members):
    """Validate depends_on (unknown names, cycles); returns names in a dependency order."""
    names = [m["name"] for m in members]
    deps = dict((m["name"], _depends_on(m)) for m in members)
    for member in members:
        for dep in deps[member["name"]]:
            if dep not in deps:
                raise ValidationError("containers[%s].depends_on" % member["name"],
                                      "%s depends on %r, which is not a member of the stack" % (member["name"], dep),
                                      accepted=", ".join(names))
    order = []
    state = {}

    def visit(name, path):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ValidationError("containers[%s].depends_on" % path[0],
                                  "dependency cycle: %s" % " -> ".join(path + [name]))
        state[name] = "visiting"
        for dep in deps[name]:
            visit(dep, path + [name])
        state[name] = "done"
        order.append(name)

    for name in names:
        visit(name, [])
    return order


def _check_resources(params):
    """Declared networks and volumes: known keys and valid names, before anything is created."""
    for option, allowed, kind, shortest in (("networks", NETWORK_KEYS, "network name", 1),
                                            ("volumes", VOLUME_KEYS, "volume name", 2)):
        for index, item in enumerate(params.get(option) or []):
            where = "%s[%d]" % (option, index)
            _check_keys(item, allowed, where)
            if not item.get("name"):
                raise ValidationError(where + ".name", "is required")
            validators.check_docker_name(item["name"], where + ".name", kind, min_length=shortest)


def _check_limits(params):
    for option in ("max_workers", "max_unavailable"):
        if params.get(option) is not None:
            validators.check_int(params[option], option, minimum=1)
    if params.get("wait_timeout") is not None:
        validators.check_int(params["wait_timeout"], "wait_timeout", minimum=0)


def stack_locks(params):
    """Lock keys of a stack run: the stack, and each member's container name (shared with the container module)."""
    host = docker_host_from(params)
    keys = ["docker %s stack %s" % (host, params.get("name"))]
    for member in params.get("containers") or []:
        if isinstance(member, dict) and isinstance(member.get("name"), str):
            keys.append("docker %s container %s" % (host, member["name"].lstrip("/")))
    return keys


def interrupted_message(result):
    """The failure message of a stack run a signal ended (what was done and what was not)."""
    state = dict((n, r.get("status")) for n, r in result["containers"].items())
    return ("stack %s: interrupted by %s; no new member was started and the ones in flight were finished or undone. "
            "changed: %s; failed: %s; not started: %s; pruned: %s. A rerun converges the rest."
            % (result["stack"], result["interrupted"], ", ".join(result["changed_members"]) or "none",
               "; ".join("%s: %s" % (n, result["containers"][n]["error"]) for n in result["failed_members"]) or "none",
               ", ".join(sorted(n for n, st in state.items() if st == "skipped")) or "none",
               ", ".join(result["pruned"]) or "none"))


def failure_message(result):
    """The message of a stack run that failed as a whole (a signal ended it, or members failed), or None."""
    if result.get("interrupted"):
        return interrupted_message(result)
    if not (result["failed_members"] or result["skipped_members"]):
        return None
    return ("stack %s: %d member(s) failed (%s)%s; changed: %s; unchanged: %s. A rerun converges the rest."
            % (result["stack"], len(result["failed_members"]),
               "; ".join("%s: %s" % (n, result["containers"][n]["error"]) for n in result["failed_members"]),
               (", skipped because a dependency failed: %s" % ", ".join(result["skipped_members"]))
               if result["skipped_members"] else "",
               ", ".join(result["changed_members"]) or "none",
               ", ".join(n for n, r in result["containers"].items()
                         if r["status"] == "ok" and not r.get("changed")) or "none"))


def normalize_members(params, specs=None):
    """Validate every member before anything is touched. Returns member param dicts.

    Errors name the member as ``containers[NAME].OPTION`` (``containers[INDEX]`` until
    the name itself is known to be valid). ``specs``, when given, receives each
    member's normalized spec by name, so it is normalized once per run.
    """
    _check_limits(params)
    _check_resources(params)
    members = params.get("containers") or []
    defaults = {"state": params.get("member_state") or "started", "recreate": params.get("recreate") or "auto",
                "pull": params.get("pull") or "missing", "wait_timeout": params.get("wait_timeout") or 120,
                "keep_volumes": bool(params.get("keep_volumes"))}
    result = []
    seen = {}
    for index, member in enumerate(members):
        where = "containers[%d]" % index
        _check_keys(member, MEMBER_KEYS, where)
        own_recreate = member.get("recreate") is not None
        member = dict(defaults, **dict((k, v) for k, v in member.items() if v is not None))
        if not member.get("name"):
            raise ValidationError(where + ".name", "is required")
        # 'x' and '/x' are the same container
        raw = member["name"]
        member["name"] = validators.check_docker_name(raw, where + ".name", "container name")
        if member["name"] in seen:
            raise ValidationError(where + ".name", "%r names the same container as containers[%d] (%r); declare each "
                                  "member once" % (raw, seen[member["name"]][0], seen[member["name"]][1]),
                                  accepted="distinct member names (a leading '/' is ignored)")
        seen[member["name"]] = (index, raw)
        where = "containers[%s]" % member["name"]
        member["wait_timeout"] = validators.check_int(member["wait_timeout"], where + ".wait_timeout", minimum=0)
        member["depends_on"] = _depends_on(member)
        for key, choices in (("state", STATES), ("recreate", RECREATE_MODES), ("pull", PULL_MODES)):
            if member[key] not in choices:
                raise ValidationError("%s.%s" % (where, key), "unknown value %r" % (member[key],),
                                      accepted=", ".join(choices))
        if member["state"] == "absent":
            raise ValidationError(where + ".state", "a declared member cannot be absent; remove it from the list "
                                  "(undeclared members are pruned)", accepted="present, started, stopped, healthy")
        if member.get("force_kill") is not None:
            member["force_kill"] = _member_bool(member["force_kill"], where + ".force_kill")
        kill_signal_of(member, where + ".")
        try:
            # the table's types and choices (the member argspec is untyped so messages name the member)
            member = option_table.check_types(member)
            spec = cs.normalize_spec(member)
        except ValidationError as exc:
            raise ValidationError("%s.%s" % (where, exc.option), str(exc).split(": ", 1)[-1])
        # the stack-wide rolling default cannot apply to a member on fixed host
        # ports (old and new cannot bind them at once); such a member is
        # replaced the ordinary way unless it asks for rolling itself
        if not own_recreate and member["recreate"] == "rolling" and cs.fixed_host_ports(spec["ports"]):
            member["recreate"] = "auto"
        if specs is not None:
            specs[member["name"]] = spec
        result.append(member)
    order_members(result)
    return result


class StackManager:
    """Converge one stack. ``run(params)`` returns the module result dict; a run in which members failed
    (or that a signal ended) says ``failed`` with a ``msg`` naming what changed and what did not."""

    def __init__(self, client: EngineClient, check_mode: bool = False, diff: bool = False, max_workers: int = 8) -> None:
        self.client = client
        self.api = client.api
        self.check_mode = check_mode
        self.diff_mode = diff
        self.max_workers = max(1, int(max_workers or 1))
        self.images = ImageResolver(client, check_mode)
        self.containers = ContainerManager(client, check_mode=check_mode, diff=diff, images=self.images)

    # ------------------------------------------------------------------ helpers

    def _pool(self, n):
        return ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, n)))

    def _list(self):
        return call(self.client, "listing containers", self.api.containers, all=True)

    def _parallel(self, func, items):
        if not items:
            return []
        if len(items) == 1:
            return [func(items[0])]
        with self._pool(len(items)) as pool:
            return list(pool.map(func, items))

    # ------------------------------------------------------------------ networks / volumes

    def _ensure_resources(self, stack, params, result):
        """Declared networks and volumes, through the managers of container_network and container_volume.

        Every one is validated and compared with the engine before the first is
        created; one that exists with other settings fails naming it (a stack never
        recreates a network or volume).
        """
        todo = []
        networks = EngineNetworkManager(self.client, check_mode=self.check_mode)
        volumes = EngineVolumeManager(self.client, check_mode=self.check_mode)
        for option, manager, created in (("networks", networks, "networks_created"),
                                         ("volumes", volumes, "volumes_created")):
            for index, item in enumerate(params.get(option) or []):
                spec = dict(item, labels=dict(item.get("labels") or {}, **{cs.LABEL_STACK: stack}), force=False)
                try:
                    current = manager.plan(spec, remedy="remove it (or recreate it with hybridops.fleet.container_%s "
                                                        "and force: true) or change the spec" % manager.kind)[0]
                except ValidationError as exc:
                    raise ValidationError("%s[%d].%s" % (option, index, exc.option), str(exc).split(": ", 1)[-1],
                                          **dict((k, v) for k, v in exc.details.items() if k != "option"))
                if current is None:
                    todo.append((manager, spec, created))
        for manager, spec, created in todo:
            result[created].append(spec["name"])
            if not self.check_mode:
                manager.create(spec)

    # ------------------------------------------------------------------ converge

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        result = self._converge(params)
        message = failure_message(result)
        if message:
            # the whole result goes with the failure: every member's outcome, what changed
            result.update(failed=True, msg=message)
        return keep_diff(result, self.diff_mode)

    def _converge(self, params: dict[str, Any]) -> dict[str, Any]:
        stack = params["name"]
        state = params.get("state") or "present"
        result = {"changed": False, "stack": stack, "containers": {}, "pruned": [], "networks_created": [],
                  "volumes_created": [], "failed_members": [], "skipped_members": [], "changed_members": []}
        if state == "absent":
            return self._remove_stack(stack, params, result)
        specs: dict[str, Any] = {}
        members = normalize_members(params, specs)
        listing = self._list()
        if not self.check_mode:
            names = [n for item in listing for n in item.get("Names") or []]
            recovered = [step for m in members if any(leftovers(m["name"], names))
                         for step in self.containers.recover(m["name"], names)]
            if recovered:
                result["recovered"] = recovered
                listing = self._list()
        by_name = {}
        labelled = {}
        for item in listing:
            for name in item.get("Names") or []:
                by_name[name.lstrip("/")] = item
            if (item.get("Labels") or {}).get(cs.LABEL_STACK) == stack:
                labelled[(item.get("Names") or ["/"])[0].lstrip("/")] = item
        # images first (one lookup per distinct image, pulls when allowed)
        for ref in sorted(set(m["image"] for m in members)):
            try:
                platforms = [specs[m["name"]].get("platform") for m in members if m["image"] == ref]
                self.images.resolve(ref, self._pull_mode(members, ref), next((p for p in platforms if p), None))
            except ValidationError as exc:
                bad = [m["name"] for m in members if m["image"] == ref]
                raise ValidationError("containers[%s].image" % ",".join(bad), str(exc).split(": ", 1)[-1])
        declared = set(n.get("name") for n in params.get("networks") or [] if isinstance(n, dict))
        self.containers.check_networks([specs[m["name"]] for m in members], declared,
                                       where=lambda i: "containers[%s].networks" % members[i]["name"])
        self._ensure_resources(stack, params, result)
        extra = {cs.LABEL_STACK: stack}

        def plan_member(member):
            existing = by_name.get(member["name"])
            inspect = self.containers.inspect(existing["Id"]) if existing else None
            image = self.images.inspect(member["image"])
            labels = dict(extra, **{cs.LABEL_MEMBER: member["name"]})
            try:
                return self.containers.plan(member, inspect=inspect, image=image, extra_labels=labels, known=True,
                                            desired=specs[member["name"]])
            except ValidationError as exc:
                raise ValidationError("containers[%s].%s" % (member["name"], exc.option), str(exc).split(": ", 1)[-1])

        plans = self._parallel(plan_member, members)
        plan_by_name = dict((p["name"], p) for p in plans)
        declared = set(plan_by_name)
        prune = [name for name in sorted(labelled) if name not in declared] if params.get("prune", True) else []
        guard.check("pruning and converging the members of stack %s" % stack)
        self._prune(prune, labelled, result, params.get("keep_volumes"))
        self._apply(members, plan_by_name, params, result)
        if guard.requested():
            result["interrupted"] = guard.signal_name()
        result["changed"] = bool(result["changed_members"] or result["pruned"] or result["networks_created"]
                                 or result["volumes_created"] or result.get("recovered"))
        result["diff"] = self._diff(plans, result)
        return result

    @staticmethod
    def _pull_mode(members, ref):
        modes = [m.get("pull") or "missing" for m in members if m["image"] == ref]
        for mode in ("always", "missing", "never"):
            if mode in modes:
                return mode
        return "missing"

    def _prune(self, names, labelled, result, keep_volumes=False):
        def remove(name):
            if not self.check_mode:
                self.containers._remove(labelled[name]["Id"], 10 if labelled[name].get("State") == "running" else None,
                                        bool(keep_volumes))
            return name
        result["pruned"] = self._parallel(remove, names)

    def _apply(self, members, plans, params, result):
        """Run plans with a bounded pool, respecting depends_on; record every member's outcome."""
        deps = dict((m["name"], list(m.get("depends_on") or [])) for m in members)
        dependents = dict((name, []) for name in deps)
        for name, items in deps.items():
            for dep in items:
                dependents[dep].append(name)
        max_unavailable = params.get("max_unavailable")
        replacing = threading.BoundedSemaphore(max_unavailable) if max_unavailable else None
        lock = threading.Lock()
        remaining = dict((name, len(items)) for name, items in deps.items())
        failed = set()
        done = threading.Event()
        outstanding = [len(members)]
        pool = self._pool(len(members))

        def finish(name, outcome):
            with lock:
                result["containers"][name] = outcome
                ready = []
                for child in dependents[name]:
                    remaining[child] -= 1
                    if outcome["status"] != "ok":
                        failed.add(child)
                    if remaining[child] == 0:
                        ready.append(child)
                outstanding[0] -= 1
                if outstanding[0] == 0:
                    done.set()
            for child in ready:
                schedule(child)

        def run(name):
            plan = plans[name]
            if name in failed:
                bad = [d for d in deps[name] if result["containers"].get(d, {}).get("status") != "ok"]
                outcome = {"name": name, "status": "skipped", "changed": False, "action": plan["action"],
                           "error": "not converged because %s failed" % ", ".join(bad),
                           "differences": [d.as_dict() for d in plan["differences"]]}
                finish(name, outcome)
                return
            if guard.requested():
                outcome = {"name": name, "status": "skipped", "changed": False, "action": plan["action"],
                           "error": "not started: the run was interrupted by %s" % guard.signal_name(),
                           "differences": [d.as_dict() for d in plan["differences"]]}
                finish(name, outcome)
                return
            heavy = plan["action"] in ("recreate", "rolling")
            try:
                if heavy and replacing is not None:
                    with replacing:
                        outcome = self.containers.apply(plan, wait_timeout=plan["params"].get("wait_timeout") or 120)
                else:
                    outcome = self.containers.apply(plan, wait_timeout=plan["params"].get("wait_timeout") or 120)
                outcome = self._member_result(outcome)
                outcome["status"] = "ok"
            except FleetError as exc:
                outcome = {"name": name, "status": "failed", "changed": False, "action": plan["action"],
                           "error": exc.msg, "differences": [d.as_dict() for d in plan["differences"]]}
                outcome.update(dict((k, v) for k, v in exc.details.items()
                                    if k in ("rolled_back", "old_container_id", "health", "changed", "actions")))
            except Exception as exc:  # a bug or an SDK surprise must not hang the pool
                outcome = {"name": name, "status": "failed", "changed": False, "action": plan["action"],
                           "error": "%s: %s" % (type(exc).__name__, exc),
                           "differences": [d.as_dict() for d in plan["differences"]]}
            finish(name, outcome)

        futures = []

        def schedule(name):
            futures.append(pool.submit(run, name))

        try:
            roots = [m["name"] for m in members if not deps[m["name"]]]
            for name in roots:
                schedule(name)
            while members and not done.wait(0.2):
                # a bug in the bookkeeping itself must surface, not hang the module
                for future in list(futures):
                    if future.done() and future.exception() is not None:
                        raise future.exception()
        finally:
            pool.shutdown(wait=True)
        for member in members:
            outcome = result["containers"][member["name"]]
            if outcome["status"] == "failed":
                result["failed_members"].append(member["name"])
            elif outcome["status"] == "skipped":
                result["skipped_members"].append(member["name"])
            if outcome.get("changed"):
                result["changed_members"].append(member["name"])

    @staticmethod
    def _member_result(outcome):
        data = outcome.pop("container", None) or {}
        outcome.pop("diff", None)
        state = data.get("State") or {}
        outcome["id"] = data.get("Id")
        outcome["running"] = bool(state.get("Running"))
        outcome["health"] = ((state.get("Health") or {}).get("Status")) or None
        return outcome

    def _diff(self, plans, result):
        before = {}
        after = {}
        for plan in plans:
            if plan["action"] == "none" and plan["run"] is None:
                continue
            diff = self.containers.diff(plan)
            before[plan["name"]] = diff["before"]
            after[plan["name"]] = diff["after"]
        for name in result["pruned"]:
            before[name] = {"name": name, "pruned": False}
            after[name] = {}
        return {"before": {"containers": before, "networks": [], "volumes": []},
                "after": {"containers": after, "networks": list(result["networks_created"]),
                          "volumes": list(result["volumes_created"])}}

    def _remove_stack(self, stack, params, result):
        labelled = {}
        for item in self._list():
            if (item.get("Labels") or {}).get(cs.LABEL_STACK) == stack:
                labelled[(item.get("Names") or ["/"])[0].lstrip("/")] = item
        self._prune(sorted(labelled), labelled, result, params.get("keep_volumes"))
        removed_networks = []
        removed_volumes = []
        label = {"label": "%s=%s" % (cs.LABEL_STACK, stack)}
        nets = call(self.client, "listing networks", self.api.networks, filters=label)
        vols = (call(self.client, "listing volumes", self.api.volumes, filters=label) or {}).get("Volumes") or []
        for net in nets:
            removed_networks.append(net["Name"])
            if not self.check_mode:
                call(self.client, "removing network %s" % net["Name"], self.api.remove_network, net["Id"])
        if params.get("remove_volumes"):
            for vol in vols:
                removed_volumes.append(vol["Name"])
                if not self.check_mode:
                    call(self.client, "removing volume %s" % vol["Name"], self.api.remove_volume, vol["Name"])
        result["networks_removed"] = removed_networks
        result["volumes_removed"] = removed_volumes
        result["changed"] = bool(result["pruned"] or removed_networks or removed_volumes)
        result["diff"] = {"before": {"containers": sorted(labelled), "networks": removed_networks,
                                     "volumes": removed_volumes},
                          "after": {"containers": [], "networks": [], "volumes": []}}
        return result
