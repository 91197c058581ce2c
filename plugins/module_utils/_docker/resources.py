# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks and volumes: present/absent with check mode and diff.

Engines cannot change a network's driver or subnet, or a volume's driver or
options, in place. A difference there fails naming the option, unless
``force`` allows removing and recreating the object. A network is recreated
without losing its containers: they are disconnected, the network is made
again and they are reconnected with their aliases and addresses; if the engine
refuses the new network, the old one is made again from its inspect data and
the containers go back to it. Labels are set at creation only (the engine
cannot change them).

Ownership: a volume this collection creates carries the label ``hybridops.fleet.managed`` (a stack's
volumes carry ``hybridops.fleet.stack``). A volume without either was made by someone else and holds
their data: it is removed or recreated only with ``force``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import keep_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import address, call
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container_spec import LABEL_MANAGED, LABEL_STACK

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import EngineClient


def _differences(current, desired):
    return [(key, current.get(key), value) for key, value in sorted(desired.items())
            if value is not None and current.get(key) != value]


def network_view(data):
    if not data:
        return {}
    configs = ((data.get("IPAM") or {}).get("Config")) or []
    first = configs[0] if configs else {}
    return {"name": data.get("Name"), "driver": data.get("Driver"), "internal": bool(data.get("Internal")),
            "subnet": first.get("Subnet"), "gateway": first.get("Gateway"), "labels": data.get("Labels") or {},
            "options": data.get("Options") or {}}


def volume_view(data):
    if not data:
        return {}
    return {"name": data.get("Name"), "driver": data.get("Driver"), "driver_opts": data.get("Options") or {},
            "labels": data.get("Labels") or {}}


def owned_volume(labels):
    """True when a volume's labels say this collection created it (container_volume or a stack)."""
    labels = labels or {}
    return LABEL_MANAGED in labels or LABEL_STACK in labels


def require_owned_volume(name, labels, force, action):
    """Refuse to remove or recreate a volume the collection did not create, unless ``force``."""
    if not force and not owned_volume(labels):
        raise ValidationError("force", "refusing to %s volume %s: it was not created by hybridops.fleet (it has "
                              "neither the label %s nor %s), so its data may belong to something else"
                              % (action, name, LABEL_MANAGED, LABEL_STACK),
                              accepted="force: true to %s it anyway" % action)


class _Manager:
    # each subclass sets these: its object kind, how it reads, creates, recreates and removes one
    kind: str
    view: Callable[[dict[str, Any] | None], dict[str, Any] | None]
    create: Callable[[dict[str, Any]], Any]
    _recreate: Callable[[dict[str, Any], dict[str, Any]], Any]
    _remove: Callable[[dict[str, Any], dict[str, Any]], Any]
    shortest_name = 2
    created_labels: dict[str, str] = {}  # labels every object this manager creates carries (the ownership marker)

    def _check_remove(self, current, params, action):
        """Hook: refuse removing/recreating ``current`` (raises ValidationError); the default allows it."""

    def __init__(self, client: EngineClient, check_mode: bool = False, diff: bool = False) -> None:
        self.client = client
        self.api = client.api
        self.check_mode = check_mode
        self.diff_mode = diff

    def get(self, name):
        """Inspect data of ``name``, or None when the engine has no such object."""
        return call(self.client, "inspecting %s %s" % (self.kind, name), self._inspect, name, if_missing=None)

    def plan(self, params, remedy=None):
        """Validate ``params`` and compare with the engine: ``(current, desired, differences)``.

        A difference the engine cannot apply in place fails naming the option
        unless ``force`` is set. Nothing is changed.
        """
        name = params["name"]
        self.validate(params)
        current = self.get(name)
        desired = self.desired(params)
        diffs = _differences(self.view(current), desired) if current is not None else []
        if diffs and not params.get("force"):
            described = ", ".join("%s=%r (wanted %r)" % diff for diff in diffs)
            raise ValidationError(diffs[0][0], "%s %s exists on %s with %s; the engine cannot change "
                                  "that in place. %s"
                                  % (self.kind, name, address(self.client), described,
                                     remedy or "Set force: true to remove and recreate it" + self.force_note),
                                  differences=[{"option": o, "before": b, "after": a} for o, b, a in diffs])
        return current, desired, diffs

    def validate(self, params):
        """Options of a present object, checked before the engine is asked to change anything.

        ``state=absent`` takes any name, so objects named otherwise elsewhere can be removed.
        """
        validators.check_docker_name(params["name"], "name", "%s name" % self.kind, min_length=self.shortest_name)
        for option in self.string_maps:
            if params.get(option) is not None:
                validators.check_string_map(params[option], option)
        self._check_driver(params.get("driver") or self.default_driver)

    def _check_driver(self, driver):
        """A driver the engine has (a typo would fail only at create, after a forced removal)."""
        if driver == self.default_driver:
            return
        info = call(self.client, "reading the engine's plugins", self.api.info)
        known = list(((info or {}).get("Plugins") or {}).get(self.kind.capitalize()) or [])
        plugins = call(self.client, "listing the engine's plugins", self.api.plugins)
        known += [p.get("Name") for p in plugins or [] if p.get("Enabled")]
        names = set(known) | set(n.rsplit(":", 1)[0] for n in known if n.endswith(":latest"))
        if driver not in names:
            raise ValidationError("driver", "%r is not a %s driver of %s" % (driver, self.kind, address(self.client)),
                                  accepted=", ".join(sorted(set(known))))

    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        """Converge one network or volume; returns the module result dict."""
        return keep_diff(self._converge(params), self.diff_mode)

    def _converge(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"]
        if params.get("state") == "absent":
            current = self.get(name)
            before = self.view(current)
            result: dict[str, Any] = {"changed": False, "actions": []}
            if current is not None:
                self._check_remove(current, params, "remove")
                result["changed"] = True
                result["actions"].append("remove")
                if not self.check_mode:
                    self._remove(current, params)
            result["diff"] = {"before": before, "after": {}}
            result[self.kind] = None
            return result
        current, desired, diffs = self.plan(params)
        before = self.view(current)
        result = {"changed": False, "actions": []}
        if current is not None:
            if diffs:
                self._check_remove(current, params, "recreate")
                result["differences"] = [{"option": o, "before": b, "after": a} for o, b, a in diffs]
                result["actions"].append("recreate")
                result["changed"] = True
                if not self.check_mode:
                    guard.check("recreating %s %s" % (self.kind, name))
                    self._recreate(current, params)
        else:
            result["actions"].append("create")
            result["changed"] = True
            if not self.check_mode:
                self.create(params)
        if not result["changed"]:
            after_view = before
        elif not self.check_mode:
            after_view = self.view(self.get(name))
        else:
            after_view = dict(before or {"labels": dict(params.get("labels") or {}, **self.created_labels)})
            after_view.update((k, v) for k, v in desired.items() if v is not None)
            after_view["name"] = name
        result["diff"] = {"before": before, "after": after_view}
        result[self.kind] = after_view
        return result


class EngineNetworkManager(_Manager):
    kind = "network"
    default_driver = "bridge"
    string_maps = ("labels", "options")
    shortest_name = 1  # the engine takes one-character network names
    force_note = " (its containers are reconnected to the new network with their aliases and addresses)"

    def _inspect(self, name):
        return self.api.inspect_network(name)

    view = staticmethod(network_view)

    def validate(self, params):
        super().validate(params)
        if params.get("gateway") and not params.get("subnet"):
            raise ValidationError("gateway", "needs subnet", accepted="subnet and gateway together")
        if params.get("subnet"):
            subnet = validators.check_cidr(params["subnet"], "subnet")
            if params.get("gateway"):
                gateway = validators.check_ip(params["gateway"], "gateway", version=subnet.version)
                if gateway not in subnet:
                    raise ValidationError("gateway", "%s is outside subnet %s" % (gateway, subnet),
                                          accepted="an address inside %s" % subnet)

    @staticmethod
    def desired(params):
        return {"driver": params.get("driver") or "bridge", "internal": bool(params.get("internal")),
                "subnet": params.get("subnet"), "gateway": params.get("gateway")}

    def create(self, params):
        ipam = None
        if params.get("subnet"):
            pool = {"Subnet": params["subnet"]}
            if params.get("gateway"):
                pool["Gateway"] = params["gateway"]
            ipam = {"Driver": "default", "Config": [pool]}
        call(self.client, "creating network %s" % params["name"], self.api.create_network, params["name"],
             driver=params.get("driver") or "bridge", internal=bool(params.get("internal")),
             labels=params.get("labels") or None, options=params.get("options") or None, ipam=ipam)

    @staticmethod
    def params_of(data):
        """Create parameters that make ``data`` (a network's inspect) again."""
        view = network_view(data)
        return {"name": view["name"], "driver": view["driver"], "internal": view["internal"],
                "subnet": view["subnet"], "gateway": view["gateway"], "labels": view["labels"] or None,
                "options": view["options"] or None}

    def _endpoints(self, current):
        """{container id: connect kwargs} of the containers attached to ``current`` (aliases, fixed addresses)."""
        result = {}
        for cid in sorted(current.get("Containers") or {}):
            data = call(self.client, "inspecting container %s" % cid[:12], self.api.inspect_container, cid,
                        if_missing=None)
            if data is None:
                continue
            nets = (data.get("NetworkSettings") or {}).get("Networks") or {}
            endpoint = nets.get(current.get("Name")) or {}
            kwargs = {}
            aliases = [a for a in endpoint.get("Aliases") or [] if a != cid[:12]]
            if aliases:
                kwargs["aliases"] = aliases
            ipam = endpoint.get("IPAMConfig") or {}
            if ipam.get("IPv4Address"):
                kwargs["ipv4_address"] = ipam["IPv4Address"]
            result[cid] = kwargs
        return result

    def _reconnect(self, name, endpoints):
        problems = []
        for cid, kwargs in sorted(endpoints.items()):
            try:
                call(self.client, "connecting %s to %s" % (cid[:12], name), self.api.connect_container_to_network,
                     cid, name, **kwargs)
            except FleetError as exc:
                problems.append(exc.msg)
        return problems

    def _recreate(self, current, params):
        """Remove and create again, keeping the containers attached; the old network comes back on failure."""
        name = current.get("Name")
        endpoints = self._endpoints(current)
        self._remove(current, dict(params, force=True))
        try:
            self.create(params)
        except FleetError as exc:
            try:
                self.create(self.params_of(current))
                problems = self._reconnect(name, endpoints)
                outcome = ("the old network was made again with its settings%s"
                           % (" and its %d container(s) reconnected" % len(endpoints) if endpoints else "")
                           + (", but reconnecting failed: %s" % "; ".join(problems) if problems else ""))
            except FleetError as undo:
                outcome = "making the old network again also failed (%s); it is gone" % undo.msg
            raise BackendError("recreating network %s: the engine refused the new network (%s); %s"
                               % (name, exc.msg, outcome), rolled_back=True)
        problems = self._reconnect(name, endpoints)
        if problems:
            raise BackendError("network %s was recreated, but reconnecting its containers failed: %s"
                               % (name, "; ".join(problems)))

    def _remove(self, current, params):
        attached = current.get("Containers") or {}
        if attached and not params.get("force"):
            names = sorted((c or {}).get("Name") or cid[:12] for cid, c in attached.items())
            raise ValidationError("force", "network %s is in use by %s; set force: true to disconnect them and "
                                  "remove it" % (current.get("Name"), ", ".join(names)))
        for cid in attached:
            call(self.client, "disconnecting %s from %s" % (cid[:12], current.get("Name")),
                 self.api.disconnect_container_from_network, cid, current["Id"], force=True)
        call(self.client, "removing network %s" % current.get("Name"), self.api.remove_network, current["Id"])


class EngineVolumeManager(_Manager):
    kind = "volume"
    default_driver = "local"
    string_maps = ("labels", "driver_opts")
    force_note = " (its data is lost)"
    created_labels = {LABEL_MANAGED: "true"}

    def _check_remove(self, current, params, action):
        require_owned_volume(current.get("Name"), current.get("Labels"), params.get("force"), action)

    def _inspect(self, name):
        return self.api.inspect_volume(name)

    view = staticmethod(volume_view)

    @staticmethod
    def desired(params):
        opts = params.get("driver_opts")
        return {"driver": params.get("driver") or "local",
                "driver_opts": dict((str(k), str(v)) for k, v in opts.items()) if opts else None}

    def create(self, params):
        call(self.client, "creating volume %s" % params["name"], self.api.create_volume, params["name"],
             driver=params.get("driver") or "local", driver_opts=params.get("driver_opts") or None,
             labels=dict(params.get("labels") or {}, **self.created_labels))

    def _recreate(self, current, params):
        self._remove(current, params)
        self.create(params)

    def _remove(self, current, params):
        try:
            call(self.client, "removing volume %s" % current["Name"], self.api.remove_volume, current["Name"])
        except BackendError as err:
            if "in use" in err.msg:
                raise ValidationError("name", "volume %s is in use by a container; remove the container first "
                                      "(volumes are never removed from under a container)" % current["Name"])
            raise err
