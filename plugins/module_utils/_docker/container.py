# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ContainerManager: converge one container to a spec (check mode, diff, rolling replace).

The manager takes a DockerClient and plain dicts; the module and the stack
manager both use it. Every engine mutation sits behind ``if not self.check_mode``.
"""

from __future__ import annotations

import binascii
import os
import time
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import keep_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
    WaitTimeout,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import (
    address,
    call,
    create_container,
    split_image_ref,
    update_container,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import table as option_table
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.lifecycle import signal_name
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.platform import (
    check_image_platform,
    image_platform,
)

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import EngineClient

STATES = ("present", "started", "stopped", "absent", "healthy")
RECREATE_MODES = ("auto", "always", "never", "rolling")
PULL_MODES = ("missing", "always", "never")
ROLLING_SUFFIX = "-hybridops-next"
# a recreate creates NAME.hybridops-new-XXXXXX beside NAME and parks the old one as NAME.hybridops-old-XXXXXX
# while the new one takes the name ('.' is valid in a container name and cannot end a member's own name part)
NEW_MARK = ".hybridops-new-"
OLD_MARK = ".hybridops-old-"
POLL_INTERVAL = 0.5


def temporary_name(name, mark):
    """NAME + mark + 6 random hex digits: a valid container name that no other run picks."""
    return "%s%s%s" % (name, mark, binascii.hexlify(os.urandom(3)).decode("ascii"))


def leftovers(name, names):
    """Temporaries of ``name`` that a killed run left, among container ``names``.

    Returns ``(parked, temporaries)``: old containers set aside during a recreate
    (one of them is the working container when ``name`` itself is missing) and
    replacements / rolling temporaries (never the working one).
    """
    parked, temporaries = [], []
    for item in sorted(set(n.lstrip("/") for n in names)):
        for mark, bucket in ((OLD_MARK, parked), (NEW_MARK, temporaries)):
            rest = item[len(name) + len(mark):] if item.startswith(name + mark) else None
            if rest is not None and len(rest) == 6 and all(c in "0123456789abcdef" for c in rest):
                bucket.append(item)
        if item == name + ROLLING_SUFFIX:
            temporaries.append(item)
    return parked, temporaries


def kill_signal_of(params, where=""):
    """force_kill's signal: kill_signal (any spelling of a signal) or SIGKILL. Raises ValidationError."""
    value = params.get("kill_signal")
    if value not in (None, "") and not params.get("force_kill"):
        raise ValidationError(where + "kill_signal", "is used only with force_kill: true",
                              accepted="kill_signal together with force_kill: true")
    return signal_name(value, where + "kill_signal") or "SIGKILL"


class ReplaceFailed(FleetError):
    """A recreate the engine refused or could not finish; ``msg`` says what state the old container is in."""


class RolloutFailed(FleetError):
    """A rolling replace whose new container never became healthy (old one still serving)."""


class ImageResolver:
    """Looks up (and, when allowed, pulls) images; caches by reference for a whole run."""

    def __init__(self, client, check_mode=False):
        self.client = client
        self.check_mode = check_mode
        self._cache = {}
        self.pulled = []

    def inspect(self, ref):
        if ref in self._cache:
            return self._cache[ref]
        data = call(self.client, "inspecting image %s" % ref, self.client.api.inspect_image, ref, if_missing=None)
        self._cache[ref] = data
        return data

    def resolve(self, ref, pull="missing", platform=None):
        """Image inspect data for ``ref``; None only in check mode when it would be pulled.

        ``platform``: a pull asks the registry for that platform's image.
        """
        data = self.inspect(ref)
        if pull == "always" or (data is None and pull == "missing"):
            if self.check_mode:
                return data
            if ref not in self.pulled:
                self._pull(ref, data is not None, platform)
                self._cache.pop(ref, None)
                data = self.inspect(ref)
        if data is None:
            raise ValidationError(
                "image", "%s is not on the engine at %s and pull=never. Load it from an archive or build it "
                "with hybridops.fleet.container_image (source: load or build), or allow pull" % (ref, address(self.client)),
                accepted="an image present on the engine, or pull: missing/always with a reachable registry")
        return data

    def _pull(self, ref, have_local, platform=None):
        repo, tag = split_image_ref(ref)
        kwargs = {"platform": platform} if platform else {}
        try:
            call(self.client, "pulling %s" % ref, self.client.api.pull, repo, tag=tag, **kwargs)
        except BackendError as err:
            if have_local:
                # keep the local image (air-gapped engines): pull=always is best effort then
                self.pulled.append(ref)
                return
            raise ValidationError(
                "image", "%s is not on the engine at %s and pulling it failed (%s). On engines without a "
                "registry, load or build it first with hybridops.fleet.container_image" % (ref, address(self.client), err.msg),
                accepted="an image present on the engine or pullable from a reachable registry")
        self.pulled.append(ref)


def _state_of(inspect):
    return ((inspect or {}).get("State") or {})


def is_running(inspect):
    state = _state_of(inspect)
    return bool(state.get("Running")) and not state.get("Restarting")


class ContainerManager:
    """Converges containers. One instance can be shared by threads (no per-call state)."""

    def __init__(self, client: EngineClient, check_mode: bool = False, diff: bool = False,
                 images: ImageResolver | None = None) -> None:
        self.client = client
        self.api = client.api
        self.check_mode = check_mode
        # not named self.diff: that is the method that builds one container's diff (StackManager uses it)
        self.diff_mode = diff
        # a StackManager passes its own, so that its members share one image cache
        self.images = images or ImageResolver(client, check_mode)

    # ------------------------------------------------------------------ engine helpers

    def inspect(self, name):
        return call(self.client, "inspecting container %s" % name, self.api.inspect_container, name, if_missing=None)

    def _create(self, desired, name, extra_labels):
        """Create (not start) ``name``; a half-made container (a network it could not join) is removed."""
        body = cs.create_body(desired, extra_labels=extra_labels)
        result = call(self.client, "creating container %s" % name, create_container, self.client, body, name,
                      desired.get("platform"))
        cid = result["Id"]
        try:
            # the first network goes in the create call; the others are connected now
            for net in (desired["networks"] or [])[1:]:
                self._connect(cid, net)
        except FleetError:
            self._remove(cid)
            raise
        return cid

    def _connect(self, cid, net):
        kwargs = {}
        if net["aliases"]:
            kwargs["aliases"] = list(net["aliases"])
        if net["ipv4_address"]:
            kwargs["ipv4_address"] = net["ipv4_address"]
        if net.get("ipv6_address"):
            kwargs["ipv6_address"] = net["ipv6_address"]
        call(self.client, "connecting %s to network %s" % (cid[:12], net["name"]),
             self.api.connect_container_to_network, cid, net["name"], **kwargs)

    def _stop(self, cid, what, timeout, kill_signal=None):
        """Stop a running container: ``docker stop`` with ``timeout``, or (force_kill) ``docker kill`` with a signal."""
        if kill_signal:
            call(self.client, what, self.api.kill, cid, signal=kill_signal, if_missing=None)
        else:
            call(self.client, what, self.api.stop, cid, timeout=timeout, if_missing=None)

    def _remove(self, cid, stop_timeout=None, keep_volumes=False, kill_signal=None):
        """Stop (when a timeout is given) and remove; its anonymous volumes go too unless kept.

        Named volumes and bind mounts are never removed here (the engine's ``rm -v`` leaves them).
        ``kill_signal``: the container runs and is killed with it first (force_kill).
        """
        what = "removing container %s" % cid[:12]
        try:
            if stop_timeout is not None or kill_signal:
                self._stop(cid, what, stop_timeout, kill_signal)
            call(self.client, what, self.api.remove_container, cid, force=True, v=not keep_volumes, if_missing=None)
        except BackendError as exc:
            if "already in progress" not in exc.msg:
                raise
            # an auto_remove container: the engine removes it itself once stopped; wait until it is gone,
            # so that its name is free for the replacement
            self._wait_gone(cid)

    def _wait_gone(self, cid, timeout=60):
        deadline = time.time() + timeout
        while self.inspect(cid) is not None:
            if time.time() >= deadline:
                raise BackendError("container %s was still being removed by the engine after %ss" % (cid[:12], timeout))
            time.sleep(POLL_INTERVAL)

    def _update(self, cid, body):
        call(self.client, "updating container %s" % cid[:12], update_container, self.client, cid, body)

    # ------------------------------------------------------------------ leftovers of killed runs

    def recover(self, name, names=None):
        """Clean up what a killed run left for ``name``; returns the steps taken (in check mode: predicted).

        A parked old container is renamed back when ``name`` itself is missing
        (it is the working one); otherwise parked and temporary containers are
        removed. ``names``: container names already listed (the stack has them).
        """
        if names is None:
            listing = call(self.client, "listing containers", self.api.containers, all=True, filters={"name": name})
            names = [n for item in listing for n in item.get("Names") or []]
        parked, temporaries = leftovers(name, names)
        steps = []  # in check mode: what a real run would do first
        for temp in temporaries:
            if not self.check_mode:
                self._remove(temp)
            steps.append("removed leftover %s" % temp)
        if parked and name not in set(n.lstrip("/") for n in names):
            keep = parked.pop()
            if not self.check_mode:
                call(self.client, "renaming %s back to %s" % (keep, name), self.api.rename, keep, name)
            steps.append("renamed leftover %s back to %s" % (keep, name))
        for old in parked:
            if not self.check_mode:
                self._remove(old, None, False)
            steps.append("removed leftover %s" % old)
        return steps

    def wait_healthy(self, cid, timeout, require_health=True):
        """Wait until the container is healthy (or running, when it has no healthcheck)."""
        deadline = time.time() + timeout
        last = None
        while True:
            last = self.inspect(cid)
            if last is None:
                raise BackendError("container %s disappeared while waiting for it to become healthy" % cid[:12])
            state = _state_of(last)
            status = cs.health_status(last)
            if status == "healthy" or (status is None and state.get("Running") and not require_health):
                return last
            if not state.get("Running") and state.get("Status") in ("exited", "dead"):
                raise WaitTimeout("container %s exited (code %s) instead of becoming healthy%s"
                                  % (last.get("Name", cid).lstrip("/"), state.get("ExitCode"), self._health_log(last)),
                                  health=status, exit_code=state.get("ExitCode"))
            if status == "unhealthy":
                # the engine only reports unhealthy after `retries` failed probes in a row
                raise WaitTimeout("container %s is unhealthy%s"
                                  % (last.get("Name", cid).lstrip("/"), self._health_log(last)), health=status)
            if time.time() >= deadline:
                raise WaitTimeout("container %s was not healthy after %ss (health: %s)%s"
                                  % (last.get("Name", cid).lstrip("/"), timeout, status or "no healthcheck, not running",
                                     self._health_log(last)), health=status)
            try:
                guard.sleep(POLL_INTERVAL)
            except guard.Interrupted as exc:
                exc.msg += " while waiting for %s to become healthy" % last.get("Name", cid).lstrip("/")
                raise

    @staticmethod
    def _health_log(inspect):
        log = (((_state_of(inspect).get("Health")) or {}).get("Log")) or []
        if not log:
            return ""
        last = log[-1]
        return "; last probe exit %s: %s" % (last.get("ExitCode"), (last.get("Output") or "").strip()[:200])

    def check_networks(self, specs, declared=(), where=None):
        """Fail before any change when a spec names a network the engine does not have."""
        wanted = {}
        for index, desired in enumerate(specs):
            for net in desired.get("networks") or []:
                if net["name"] not in ("host", "none", "bridge", "default") and net["name"] not in declared:
                    wanted.setdefault(net["name"], index)
        for name, index in sorted(wanted.items()):
            if call(self.client, "inspecting network %s" % name, self.api.inspect_network, name, if_missing=None) is None:
                option = where(index) if where else "networks"
                raise ValidationError(option, "network %s does not exist on %s" % (name, address(self.client)),
                                      accepted="an existing network (or one declared in container_stack networks)")

    # ------------------------------------------------------------------ planning

    def plan(self, params, inspect=None, image=None, extra_labels=None, known=False, desired=None):
        """Compute what converging ``params`` would do; no engine mutation.

        ``known=True`` means ``inspect`` is already the current container (or None when
        it does not exist) and ``image`` resolved, as the stack manager supplies them;
        ``desired``: ``params`` already normalized (cs.normalize_spec).
        """
        state = params.get("state") or "started"
        kill_signal_of(params)
        if state == "absent":
            desired = {"name": params["name"]}
            leftover = None
            if not known:
                inspect = self.inspect(params["name"])
                leftover = self.inspect(params["name"] + ROLLING_SUFFIX)
            return {"name": params["name"], "state": state, "desired": None, "inspect": inspect, "image": None,
                    "action": "remove" if inspect else "none", "differences": [], "run": None, "params": params,
                    "leftover": leftover}
        if desired is None and not params.get("image") and not known:
            return self._plan_by_name(params, state)
        desired = dict(desired) if desired is not None else cs.normalize_spec(params)
        if extra_labels:
            desired["labels"] = dict(desired["labels"], **extra_labels)
        self._resolve_references(desired)
        recreate = params.get("recreate") or "auto"
        if recreate not in RECREATE_MODES:
            raise ValidationError("recreate", "unknown mode %r" % recreate, accepted=", ".join(RECREATE_MODES))
        if recreate == "rolling" and cs.fixed_host_ports(desired["ports"]):
            raise ValidationError(
                "recreate", "rolling cannot be used with fixed host ports (%s): the new container could not bind "
                "them while the old one still serves. Publish random host ports, or reach the service through a "
                "network alias, or use recreate=auto; a service on a fixed port rolls out without downtime behind HAProxy "
                "with hybridops.fleet.container_rollout" % ", ".join(cs._port_view(cs.fixed_host_ports(desired["ports"]))),
                accepted="auto, always, never, rolling (rolling without fixed host ports)")
        leftover = None
        if not known:
            self.check_networks([desired])
            image = self.images.resolve(desired["image"], params.get("pull") or "missing", desired.get("platform"))
            inspect = self.inspect(desired["name"])
            # the replacement of a rolling replace that was cut short (engine or host gone): whatever this run
            # does, it is removed (a stack prunes it instead: it carries the stack's label)
            leftover = self.inspect(desired["name"] + ROLLING_SUFFIX)
        check_image_platform(desired, image, desired["image"])
        if desired.get("platform") and inspect is not None and inspect.get("Image") != (image or {}).get("Id"):
            # the platform of the container is its image's: the one it runs, not the spec's
            desired["container_platform"] = image_platform(self.images.inspect(inspect["Image"]))
        diffs = []
        if inspect is None:
            action = "create"
        else:
            diffs = cs.compare(desired, image, inspect)
            if recreate == "always":
                action = "recreate"
            elif cs.needs_recreate(diffs):
                action = "recreate"
                if recreate == "never":
                    raise ValidationError(
                        "recreate", "container %s differs in %s, which needs a new container, and recreate=never"
                        % (desired["name"], ", ".join(d.option for d in diffs if d.update == cs.RECREATE)))
            elif diffs:
                action = "update"
            else:
                action = "none"
        if action == "recreate" and recreate == "rolling" and inspect is not None and is_running(inspect):
            action = "rolling"
        run = self._run_action(state, inspect, action, desired, restart=params.get("restart"))
        return {"name": desired["name"], "state": state, "desired": desired, "inspect": inspect, "image": image,
                "action": action, "differences": diffs, "run": run, "params": params,
                "extra_labels": extra_labels, "image_missing": image is None, "leftover": leftover}

    def _plan_by_name(self, params, state):
        """started/stopped/present with only a name: the existing container's running state, nothing compared."""
        inspect = self.inspect(params["name"])
        if inspect is None:
            raise ValidationError("image", "is required to create container %s (it does not exist on %s)"
                                  % (params["name"], address(self.client)),
                                  accepted="an image, or the name of an existing container to start or stop")
        desired = {"name": params["name"], "stop_timeout": None, "secret_keys": []}
        run = self._run_action(state, inspect, "none", desired, restart=params.get("restart"))
        return {"name": params["name"], "state": state, "desired": desired, "inspect": inspect, "image": None,
                "action": "none", "differences": [], "run": run, "params": params, "by_name": True}

    def _resolve_references(self, desired):
        """Names the engine stores as IDs (network_mode container:NAME) are compared by the ID they name now."""
        mode = desired.get("network_mode") or ""
        if mode.startswith("container:"):
            target = self.inspect(mode[len("container:"):])
            desired["network_mode_id"] = target["Id"] if target else None

    @staticmethod
    def _run_action(state, inspect, action, desired, restart=False):
        was_running = is_running(inspect) if inspect else False
        fresh = action in ("create", "recreate", "rolling")
        if state in ("started", "healthy"):
            if restart and not fresh and was_running and action == "none":
                # restart: true restarts a container that needs no change (community.docker's rule)
                return "restart"
            if fresh or not was_running:
                return "start"
            if state == "healthy" and cs.health_status(inspect) not in (None, "healthy"):
                return "wait"
            return None
        if state == "stopped":
            return "stop" if was_running and not fresh else None
        # present: keep the container's running state across a recreate
        if fresh and was_running:
            return "start"
        return None

    # ------------------------------------------------------------------ applying

    def apply(self, plan, wait_timeout=120):
        """Carry out a plan; returns the per-container result dict."""
        result = self._result_skeleton(plan)
        action = plan["action"]
        run = plan["run"]
        result["changed"] = action != "none" or run in ("start", "stop", "restart") or bool(plan.get("leftover"))
        if plan.get("leftover"):
            result["removed_leftover"] = plan["leftover"]["Name"].lstrip("/")
            if not self.check_mode:
                self._remove(plan["leftover"]["Id"])
        if self.check_mode:
            result["container"] = cs.mask_inspect(plan["inspect"], self._secret_keys(plan))
            return result
        inspect = plan["inspect"]
        if action == "remove":
            self._remove(inspect["Id"], self._stop_timeout(plan), self._keep_volumes(plan),
                         self._kill_signal(plan) if is_running(inspect) else None)
            result["container"] = None
            return result
        if action == "none" and run is None:
            result["container"] = cs.mask_inspect(inspect, self._secret_keys(plan))
            return result
        guard.check("changing container %s" % plan["name"])
        done = []
        try:
            return self._apply(plan, result, wait_timeout, done)
        except guard.Interrupted as exc:
            # the step in flight was finished or undone; say what had been done by then
            exc.details.update(changed=bool(done), name=plan["name"], actions=done)
            raise

    def _apply(self, plan, result, wait_timeout, done):
        action = plan["action"]
        run = plan["run"]
        inspect = plan["inspect"]
        desired = plan["desired"]
        cid = inspect["Id"] if inspect else None
        if action == "rolling":
            cid = self._rolling(plan, wait_timeout)
            run = None
        elif action == "create":
            cid = self._create(desired, desired["name"], None)
        elif action == "recreate":
            cid = self._replace(plan, start=run == "start")
            result["recreated"] = True
            if run == "start":
                done.append("start")
                run = "started"
        elif action == "update":
            self._apply_update(cid, desired, plan["differences"], plan["inspect"])
        if action != "none":
            done.insert(0, action)
        if run == "start":
            call(self.client, "starting container %s" % desired["name"], self.api.start, cid)
        elif run == "stop":
            self._stop(cid, "stopping container %s" % desired["name"],
                       desired["stop_timeout"] if desired["stop_timeout"] is not None else 10, self._kill_signal(plan))
        elif run == "restart":
            call(self.client, "restarting container %s" % desired["name"], self.api.restart, cid,
                 timeout=self._stop_timeout(plan))
        if run in ("start", "stop", "restart"):
            done.append(run)
        final = self.inspect(cid)
        if desired.get("paused") and is_running(final) and not _state_of(final).get("Paused"):
            # a new, started or restarted container runs first; paused is its state after that
            call(self.client, "pausing container %s" % desired["name"], self.api.pause, cid)
            done.append("pause")
            final = self.inspect(cid)
        if plan["state"] == "healthy" and run in ("start", "started", "wait"):
            final = self.wait_healthy(cid, wait_timeout, require_health=False)
        result["container"] = cs.mask_inspect(final, self._secret_keys(plan))
        return result

    def _apply_update(self, cid, desired, diffs, inspect):
        body = cs.update_body(desired, diffs)
        if body:
            self._update(cid, body)
        if any(d.update == cs.PAUSE for d in diffs) and not desired.get("paused"):
            # pausing waits for the run step (_apply): a stopped container is started first
            call(self.client, "unpausing container %s" % desired["name"], self.api.unpause, cid)
        if any(d.update == cs.NETWORK for d in diffs):
            actual = dict((n["name"], n) for n in cs._networks_actual(inspect))
            wanted = dict((n["name"], n) for n in desired["networks"] or [])
            for name in actual:
                if name not in wanted or not cs.networks_match([wanted[name]], [actual[name]]):
                    call(self.client, "disconnecting %s from %s" % (desired["name"], name),
                         self.api.disconnect_container_from_network, cid, name)
            for name, net in wanted.items():
                if name not in actual or not cs.networks_match([net], [actual[name]]):
                    self._connect(cid, net)

    def _replace(self, plan, start):
        """Recreate without losing the working container.

        The replacement is created under a temporary name first; a spec the engine
        refuses leaves the old container untouched. Only then is the old one
        stopped and parked under a temporary name, the new one renamed and (when
        asked) started: fixed host ports can be bound by one of them at a time.
        If that fails the new one is removed and the old one gets its name back
        and runs again.
        """
        desired = plan["desired"]
        old = plan["inspect"]
        name = desired["name"]
        old_id = old["Id"]
        was_running = is_running(old)
        old_state = "running" if was_running else "stopped"
        new_name = temporary_name(name, NEW_MARK)
        try:
            new_id = self._create(desired, new_name, None)
        except FleetError as exc:
            self._remove(new_name)
            raise ReplaceFailed(
                "recreating %s: the engine refused the replacement container (%s). Nothing was changed: the old "
                "container %s is still %s and the temporary %s was removed"
                % (name, exc.msg, old_id[:12], old_state, new_name), old_container_id=old_id, rolled_back=True)
        parked = temporary_name(name, OLD_MARK)
        try:
            if was_running:
                self._stop(old_id, "stopping container %s" % name, self._stop_timeout(plan), self._kill_signal(plan))
            call(self.client, "renaming %s to %s" % (name, parked), self.api.rename, old_id, parked)
        except FleetError as exc:
            self._remove(new_id)
            problem = self._restart(old_id, was_running)
            raise ReplaceFailed(
                "recreating %s: setting the old container aside failed (%s). The replacement was removed; the old "
                "container %s %s" % (name, exc.msg, old_id[:12], problem or "is %s as before" % old_state),
                old_container_id=old_id, rolled_back=not problem)
        try:
            call(self.client, "renaming %s to %s" % (new_name, name), self.api.rename, new_id, name)
            if start:
                call(self.client, "starting container %s" % name, self.api.start, new_id)
        except FleetError as exc:
            self._remove(new_id)
            try:
                call(self.client, "renaming %s back to %s" % (parked, name), self.api.rename, old_id, name)
                problem = self._restart(old_id, was_running)
            except FleetError as undo:
                problem = "could not get its name back (%s); it is stopped as %s and the next run restores it" % (
                    undo.msg, parked)
            outcome = problem or "renamed back to %s, %s" % (name, old_state)
            raise ReplaceFailed(
                "recreating %s: the replacement container could not be started (%s). It was removed and the old "
                "container %s was brought back: %s" % (name, exc.msg, old_id[:12], outcome),
                old_container_id=old_id, rolled_back=not problem)
        self._remove(old_id, None, self._keep_volumes(plan))
        return new_id

    def _restart(self, cid, was_running):
        """Start ``cid`` again when it ran before; returns a problem description or None."""
        if not was_running:
            return None
        try:
            call(self.client, "starting container %s" % cid[:12], self.api.start, cid)
        except FleetError as exc:
            return "could not be started again (%s)" % exc.msg
        return None

    def _rolling(self, plan, wait_timeout):
        """Start the replacement beside the old container; swap only once it is healthy."""
        desired = plan["desired"]
        old = plan["inspect"]
        temp = desired["name"] + ROLLING_SUFFIX
        leftover = self.inspect(temp)
        if leftover is not None:
            self._remove(leftover["Id"])
        new_id = self._create(desired, temp, None)
        try:
            call(self.client, "starting container %s" % temp, self.api.start, new_id)
            self.wait_healthy(new_id, wait_timeout, require_health=cs.has_healthcheck(desired, plan["image"]))
        except FleetError as exc:
            try:
                self._remove(new_id)
            except FleetError as cleanup:
                # the engine went away (or refuses): say what failed first, not only the failed clean-up
                raise RolloutFailed(
                    "rolling replace of %s failed: the new container did not become healthy (%s). Removing it "
                    "failed too (%s): the next run removes %s. The old container %s was not touched"
                    % (desired["name"], exc.msg, cleanup.msg, temp, old["Id"][:12]),
                    rolled_back=False, old_container_id=old["Id"])
            raise RolloutFailed(
                "rolling replace of %s failed: the new container did not become healthy (%s). It was removed; "
                "the old container %s is still running unchanged" % (desired["name"], exc.msg, old["Id"][:12]),
                rolled_back=True, old_container_id=old["Id"])
        self._remove(old["Id"], self._stop_timeout(plan), self._keep_volumes(plan), self._kill_signal(plan))
        call(self.client, "renaming %s to %s" % (temp, desired["name"]), self.api.rename, new_id, desired["name"])
        return new_id

    @staticmethod
    def _stop_timeout(plan):
        desired = plan.get("desired")
        if desired and desired.get("stop_timeout") is not None:
            return desired["stop_timeout"]
        inspect = plan.get("inspect") or {}
        value = (inspect.get("Config") or {}).get("StopTimeout")
        return value if value is not None else 10

    @staticmethod
    def _kill_signal(plan):
        """The signal that stops the container instead of ``docker stop`` (force_kill), or None."""
        params = plan.get("params") or {}
        if not params.get("force_kill"):
            return None
        return kill_signal_of(params)

    @staticmethod
    def _keep_volumes(plan):
        return bool((plan.get("params") or {}).get("keep_volumes"))

    @staticmethod
    def _secret_keys(plan):
        desired = plan.get("desired") or {}
        return desired.get("secret_keys") or []

    def _result_skeleton(self, plan):
        actions = []
        if plan["action"] != "none":
            actions.append(plan["action"])
        if plan["run"] and plan["run"] != "wait":
            actions.append(plan["run"])
        desired = plan.get("desired") or {}
        paused_diff = any(d.update == cs.PAUSE for d in plan["differences"])
        if desired.get("paused") and (paused_diff or plan["action"] in ("create", "recreate", "rolling")
                                      or plan["run"] in ("start", "restart")):
            # paused after the container runs (_apply)
            actions.append("pause")
        elif paused_diff:
            actions.append("unpause")
        result = {
            "name": plan["name"],
            "changed": False,
            "action": plan["action"],
            "actions": actions,
            "differences": [d.as_dict() for d in plan["differences"]],
        }
        if plan.get("image_missing") and plan["action"] != "remove":
            result["image_pull_pending"] = True
        result["diff"] = self.diff(plan)
        return result

    def diff(self, plan):
        """Structured before/after of one container (secrets masked)."""
        inspect = plan["inspect"]
        desired = plan["desired"]
        image = plan["image"]
        if inspect is None:
            before = {}
        elif desired is None or plan.get("by_name"):
            before = {"name": plan["name"], "image": (inspect.get("Config") or {}).get("Image"),
                      "running": is_running(inspect)}
        else:
            before = cs.spec_view(desired, image, inspect)
            before["name"] = plan["name"]
            before["running"] = is_running(inspect)
        if desired is None:
            after = {}
        elif plan.get("by_name"):
            after = dict(before, running=plan["run"] == "start" or (before["running"] and plan["run"] != "stop"))
        else:
            after = cs.spec_view(desired, image)
            after["name"] = plan["name"]
            running = is_running(inspect) if inspect else False
            if plan["run"] == "start":
                running = True
            elif plan["run"] == "stop":
                running = False
            elif plan["action"] in ("create",):
                running = False
            after["running"] = running
            if plan["run"] == "restart":
                after["restarted"] = True
        return {"before": before, "after": after}

    # ------------------------------------------------------------------ one-shot

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        """Converge one container (the container module); returns the module result dict."""
        name = str(params.get("name") or "").lstrip("/")
        recovered = self.recover(name) if name else []
        plan = self.plan(params)
        result = self.apply(plan, wait_timeout=params.get("wait_timeout") or 120)
        if recovered:
            result["recovered"] = recovered
            result["changed"] = True
            if "removed leftover %s%s" % (name, ROLLING_SUFFIX) in recovered:
                # the same key whether recover() (a real run) or the plan (check mode) found it
                result["removed_leftover"] = name + ROLLING_SUFFIX
        return keep_diff(result, self.diff_mode)


# ---------------------------------------------------------------------- argument spec

# Options of one container, shared by the container module and stack members: derived from the
# option table (plugins/module_utils/_docker/options/), never listed here.
CONTAINER_SPEC_ARGS = option_table.argument_spec()

CONTAINER_RUN_ARGS = dict(
    state=dict(type="str", choices=list(STATES), default="started"),
    recreate=dict(type="str", choices=list(RECREATE_MODES), default="auto"),
    pull=dict(type="str", choices=list(PULL_MODES), default="missing"),
    wait_timeout=dict(type="int", default=120),
    keep_volumes=dict(type="bool", default=False),
    restart=dict(type="bool", default=False),
    force_kill=dict(type="bool", default=False, aliases=["forcekill"]),
    kill_signal=dict(type="str"),
)
