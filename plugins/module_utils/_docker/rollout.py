# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RolloutManager: a health-gated blue/green rollout of one service behind an HAProxy backend.

HAProxy owns the service's fixed public port. Its backend has exactly two servers,
the *slots* (for example ``blue 127.0.0.1:18080`` and ``green 127.0.0.1:18081``);
the slot of server ``S`` is the container ``NAME-S``, published on that server's
address and port. One slot serves, the other is in maintenance. A rollout:

1. starts the new container in the idle slot (its server stays in maintenance),
2. gates it: its own healthcheck, then a probe from the host at the server's address,
3. puts the idle server in ``ready`` and waits until HAProxy counts it running,
4. drains the old server (``state drain``: no new sessions) until its sessions
   reach 0 or ``drain_timeout``, puts it in maintenance, stops and removes the old container,
5. saves HAProxy's server state to the ``server-state-file`` (so a reload keeps it).

A failure in 1-3 removes the new container and leaves its server in maintenance:
traffic never left the old container. Every HAProxy and engine mutation sits
behind ``if not self.check_mode``.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, probe, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import keep_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import call
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import (
    CONTAINER_SPEC_ARGS,
    PULL_MODES,
    ContainerManager,
    RolloutFailed,
    is_running,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import table as option_table
from ansible_collections.hybridops.fleet.plugins.module_utils._haproxy.runtime import Backend, server_view

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import EngineClient
    from ansible_collections.hybridops.fleet.plugins.module_utils._haproxy.client import RuntimeClient

ROLLOUT_LABEL = "hybridops.fleet.rollout"
SLOT_LABEL = "hybridops.fleet.rollout.slot"
# options of the container that the rollout sets itself
OWN_KEYS = ("name", "image", "ports")
# a paused container cannot pass the gate, and the slot's container is running by definition
NOT_FOR_ROLLOUT = ("paused",)
CONTAINER_KEYS = tuple(sorted(set(CONTAINER_SPEC_ARGS) - set(OWN_KEYS) - set(NOT_FOR_ROLLOUT)))
POLL = 0.5

PROXY_ARGS = dict(
    socket=dict(type="path", default="/run/haproxy/admin.sock"),
    backend=dict(type="str"),
    state_file=dict(type="path"),
    drain_timeout=dict(type="int", default=30),
    timeout=dict(type="int", default=10),
)
PROBE_ARGS = dict(
    type=dict(type="str", choices=list(probe.PROBE_TYPES), default="http"),
    path=dict(type="str", default="/"),
    status=dict(type="list", elements="int", default=[200]),
    body=dict(type="str"),
    host_header=dict(type="str"),
    successes=dict(type="int", default=1),
    timeout=dict(type="int", default=60),
    request_timeout=dict(type="int", default=5),
)
# the container's options are untyped here (checked by the option table, so messages name container.OPTION);
# secret_env is declared no_log so that AnsibleModule hides it before it logs the invocation
CONTAINER_ARGS = dict((key, dict(type="raw", no_log=CONTAINER_SPEC_ARGS[key].get("no_log", False)))
                      for key in CONTAINER_KEYS)
ROLLOUT_ARGS = dict(
    name=dict(type="str", required=True),
    image=dict(type="str", required=True),
    port=dict(type="int", required=True),
    container=dict(type="dict", default={}, options=CONTAINER_ARGS),
    pull=dict(type="str", choices=list(PULL_MODES), default="missing"),
    proxy=dict(type="dict", default={}, options=PROXY_ARGS),
    probe=dict(type="dict", default={}, options=PROBE_ARGS),
    wait_timeout=dict(type="int", default=120),
)


def container_name(name, slot):
    return "%s-%s" % (name, slot)


def choose_slots(servers, containers):
    """(active, target) slot names from a backend's parsed servers and ``{slot: inspect or None}``.

    The active slot is the one whose server takes traffic (not in maintenance) and
    whose container runs; when two do (a run cut short between switching and
    draining), the newer container, which had passed its gate. The target is the
    other slot; without an active slot, the first slot without a container (else the first).
    """
    names = [s["srv_name"] for s in servers]
    admin = dict((s["srv_name"], s["admin"]) for s in servers)
    serving = [n for n in names if admin[n] != "maint" and containers.get(n) and is_running(containers[n])]
    if serving:
        active = max(serving, key=lambda n: (containers[n].get("Created") or "", -names.index(n)))
        return active, [n for n in names if n != active][0]
    empty = [n for n in names if not containers.get(n)]
    return None, (empty or names)[0]


def normalize_params(params):
    """Validate the module's options; returns (params with defaults, the container options dict)."""
    name = validators.check_docker_name(params.get("name"), "name", "service name")
    validators.check_int(params.get("port"), "port", 1, 65535, accepted="the container port the service listens on")
    validators.check_image_ref(params.get("image"), "image")
    proxy = dict((k, v["default"]) for k, v in PROXY_ARGS.items() if "default" in v)
    proxy.update(dict((k, v) for k, v in (params.get("proxy") or {}).items() if v is not None))
    proxy.setdefault("backend", None)
    proxy["backend"] = proxy["backend"] or name
    validators.check_int(proxy["drain_timeout"], "proxy.drain_timeout", 0, accepted="seconds, an integer >= 0")
    validators.check_int(proxy["timeout"], "proxy.timeout", 1, accepted="seconds, an integer >= 1")
    spec = dict((k, v["default"]) for k, v in PROBE_ARGS.items() if "default" in v)
    spec.update(dict((k, v) for k, v in (params.get("probe") or {}).items() if v is not None))
    if spec["type"] not in probe.PROBE_TYPES:
        raise ValidationError("probe.type", "unknown type %r" % spec["type"], accepted=", ".join(probe.PROBE_TYPES))
    if not str(spec["path"]).startswith("/"):
        raise ValidationError("probe.path", "%r does not start with /" % spec["path"], accepted="a path such as /health")
    for key, minimum in (("successes", 1), ("timeout", 1), ("request_timeout", 1)):
        validators.check_int(spec[key], "probe." + key, minimum)
    if not spec["status"]:
        raise ValidationError("probe.status", "is empty", accepted="a list of HTTP status codes, e.g. [200]")
    validators.check_int(params.get("wait_timeout") or 0, "wait_timeout", 0)
    options = dict((k, v) for k, v in (params.get("container") or {}).items() if v is not None)
    for key in options:
        if key in OWN_KEYS or key not in CONTAINER_KEYS:
            raise ValidationError("container.%s" % key, "is set by the rollout itself (name, image and the "
                                  "published port come from name, image, port and the proxy's servers)"
                                  if key in OWN_KEYS else "unknown option", accepted=", ".join(CONTAINER_KEYS))
    return dict(params, name=name, proxy=proxy, probe=spec, wait_timeout=params.get("wait_timeout") or 120), options


class RolloutManager:
    """Roll one service out behind its HAProxy backend. ``run(params)`` returns the module result dict.

    ``proxy_client``: the HAProxy runtime API client (``_haproxy.client.RuntimeClient``) of the backend.
    """

    def __init__(self, client: EngineClient, check_mode: bool = False, diff: bool = False, *,
                 proxy_client: RuntimeClient) -> None:
        self.client = client
        self.check_mode = check_mode
        self.diff_mode = diff
        self.containers = ContainerManager(client, check_mode=check_mode, diff=diff)
        self.proxy_client = proxy_client

    # ------------------------------------------------------------------ planning

    def _desired(self, params, options, slot, server):
        member = dict(options, name=container_name(params["name"], slot), image=params["image"],
                      ports=["%s:%d:%d" % (server["srv_addr"], server["srv_port"], params["port"])])
        member["labels"] = dict(member.get("labels") or {}, **{ROLLOUT_LABEL: params["name"], SLOT_LABEL: slot})
        try:
            member = option_table.check_types(member)
            return cs.normalize_spec(member)
        except ValidationError as exc:
            raise ValidationError("container.%s" % exc.option, str(exc).split(": ", 1)[-1])

    def plan(self, params, options):
        backend = Backend(self.proxy_client, params["proxy"]["backend"])
        servers = backend.servers()
        if len(servers) != 2:
            raise ValidationError("proxy.backend", "backend %s has %d servers (%s) on %s; a rollout needs exactly two, "
                                  "its slots" % (backend.name, len(servers), ", ".join(s["srv_name"] for s in servers)
                                                 or "none", self.proxy_client.socket_path),
                                  accepted="a backend with two servers, e.g. 'server blue 127.0.0.1:18080' and "
                                           "'server green 127.0.0.1:18081'")
        by_slot = dict((s["srv_name"], s) for s in servers)
        inspects = dict((slot, self.containers.inspect(container_name(params["name"], slot))) for slot in by_slot)
        active, target = choose_slots(servers, inspects)
        image = self.containers.images.resolve(params["image"], params.get("pull") or "missing")
        desired = dict((slot, self._desired(params, options, slot, by_slot[slot])) for slot in by_slot)
        differences = []
        if active is not None and image is not None:
            differences = cs.compare(desired[active], image, inspects[active])
        # an image still to be pulled (check mode only) is a new image
        rollout = active is None or image is None or bool(differences)
        keep = None if rollout else active
        # every slot but the one that keeps serving: container gone, server in maintenance
        retire = [slot for slot in by_slot if slot != keep and (inspects[slot] or by_slot[slot]["admin"] != "maint")
                  and slot != active]
        return {"backend": backend, "servers": servers, "by_slot": by_slot, "inspects": inspects, "image": image,
                "desired": desired, "active": active, "target": target if rollout else active,
                "rollout": rollout, "differences": differences, "retire": retire,
                "enable_active": keep is not None and by_slot[keep]["admin"] != "ready"}

    def diff(self, plan, params):
        before = {"slot": plan["active"], "servers": server_view(plan["servers"])}
        if plan["active"]:
            inspect = plan["inspects"][plan["active"]]
            before.update(container=inspect["Name"].lstrip("/"), image=(inspect.get("Config") or {}).get("Image"),
                          image_id=inspect.get("Image"))
        after = {"slot": plan["target"],
                 "servers": dict((slot, "ready" if slot == plan["target"] else "maint") for slot in plan["by_slot"]),
                 "container": container_name(params["name"], plan["target"]), "image": params["image"],
                 "image_id": (plan["image"] or {}).get("Id")}
        if not plan["rollout"]:
            after.update(image=before.get("image"), image_id=before.get("image_id"))
        return {"before": before, "after": after}

    # ------------------------------------------------------------------ applying

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        # the diff is built in every mode: the result's servers are read from it
        return keep_diff(self._converge(params), self.diff_mode)

    def _converge(self, params: dict[str, Any]) -> dict[str, Any]:
        params, options = normalize_params(params)
        plan = self.plan(params, options)
        changed = plan["rollout"] or bool(plan["retire"]) or plan["enable_active"]
        result = {"changed": changed, "name": params["name"], "backend": plan["backend"].name,
                  "slot": plan["target"], "previous_slot": plan["active"] if plan["rollout"] else None,
                  "image": params["image"], "rolled_out": plan["rollout"],
                  "differences": [d.as_dict() for d in plan["differences"]], "steps": [],
                  "diff": self.diff(plan, params)}
        if self.check_mode or not changed:
            result["servers"] = result["diff"]["after" if changed else "before"]["servers"]
            if not changed:
                result["container"] = cs.mask_inspect(plan["inspects"][plan["active"]],
                                                      plan["desired"][plan["active"]].get("secret_keys") or [])
            return result
        steps = result["steps"]
        try:
            self._apply(plan, params, steps, result)
        except guard.Interrupted as exc:
            exc.details.update(changed=bool(steps), steps=steps)
            raise
        except FleetError as exc:
            exc.details.setdefault("steps", steps)
            exc.details.setdefault("changed", bool(steps))
            raise
        return result

    def _apply(self, plan, params, steps, result):
        backend = plan["backend"]
        for slot in plan["retire"]:
            self._retire(plan, params, slot, steps)
        if plan["enable_active"]:
            backend.set_state(plan["active"], "ready")
            steps.append("set %s/%s ready" % (backend.name, plan["active"]))
        new_id = None
        if plan["rollout"]:
            new_id = self._start_gated(plan, params, steps)
            if plan["active"] is not None:
                self._retire(plan, params, plan["active"], steps, result)
        self._save_state(params, backend, steps)
        servers = backend.servers()
        result["servers"] = server_view(servers)
        final = self.containers.inspect(new_id or container_name(params["name"], plan["target"]))
        result["container"] = cs.mask_inspect(final, plan["desired"][plan["target"]].get("secret_keys") or [])

    def _start_gated(self, plan, params, steps):
        """Start the target slot's container and switch traffic to it only once it passes its gate."""
        backend = plan["backend"]
        slot = plan["target"]
        server = plan["by_slot"][slot]
        desired = plan["desired"][slot]
        name = desired["name"]
        guard.check("starting %s" % name)
        new_id = self.containers._create(desired, name, None)
        steps.append("created %s" % name)
        try:
            call(self.client, "starting container %s" % name, self.containers.api.start, new_id)
            steps.append("started %s" % name)
            try:
                self.containers.wait_healthy(new_id, params["wait_timeout"],
                                             require_health=cs.has_healthcheck(desired, plan["image"]))
            except FleetError as exc:
                raise FleetError("its health gate failed: %s" % exc.msg)
            spec = params["probe"]
            reason = probe.probe_until(spec, server["srv_addr"], server["srv_port"], spec["timeout"])
            if reason:
                raise FleetError("its probe gate failed: %s: %s after %ss"
                                 % (probe.url_of(spec, server["srv_addr"], server["srv_port"]), reason, spec["timeout"]))
            steps.append("%s passed its gate (healthcheck and %s probe)" % (name, spec["type"]))
            backend.set_state(slot, "ready")
            steps.append("set %s/%s ready" % (backend.name, slot))
            self._wait_running(backend, slot, params["wait_timeout"])
        except guard.Interrupted:
            self._undo_start(backend, slot, new_id, steps)
            raise
        except FleetError as exc:
            cleanup = self._undo_start(backend, slot, new_id, steps)
            old = plan["active"]
            serving = ("traffic stays on %s (%s), which was not touched"
                       % (container_name(params["name"], old), (plan["inspects"][old].get("Config") or {}).get("Image"))
                       if old else "no slot was serving before, none serves now")
            raise RolloutFailed(
                "rollout of %s to %s failed: the new container %s did not pass: %s. %s; %s"
                % (params["name"], params["image"], name, exc.msg, cleanup, serving),
                rolled_back=True, slot=old, failed_slot=slot)
        return new_id

    def _undo_start(self, backend, slot, new_id, steps):
        """Back out a new container: its server to maintenance, the container removed; says how it went."""
        problems = []
        try:
            backend.set_state(slot, "maint")
        except FleetError as exc:
            problems.append("putting %s/%s back in maintenance failed (%s)" % (backend.name, slot, exc.msg))
        try:
            self.containers._remove(new_id, 0)
            steps.append("removed the new container %s" % new_id[:12])
        except FleetError as exc:
            problems.append("removing it failed (%s); the next run removes it" % exc.msg)
        return "; ".join(problems) if problems else "It was removed and its server %s/%s is in maintenance" % (
            backend.name, slot)

    def _wait_running(self, backend, slot, timeout):
        """Until HAProxy counts ``slot`` as running (its own health checks, when configured, passed)."""
        deadline = time.time() + timeout
        while True:
            state = dict((s["srv_name"], s) for s in backend.servers())[slot]
            if state["op"] == "running" and state["admin"] == "ready":
                return
            if time.time() >= deadline:
                raise FleetError("HAProxy did not count %s/%s as running after %ss (operational state %s, check "
                                 "status %s)" % (backend.name, slot, timeout, state["op"], state.get("srv_check_status")))
            guard.sleep(POLL)

    def _retire(self, plan, params, slot, steps, result=None):
        """Take ``slot`` out of service: drain it (when it takes traffic), maintenance, container stopped and removed."""
        backend = plan["backend"]
        server = plan["by_slot"][slot]
        inspect = plan["inspects"][slot]
        if server["admin"] != "maint" or slot == plan["active"]:
            if inspect is not None and is_running(inspect):
                backend.set_state(slot, "drain")
                steps.append("set %s/%s to drain" % (backend.name, slot))
                left, waited = self._drain(backend, server["be_id"], slot, params["proxy"]["drain_timeout"])
                steps.append("drained %s/%s in %.1fs (%s sessions left)" % (backend.name, slot, waited, left))
                if result is not None:
                    result["drain"] = {"server": slot, "seconds": round(waited, 1), "sessions_left": left,
                                       "timed_out": bool(left)}
            backend.set_state(slot, "maint")
            steps.append("set %s/%s to maint" % (backend.name, slot))
        if inspect is not None:
            stop_timeout = (inspect.get("Config") or {}).get("StopTimeout")
            self.containers._remove(inspect["Id"], stop_timeout if stop_timeout is not None else 10)
            steps.append("stopped and removed %s" % inspect["Name"].lstrip("/"))

    @staticmethod
    def _drain(backend, be_id, slot, timeout):
        """Wait until ``slot`` has no sessions or ``timeout``; returns (sessions left, seconds waited)."""
        started = time.time()
        while True:
            left = backend.sessions(be_id, slot) or 0
            waited = time.time() - started
            if left == 0 or waited >= timeout:
                return left, waited
            guard.sleep(POLL)

    @staticmethod
    def _save_state(params, backend, steps):
        """HAProxy's server state into its server-state-file, so that a reload starts from it."""
        path = params["proxy"].get("state_file")
        if not path:
            return
        text = backend.all_states()
        temp = None
        try:
            handle, temp = tempfile.mkstemp(prefix=".hybridops-state-", dir=os.path.dirname(path) or ".")
            with os.fdopen(handle, "w") as out:
                out.write(text)
            os.chmod(temp, 0o644)
            os.rename(temp, path)
        except OSError as exc:
            if temp and os.path.exists(temp):
                os.unlink(temp)
            raise BackendError("the proxy was switched, but saving HAProxy's server state to %s failed (%s): "
                               "a reload of HAProxy before the next successful run would start from its "
                               "configuration" % (path, exc))
        steps.append("saved the server state to %s" % path)
