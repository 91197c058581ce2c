# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions: container spec <-> Docker Engine API data, normalize, compare.

Nothing here talks to an engine. The flow is::

    spec (module options)  --normalize_spec-->  desired (canonical values)
    desired + image inspect  --expected-->  what `docker inspect` should show
    container inspect        --actual-->    what it does show
    compare(desired, image, inspect) -> [Difference(option, before, after, update)]
    create_body(desired)  -> JSON body for POST /containers/create
    update_body(desired, diffs) -> JSON body for POST /containers/{id}/update

Every option is ONE row of the option table (``options/``, collected in
``options/table.py``): its argument spec, normalizer, how its desired value becomes
the value ``docker inspect`` reports (folding in the image's own defaults, the way
the daemon merges image config into a new container, and the engine's defaults),
how to read that value back, its create-body and update-body writers and how it is
compared. Everything in this module is one generic loop over that table.
"""

from __future__ import annotations

import copy

from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import table
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (  # re-exported (__all__)
    ALLOW_MORE_PRESENT,
    IGNORE,
    IN_PLACE,
    NETWORK,
    PAUSE,
    RECREATE,
    STRICT,
    cfg as _cfg,
    clean_path,
    image_cfg as _image_cfg,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.lifecycle import (  # noqa: F401
    RESTART_POLICIES,
    format_duration,
    health_from_api as _health_from_api,
    health_view,
    merge_healthcheck,
    normalize_healthcheck,
    parse_duration,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.network import (  # noqa: F401
    PORT_PROTOCOLS,
    fixed_host_ports,
    networks_actual as _networks_actual,
    networks_in_place,
    networks_match,
    normalize_networks,
    normalize_ports,
    parse_port,
    port_parts,
    port_view as _port_view,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.storage import (  # noqa: F401
    MOUNT_TYPES,
    SECRET_MASK,
    normalize_mounts,
    parse_env_list,
)

# labels the collection puts on containers it manages (never user drift)
LABEL_STACK = "hybridops.fleet.stack"
LABEL_MEMBER = "hybridops.fleet.member"
LABEL_MANAGED = "hybridops.fleet.managed"

# helpers of the option families that managers, modules and tests use through this module
__all__ = [
    "ALLOW_MORE_PRESENT", "IGNORE", "IN_PLACE", "NETWORK", "PAUSE", "RECREATE", "STRICT", "clean_path", "RESTART_POLICIES",
    "format_duration", "health_view", "merge_healthcheck", "normalize_healthcheck", "parse_duration", "PORT_PROTOCOLS",
    "fixed_host_ports", "networks_in_place", "networks_match", "normalize_networks", "normalize_ports", "parse_port",
    "port_parts", "MOUNT_TYPES", "SECRET_MASK", "normalize_mounts", "parse_env_list", "LABEL_STACK", "LABEL_MEMBER",
    "LABEL_MANAGED", "OPTIONS", "OPTION_NAMES", "SPEC_KEYS", "normalize_spec", "Difference", "compare", "needs_recreate",
    "create_body", "update_body", "spec_view", "mask_inspect", "health_status", "has_healthcheck",
    "image_id_of_container",
]

OPTIONS = table.OPTIONS
OPTION_NAMES = [opt.name for opt in table.COMPARED]
# container options (module option names) that make up a spec
SPEC_KEYS = table.SPEC_KEYS


def _log_options_match(expected, actual):
    return table.BY_NAME["log_options"].match(expected, actual)


def normalize_spec(spec, require_image=True):
    """Module options -> canonical desired spec. Raises ValidationError naming the option."""
    raw = dict(spec)
    raw["_require_image"] = require_image
    desired = {}
    for opt in OPTIONS:
        value = opt.normalize(raw.get(opt.name), raw)
        if opt.key:
            desired[opt.key] = value
    desired["comparisons"] = table.normalize_comparisons(raw.get("comparisons"))
    for opt in OPTIONS:
        if opt.check:
            opt.check(desired, raw)
    return desired


class Difference:
    def __init__(self, option, before, after, update):
        self.option = option
        self.before = before
        self.after = after
        self.update = update

    def as_dict(self):
        return {"option": self.option, "before": self.before, "after": self.after, "update": self.update}

    def __repr__(self):
        return "Difference(%s)" % self.as_dict()


def image_id_of_container(inspect):
    return inspect.get("Image")


def compare(desired, image, inspect):
    """Differences between the desired spec and a container.

    ``image`` is the inspect data of the image the spec names (None when it is not
    on the engine: then the image counts as changed and image defaults are unknown).
    Returns a list of :class:`Difference` with option-form before/after values.
    Each option is compared in its mode (``comparisons``: strict, ignore, allow_more_present).
    """
    diffs = []
    image_id = (image or {}).get("Id")
    if table.comparison_of(desired, "image") != IGNORE and image_id != image_id_of_container(inspect):
        diffs.append(Difference("image", inspect.get("Image"), image_id or desired["image"], RECREATE))
    for opt in table.COMPARED:
        expected = opt.expected(desired, image)
        if expected is None:
            continue
        actual = opt.read(inspect, image, desired)
        if opt.matches(table.comparison_of(desired, opt.name), expected, actual):
            continue
        update = opt.update
        if update != RECREATE and not opt.in_place_when(desired, expected, actual):
            update = RECREATE
        diffs.append(Difference(opt.name, opt.view(actual, image, desired), opt.view(expected, image, desired), update))
    names = set(d.option for d in diffs)
    # an omitted value that follows another option changes with it (the leader's update writes both)
    return [d for d in diffs if not (d.option in table.BY_NAME and table.BY_NAME[d.option].follows(desired) in names)]


def needs_recreate(diffs):
    return any(d.update == RECREATE for d in diffs)


def create_body(desired, image_ref=None, extra_labels=None):
    """JSON body for POST /containers/create (Engine API >= 1.25)."""
    body = {"Image": image_ref or desired["image"], "HostConfig": {}}
    d = dict(desired)
    if extra_labels:
        d["labels"] = dict(d["labels"], **extra_labels)
    for opt in table.COMPARED:
        opt.apply(d[opt.key], body, d)
    return body


def update_body(desired, diffs):
    """JSON body for POST /containers/{id}/update covering the in-place differences."""
    body = {}
    names = set(d.option for d in diffs if d.update == IN_PLACE)
    for opt in table.COMPARED:
        if opt.name in names and opt.update_body is not None:
            opt.update_body(desired, body)
    return body


def spec_view(desired, image=None, inspect=None):
    """Option-form view of a desired spec (inspect=None) or of a container (diff before/after)."""
    view = {}
    if inspect is None:
        view["image"] = desired["image"]
    else:
        view["image"] = _cfg(inspect).get("Image")
        view["image_id"] = inspect.get("Image")
        if image is not None and inspect.get("Image") == image.get("Id"):
            # same image under another reference: the name is not what is compared
            view["image"] = desired["image"]
    if inspect is None and image is not None:
        view["image_id"] = image.get("Id")
    for opt in table.COMPARED:
        expected = opt.expected(desired, image)
        if expected is None or opt.follows(desired):
            continue
        value = expected
        if inspect is not None:
            actual = opt.read(inspect, image, desired)
            # a value that matches (the engine's own additions, another spelling) is shown as declared,
            # so an unchanged container has identical before and after
            if not opt.matches(table.comparison_of(desired, opt.name), expected, actual):
                value = actual
        view[opt.name] = opt.view(value, image, desired)
    return view


def mask_inspect(inspect, secret_keys):
    """Copy of container inspect data with secret env values replaced."""
    if not inspect or not secret_keys:
        return inspect
    data = copy.deepcopy(inspect)
    env = (data.get("Config") or {}).get("Env") or []
    masked = []
    for item in env:
        key, sep, value = item.partition("=")
        masked.append("%s=%s" % (key, SECRET_MASK) if key in secret_keys else item)
    if env:
        data["Config"]["Env"] = masked
    return data


def health_status(inspect):
    """'healthy', 'unhealthy', 'starting', or None when the container has no healthcheck."""
    health = ((inspect or {}).get("State") or {}).get("Health")
    return (health or {}).get("Status") or None


def has_healthcheck(desired, image):
    health = merge_healthcheck(desired["healthcheck"], _image_cfg(image).get("Healthcheck"))
    return bool(health and health["test"] and health["test"][0] != "NONE")
