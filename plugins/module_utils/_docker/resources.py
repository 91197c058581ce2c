# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Networks and volumes: present/absent with check mode and diff.

Engines cannot change a network's driver or subnet, or a volume's driver or
options, in place. A difference there fails naming the option, unless
``force`` allows removing and recreating the object (a network's containers
are disconnected first; rerunning the container modules reconnects them).
Labels are set at creation only (the engine cannot change them).

Ownership: a volume this collection creates carries the label ``hybridops.fleet.managed`` (a stack's
volumes carry ``hybridops.fleet.stack``). A volume without either was made by someone else and holds
their data: it is removed or recreated only with ``force``.
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container_spec import LABEL_MANAGED, LABEL_STACK
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import (
    address, backend_error, is_not_found)


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


class _Manager(object):
    kind = None
    shortest_name = 2
    created_labels = {}  # labels every object this manager creates carries (the ownership marker)

    def _check_remove(self, current, params, action):
        """Hook: refuse removing/recreating ``current`` (raises ValidationError); the default allows it."""

    def __init__(self, client, check_mode=False):
        self.client = client
        self.api = client.api
        self.check_mode = check_mode

    def _call(self, what, func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            raise backend_error(self.client, what, exc)

    def _get(self, name):
        try:
            return self._inspect(name)
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise backend_error(self.client, "inspecting %s %s" % (self.kind, name), exc)

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
        info = self._call("reading the engine's plugins", self.api.info)
        known = list(((info or {}).get("Plugins") or {}).get(self.kind.capitalize()) or [])
        plugins = self._call("listing the engine's plugins", self.api.plugins)
        known += [p.get("Name") for p in plugins or [] if p.get("Enabled")]
        names = set(known) | set(n.rsplit(":", 1)[0] for n in known if n.endswith(":latest"))
        if driver not in names:
            raise ValidationError("driver", "%r is not a %s driver of %s" % (driver, self.kind, address(self.client)),
                                  accepted=", ".join(sorted(set(known))))

    def ensure(self, params):
        name = params["name"]
        if params.get("state") != "absent":
            self.validate(params)
        current = self._get(name)
        before = self.view(current)
        result = {"changed": False, "actions": []}
        if params.get("state") == "absent":
            if current is not None:
                self._check_remove(current, params, "remove")
                result["changed"] = True
                result["actions"].append("remove")
                if not self.check_mode:
                    self._remove(current, params)
            result["diff"] = {"before": before, "after": {}}
            result[self.kind] = None
            return result
        desired = self.desired(params)
        if current is not None:
            diffs = _differences(before, desired)
            if diffs:
                if not params.get("force"):
                    described = ", ".join("%s=%r (wanted %r)" % diff for diff in diffs)
                    raise ValidationError(diffs[0][0], "%s %s exists on %s with %s; the engine cannot change "
                                          "that in place. Set force: true to remove and recreate it%s"
                                          % (self.kind, name, address(self.client), described, self.force_note),
                                          differences=[{"option": o, "before": b, "after": a} for o, b, a in diffs])
                self._check_remove(current, params, "recreate")
                result["differences"] = [{"option": o, "before": b, "after": a} for o, b, a in diffs]
                result["actions"].append("recreate")
                result["changed"] = True
                if not self.check_mode:
                    self._remove(current, dict(params, force=True))
                    self._create(params)
        else:
            result["actions"].append("create")
            result["changed"] = True
            if not self.check_mode:
                self._create(params)
        if not result["changed"]:
            after_view = before
        elif not self.check_mode:
            after_view = self.view(self._get(name))
        else:
            after_view = dict(before or {"labels": dict(params.get("labels") or {}, **self.created_labels)})
            after_view.update((k, v) for k, v in desired.items() if v is not None)
            after_view["name"] = name
        result["diff"] = {"before": before, "after": after_view}
        result[self.kind] = after_view
        return result


class NetworkManager(_Manager):
    kind = "network"
    default_driver = "bridge"
    string_maps = ("labels", "options")
    shortest_name = 1  # the engine takes one-character network names
    force_note = " (its containers are disconnected; rerun the container tasks to reconnect them)"

    def _inspect(self, name):
        return self.api.inspect_network(name)

    view = staticmethod(network_view)

    def validate(self, params):
        super(NetworkManager, self).validate(params)
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

    def _create(self, params):
        ipam = None
        if params.get("subnet"):
            from docker.types import IPAMConfig, IPAMPool  # pylint: disable=import-outside-toplevel
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=params["subnet"], gateway=params.get("gateway"))])
        self._call("creating network %s" % params["name"], self.api.create_network, params["name"],
                   driver=params.get("driver") or "bridge", internal=bool(params.get("internal")),
                   labels=params.get("labels") or None, options=params.get("options") or None, ipam=ipam)

    def _remove(self, current, params):
        attached = current.get("Containers") or {}
        if attached and not params.get("force"):
            names = sorted((c or {}).get("Name") or cid[:12] for cid, c in attached.items())
            raise ValidationError("force", "network %s is in use by %s; set force: true to disconnect them and "
                                  "remove it" % (current.get("Name"), ", ".join(names)))
        for cid in attached:
            self._call("disconnecting %s from %s" % (cid[:12], current.get("Name")),
                       self.api.disconnect_container_from_network, cid, current["Id"], force=True)
        self._call("removing network %s" % current.get("Name"), self.api.remove_network, current["Id"])


class VolumeManager(_Manager):
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

    def _create(self, params):
        self._call("creating volume %s" % params["name"], self.api.create_volume, params["name"],
                   driver=params.get("driver") or "local", driver_opts=params.get("driver_opts") or None,
                   labels=dict(params.get("labels") or {}, **self.created_labels))

    def _remove(self, current, params):
        try:
            self.api.remove_volume(current["Name"])
        except Exception as exc:
            err = backend_error(self.client, "removing volume %s" % current["Name"], exc)
            if "in use" in err.msg:
                raise ValidationError("name", "volume %s is in use by a container; remove the container first "
                                      "(volumes are never removed from under a container)" % current["Name"])
            raise err
