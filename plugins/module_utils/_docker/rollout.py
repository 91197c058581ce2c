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

import json
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
# the image reference a slot's container was rolled out as (its Config.Image is a history tag after a rollback)
IMAGE_LABEL = "hybridops.fleet.rollout.image"
# the versions that served before the serving container, newest first: JSON [{"image": ref, "id": image ID}]
HISTORY_LABEL = "hybridops.fleet.rollout.history"
# the tags that keep those versions' images on the host (no registry needed to roll back)
HISTORY_REPO = "hybridops-rollout/"
ROLLBACK_PREVIOUS = "previous"
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
    image=dict(type="str"),
    rollback=dict(type="str"),
    keep_versions=dict(type="int", default=3),
    port=dict(type="int", required=True),
    container=dict(type="dict", default={}, options=CONTAINER_ARGS),
    pull=dict(type="str", choices=list(PULL_MODES), default="missing"),
    proxy=dict(type="dict", default={}, options=PROXY_ARGS),
    probe=dict(type="dict", default={}, options=PROBE_ARGS),
    wait_timeout=dict(type="int", default=120),
)


def container_name(name, slot):
    return "%s-%s" % (name, slot)


def history_repo(name: str) -> str:
    """The repository of the tags that keep the earlier versions of service ``name`` on the host."""
    return HISTORY_REPO + name.lower()


def history_tag(name: str, image_id: str) -> str:
    """The tag that keeps one earlier version of service ``name`` on the host."""
    return "%s:%s" % (history_repo(name), image_id.split(":")[-1][:12])


def version_of(inspect: dict[str, Any] | None) -> dict[str, str] | None:
    """{"image": reference as rolled out, "id": image ID} of a slot's container."""
    if not inspect:
        return None
    config = inspect.get("Config") or {}
    labels = config.get("Labels") or {}
    return {"image": labels.get(IMAGE_LABEL) or config.get("Image") or "", "id": inspect.get("Image") or ""}


def history_of(inspect: dict[str, Any] | None) -> list[dict[str, str]]:
    """The versions that served before the container ``inspect``, newest first (from its label)."""
    text = ((inspect or {}).get("Config") or {}).get("Labels", {}).get(HISTORY_LABEL) if inspect else None
    try:
        entries = json.loads(text) if text else []
    except ValueError:
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("image"), str)]


def next_history(current: dict[str, str] | None, history: list[dict[str, str]], new_id: str, keep: int):
    """The history of a new version ``new_id`` replacing ``current`` (which had ``history``): the current version
    first, the new version never in its own history, each image once, at most ``keep`` entries."""
    result, seen = [], {new_id}
    for entry in ([current] if current else []) + history:
        if entry["id"] and entry["id"] not in seen:
            seen.add(entry["id"])
            result.append({"image": entry["image"], "id": entry["id"]})
    return result[:keep]


def names_image(version: dict[str, str], wanted: str) -> bool:
    """Whether ``wanted`` names ``version`` by the image reference it was rolled out as."""
    return version["image"] == wanted


def names_id(version: dict[str, str], wanted: str) -> bool:
    """Whether ``wanted`` names ``version`` by its image ID (at least 12 hex digits, with or without sha256:)."""
    digits = wanted.split(":", 1)[1] if wanted.startswith("sha256:") else wanted
    return len(digits) >= 12 and version["id"].split(":")[-1].startswith(digits.lower())


def pick_version(history: list[dict[str, str]], wanted: str) -> dict[str, str]:
    """The entry of ``history`` that ``rollback`` names: V(previous), an image reference as it was rolled out,
    or an image ID (a reference wins over an ID prefix)."""
    kept = ", ".join("%s (%s)" % (e["image"], e["id"].split(":")[-1][:12]) for e in history) or "none"
    if not history:
        raise ValidationError("rollback", "no earlier version of this service is kept on the host",
                              accepted="a service rolled out at least twice with keep_versions >= 1")
    if wanted == ROLLBACK_PREVIOUS:
        return history[0]
    for matches in (names_image, names_id):
        for entry in history:
            if matches(entry, wanted):
                return entry
    raise ValidationError("rollback", "%r is not one of the versions kept on the host" % wanted,
                          accepted="previous, or one of the kept versions: %s" % kept)


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
    if bool(params.get("image")) == bool(params.get("rollback")):
        raise ValidationError("image" if not params.get("image") else "rollback",
                              "give exactly one of image (a new version) and rollback (a version kept on the host)",
                              accepted="image: REF, or rollback: previous|REF|IMAGE ID")
    if params.get("image"):
        validators.check_image_ref(params["image"], "image")
    keep = ROLLOUT_ARGS["keep_versions"]["default"] if params.get("keep_versions") is None else params["keep_versions"]
    validators.check_int(keep, "keep_versions", 0, accepted="an integer >= 0")
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
    return dict(params, name=name, proxy=proxy, probe=spec, keep_versions=keep,
                wait_timeout=params.get("wait_timeout") or 120), options


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

    def _desired(self, params, options, slot, server, image, bookkeeping):
        """The spec of ``slot``'s container running ``image``; ``bookkeeping``: the IMAGE_LABEL and HISTORY_LABEL
        values it carries (copied from the serving container when comparing with it: they are not compared)."""
        member = dict(options, name=container_name(params["name"], slot), image=image,
                      ports=["%s:%d:%d" % (server["srv_addr"], server["srv_port"], params["port"])])
        labels = dict(member.get("labels") or {}, **{ROLLOUT_LABEL: params["name"], SLOT_LABEL: slot})
        labels.update((k, v) for k, v in bookkeeping.items() if v is not None)
        member["labels"] = labels
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
        current = version_of(inspects[active]) if active else None
        history = history_of(inspects[active]) if active else []
        image_ref, run_image, pull = params["image"], params["image"], params.get("pull") or "missing"
        if params.get("rollback"):
            image_ref, run_image = self._rollback_image(params, current, history, inspects.get(active))
            pull = "never"
        image = self.containers.images.resolve(run_image, pull)
        active_labels = ((inspects[active].get("Config") or {}).get("Labels") or {}) if active else {}
        # the bookkeeping labels of the serving container are not compared (a container from an older release of
        # this module has none): compared with it, the spec carries its own values
        desired = dict((slot, self._desired(params, options, slot, by_slot[slot], run_image,
                                            dict((k, active_labels.get(k)) for k in (IMAGE_LABEL, HISTORY_LABEL))))
                       for slot in by_slot)
        differences = []
        if active is not None and image is not None:
            differences = cs.compare(desired[active], image, inspects[active])
        # an image still to be pulled (check mode only) is a new image
        rollout = active is None or image is None or bool(differences)
        new_history = history
        if rollout:
            new_history = next_history(current, history, (image or {}).get("Id") or "", params["keep_versions"])
            desired[target] = self._desired(params, options, target, by_slot[target], run_image,
                                            {IMAGE_LABEL: image_ref, HISTORY_LABEL: json.dumps(new_history)})
        new_history = new_history[:params["keep_versions"]]
        keep = None if rollout else active
        # every slot but the one that keeps serving: container gone, server in maintenance
        retire = [slot for slot in by_slot if slot != keep and (inspects[slot] or by_slot[slot]["admin"] != "maint")
                  and slot != active]
        return {"backend": backend, "servers": servers, "by_slot": by_slot, "inspects": inspects, "image": image,
                "image_ref": image_ref, "history": new_history, "old_history": history[:params["keep_versions"]],
                "prune": self._history_tags_to_prune(params["name"], new_history,
                                                     (image or {}).get("Id") or (current or {}).get("id")),
                "desired": desired, "active": active, "target": target if rollout else active,
                "rollout": rollout, "differences": differences, "retire": retire,
                "enable_active": keep is not None and by_slot[keep]["admin"] != "ready"}

    def _rollback_image(self, params, current, history, serving):
        """(reference as rolled out, image to run) of the version ``rollback`` names; the serving version itself
        when it is the one named (nothing to do)."""
        wanted = params["rollback"]
        if current is None:
            raise ValidationError("rollback", "no version of %s serves behind proxy backend %s, so there is nothing "
                                  "to roll back" % (params["name"], params["proxy"]["backend"]),
                                  accepted="a service that serves, rolled out at least twice")
        if wanted != ROLLBACK_PREVIOUS and (names_image(current, wanted) or names_id(current, wanted)):
            return current["image"], (serving.get("Config") or {}).get("Image")
        entry = pick_version(history[:params["keep_versions"]], wanted)
        tag = history_tag(params["name"], entry["id"])
        found = self.containers.images.inspect(tag)
        if found is None or found.get("Id") != entry["id"]:
            raise ValidationError("rollback", "the image of %s (%s) is no longer on the host: its tag %s was removed"
                                  % (entry["image"], entry["id"][:19], tag),
                                  accepted="a version whose image is still on the host; or roll out its image again")
        return entry["image"], tag

    def _history_tags_to_prune(self, name, history, serving_id):
        """The history tags of ``name`` on the engine that keep no version worth keeping any more: neither one of
        ``history`` nor the version that serves after the run (a rollback runs it from its tag)."""
        keep = set(history_tag(name, e["id"]) for e in history)
        if serving_id:
            keep.add(history_tag(name, serving_id))
        tags = set()
        repo = history_repo(name)
        for image in call(self.client, "listing images", self.containers.api.images, name=repo) or []:
            tags.update(t for t in image.get("RepoTags") or [] if t.startswith(repo + ":"))
        return sorted(tags - keep)

    def _keep_history(self, plan, params, steps, result):
        """After a switch: tag the images of the kept versions, untag those that fell out of the history."""
        for entry in plan["history"]:
            tag = history_tag(params["name"], entry["id"])
            if self.containers.images.inspect(tag) is None:
                repo, name = tag.rsplit(":", 1)
                call(self.client, "tagging %s as %s" % (entry["id"][:19], tag), self.containers.api.tag, entry["id"],
                     repo, name, force=True)
                steps.append("kept %s as %s" % (entry["image"], tag))
        for tag in plan["prune"]:
            try:
                call(self.client, "removing the tag %s" % tag, self.containers.api.remove_image, tag)
                steps.append("removed the tag %s (older than keep_versions)" % tag)
            except FleetError as exc:
                result.setdefault("warnings", []).append("the tag %s of an old version was kept: %s" % (tag, exc.msg))

    def diff(self, plan, params):
        before = {"slot": plan["active"], "servers": server_view(plan["servers"]),
                  "history": [e["image"] for e in plan["old_history"]]}
        if plan["active"]:
            inspect = plan["inspects"][plan["active"]]
            before.update(container=inspect["Name"].lstrip("/"), image=version_of(inspect)["image"],
                          image_id=inspect.get("Image"))
        after = {"slot": plan["target"],
                 "servers": dict((slot, "ready" if slot == plan["target"] else "maint") for slot in plan["by_slot"]),
                 "container": container_name(params["name"], plan["target"]), "image": plan["image_ref"],
                 "image_id": (plan["image"] or {}).get("Id"), "history": [e["image"] for e in plan["history"]]}
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
        changed = plan["rollout"] or bool(plan["retire"]) or plan["enable_active"] or bool(plan["prune"])
        result = {"changed": changed, "name": params["name"], "backend": plan["backend"].name,
                  "slot": plan["target"], "previous_slot": plan["active"] if plan["rollout"] else None,
                  "image": plan["image_ref"], "rolled_out": plan["rollout"], "history": plan["history"],
                  "pruned_versions": plan["prune"],
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
        self._keep_history(plan, params, steps, result)
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
                       % (container_name(params["name"], old), version_of(plan["inspects"][old])["image"])
                       if old else "no slot was serving before, none serves now")
            raise RolloutFailed(
                "rollout of %s to %s failed: the new container %s did not pass: %s. %s; %s"
                % (params["name"], plan["image_ref"], name, exc.msg, cleanup, serving),
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
