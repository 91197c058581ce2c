# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions: container spec <-> Docker Engine API data, normalise, compare.

Nothing here talks to an engine. The flow is::

    spec (module options)  --normalize_spec-->  desired (canonical values)
    desired + image inspect  --expected_state-->  what `docker inspect` should show
    container inspect        --actual_state-->    what it does show
    compare(desired, image, inspect) -> [Difference(option, before, after, update)]
    create_body(desired)  -> JSON body for POST /containers/create
    update_body(diffs)    -> JSON body for POST /containers/{id}/update

Every option is declared once, in ``OPTIONS``: how its desired value becomes
the value ``docker inspect`` reports (folding in the image's own defaults, the
way the daemon merges image config into a new container), how to read that
value back from inspect data, and whether a difference can be applied in place
or needs a new container. Comparison is one generic loop over that table.

The image's CMD, ENTRYPOINT, ENV, LABELs, HEALTHCHECK, USER and WORKDIR are
inherited by a container when the spec leaves them out; the expected values
start from the image's, so an inherited value is never mistaken for drift
(the false recreate seen in per-option peers).
"""

from __future__ import annotations

import copy
import posixpath
import re
import shlex

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import format_size, parse_ram_size
from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators

# update kinds
RECREATE = "recreate"
IN_PLACE = "in_place"
NETWORK = "network"

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
MOUNT_TYPES = ("bind", "volume", "tmpfs")
PORT_PROTOCOLS = ("tcp", "udp", "sctp")
SECRET_MASK = "********"

# labels the collection puts on containers it manages (never user drift)
LABEL_STACK = "hybridops.fleet.stack"
LABEL_MEMBER = "hybridops.fleet.member"
LABEL_MANAGED = "hybridops.fleet.managed"

# container options (module option names) that make up a spec
SPEC_KEYS = (
    "name", "image", "command", "entrypoint", "env", "secret_env", "labels", "ports",
    "mounts", "volumes", "restart_policy", "restart_retries", "healthcheck", "user",
    "working_dir", "hostname", "memory", "cpus", "pids_limit", "networks", "log_driver",
    "log_options", "stop_timeout",
)


# --------------------------------------------------------------------------- parsing helpers

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 10 ** 9, "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}


def parse_duration(value, option):
    """'30s', '1m30s', '500ms', 10 (seconds) -> nanoseconds (int)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(option, "%r is not a duration" % (value,), accepted="seconds as a number or a string like 30s, 1m30s, 500ms")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValidationError(option, "%r is negative" % (value,), accepted="a duration >= 0")
        return int(value * 10 ** 9)
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return int(float(text) * 10 ** 9)
    pos = 0
    total = 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_NS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValidationError(option, "%r is not a duration" % (value,), accepted="seconds as a number or a string like 30s, 1m30s, 500ms")
    return int(total)


def format_duration(nanos):
    """Nanoseconds -> compact string ('30s', '1m30s', '500ms'); 0/None -> None."""
    if not nanos:
        return None
    nanos = int(nanos)
    if nanos % 10 ** 9:
        if nanos % 10 ** 6 == 0:
            return "%dms" % (nanos // 10 ** 6)
        return "%dns" % nanos
    seconds = nanos // 10 ** 9
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts)


def _as_argv(value, option):
    """command/entrypoint: list of strings, or a string split like a shell would."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValidationError(option, "cannot split %r into arguments: %s" % (value, exc),
                                  accepted="a list of strings or a shell-like string")
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    raise ValidationError(option, "must be a list of strings or a string, got %r" % (value,))


def _str_dict(value, option):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(option, "must be a dictionary, got %r" % (value,))
    result = {}
    for key, item in value.items():
        if item is None:
            item = ""
        elif isinstance(item, bool):
            # YAML yes/true would otherwise become 'True'; say it explicitly
            raise ValidationError(option, "value of %s is a boolean; quote it to pass a string" % key,
                                  accepted="strings or numbers")
        elif not isinstance(item, (str, int, float)):
            raise ValidationError(option, "value of %s must be a string, got %r" % (key, item))
        result[str(key)] = str(item)
    return result


def parse_env_list(items):
    """['A=1', 'B'] -> {'A': '1', 'B': ''} (Docker's Config.Env form)."""
    result = {}
    for item in items or []:
        key, sep, val = item.partition("=")
        result[key] = val
    return result


# --------------------------------------------------------------------------- ports

_PORT_RE = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?"      # host ip (v4, or [v6])
    r"(?:(?P<host>(?:\d+(?:-\d+)?)?):)?"            # host port or range (may be empty)
    r"(?P<cont>\d+(?:-\d+)?)"                         # container port or range
    r"(?:/(?P<proto>[a-zA-Z]+))?$")
PORT_ACCEPTED = ("'[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]', e.g. '80', '8080:80', "
                 "'127.0.0.1:8080:80/tcp', '127.0.0.1::80', '8000-8001:80-81'; PROTO is tcp, udp or sctp")


def _port_range(text, item, option):
    low, _sep, high = text.partition("-")
    low, high = int(low), int(high or low)
    if not (1 <= low <= high <= 65535):
        raise ValidationError(option, "%r: port numbers must be 1-65535 and ranges ascending" % item,
                              accepted=PORT_ACCEPTED)
    return list(range(low, high + 1))


def parse_port(item, option="ports"):
    """One port string -> list of canonical 'ip:host:container/proto' strings."""
    if isinstance(item, int) and not isinstance(item, bool):
        item = str(item)
    if not isinstance(item, str):
        raise ValidationError(option, "%r is not a port string" % (item,), accepted=PORT_ACCEPTED)
    match = _PORT_RE.match(item.strip())
    if not match:
        raise ValidationError(option, "cannot parse %r" % item, accepted=PORT_ACCEPTED)
    ip = match.group("ip") or ""
    if ip:
        # a mistyped address must not become "every interface"
        bracketed = ip.startswith("[")
        ip = ip.strip("[]")
        try:
            validators.check_ip(ip, option, version=6 if bracketed else 4)
        except ValidationError:
            raise ValidationError(option, "%r: host IP %r is not a valid %s address" % (item, ip, "IPv6" if bracketed else "IPv4"),
                                  accepted="an IPv4 address or a bracketed IPv6 address in " + PORT_ACCEPTED)
    if ip in ("0.0.0.0", "::"):
        ip = ""
    proto = (match.group("proto") or "tcp").lower()
    if proto not in PORT_PROTOCOLS:
        raise ValidationError(option, "%r: unknown protocol %r" % (item, proto), accepted=PORT_ACCEPTED)
    cont = _port_range(match.group("cont"), item, option)
    host_text = match.group("host")
    if host_text:
        host = _port_range(host_text, item, option)
        if len(host) != len(cont):
            raise ValidationError(option, "%r: host and container port ranges differ in length" % item,
                                  accepted=PORT_ACCEPTED)
    else:
        host = [""] * len(cont)
    return ["%s:%s:%d/%s" % (ip, h, c, proto) for h, c in zip(host, cont)]


def normalize_ports(value):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ValidationError("ports", "must be a list", accepted=PORT_ACCEPTED)
    result = []
    for index, item in enumerate(value):
        result.extend(parse_port(item, "ports[%d]" % index))
    seen = {}
    for entry in result:
        ip, host, _cont, proto = port_parts(entry)
        if host:
            key = (ip, host, proto)
            if key in seen and seen[key] != entry:
                raise ValidationError("ports", "host port %s/%s is published twice (%s and %s)"
                                      % (host, key[2], seen[key], entry))
            seen[key] = entry
    return sorted(set(result))


def port_parts(entry):
    """Canonical port string -> (host_ip, host_port, container_port, proto)."""
    head, host, rest = entry.rsplit(":", 2)
    cont, proto = rest.split("/")
    return head, host, int(cont), proto


def fixed_host_ports(ports):
    return [p for p in ports if port_parts(p)[1]]


# --------------------------------------------------------------------------- mounts

def clean_path(path):
    """An absolute path the way the engine stores it ('/tmp/' -> '/tmp', '/a//b/.' -> '/a/b')."""
    text = str(path or "")
    if not text.startswith("/"):
        return text
    cleaned = posixpath.normpath(text)
    # normpath keeps a leading '//' (POSIX allows it to be special); the engine does not
    return "/" + cleaned.lstrip("/")


MOUNT_ACCEPTED = ("mounts: dicts with type (bind, volume, tmpfs), source (host path or volume name; "
                  "not for tmpfs), target (absolute path), read_only; volumes: strings "
                  "'SOURCE:/target[:ro|rw]' where an absolute SOURCE is a bind mount, otherwise a named volume")


def _mount(mtype, source, target, read_only, option):
    if mtype not in MOUNT_TYPES:
        raise ValidationError(option, "unknown mount type %r" % (mtype,), accepted=", ".join(MOUNT_TYPES))
    if not target or not str(target).startswith("/"):
        raise ValidationError(option, "target %r must be an absolute path" % (target,), accepted=MOUNT_ACCEPTED)
    if mtype == "tmpfs":
        if source:
            raise ValidationError(option, "a tmpfs mount takes no source (target %s)" % target)
        source = ""
    elif not source:
        raise ValidationError(option, "a %s mount needs a source (target %s)" % (mtype, target), accepted=MOUNT_ACCEPTED)
    elif mtype == "bind" and not str(source).startswith("/"):
        raise ValidationError(option, "bind mount source %r must be an absolute host path" % (source,),
                              accepted=MOUNT_ACCEPTED)
    source = clean_path(source) if mtype == "bind" else str(source)
    return {"type": mtype, "source": source, "target": clean_path(target), "read_only": bool(read_only)}


def normalize_mounts(mounts, volumes):
    result = []
    for item in mounts or []:
        if not isinstance(item, dict):
            raise ValidationError("mounts", "each item must be a dictionary, got %r" % (item,), accepted=MOUNT_ACCEPTED)
        unknown = set(item) - {"type", "source", "target", "read_only"}
        if unknown:
            raise ValidationError("mounts", "unknown keys %s" % ", ".join(sorted(unknown)), accepted=MOUNT_ACCEPTED)
        result.append(_mount(item.get("type") or "volume", item.get("source"), item.get("target"),
                             item.get("read_only"), "mounts"))
    for item in volumes or []:
        if not isinstance(item, str):
            raise ValidationError("volumes", "each item must be a string, got %r" % (item,), accepted=MOUNT_ACCEPTED)
        parts = item.split(":")
        if len(parts) == 2:
            parts.append("rw")
        if len(parts) != 3 or parts[2] not in ("ro", "rw"):
            raise ValidationError("volumes", "cannot parse %r" % item, accepted=MOUNT_ACCEPTED)
        source, target, mode = parts
        mtype = "bind" if source.startswith("/") else "volume"
        result.append(_mount(mtype, source, target, mode == "ro", "volumes"))
    targets = {}
    for mount in result:
        if mount["target"] in targets:
            raise ValidationError("mounts", "target %s is mounted twice (mounts and volumes together "
                                  "must name each target once)" % mount["target"])
        targets[mount["target"]] = mount
    return sorted(result, key=lambda m: m["target"])


# --------------------------------------------------------------------------- healthcheck

HEALTH_KEYS = ("test", "interval", "timeout", "retries", "start_period")
HEALTH_ACCEPTED = ("a dict with test (list or shell string; ['NONE'] disables), interval, timeout, "
                   "start_period (durations like 10s), retries (int), or disable: true")


def normalize_healthcheck(value):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError("healthcheck", "must be a dictionary", accepted=HEALTH_ACCEPTED)
    unknown = set(value) - set(HEALTH_KEYS) - {"disable"}
    if unknown:
        raise ValidationError("healthcheck", "unknown keys %s" % ", ".join(sorted(unknown)), accepted=HEALTH_ACCEPTED)
    if value.get("disable"):
        if value.get("test"):
            raise ValidationError("healthcheck", "disable and test are mutually exclusive", accepted=HEALTH_ACCEPTED)
        return {"test": ["NONE"], "interval": 0, "timeout": 0, "retries": 0, "start_period": 0}
    test = value.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    elif isinstance(test, (list, tuple)):
        test = [str(t) for t in test]
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            test = ["CMD"] + test
    elif test is not None:
        raise ValidationError("healthcheck", "test must be a list or a string", accepted=HEALTH_ACCEPTED)
    retries = value.get("retries")
    if retries is not None:
        try:
            retries = int(retries)
        except (TypeError, ValueError):
            raise ValidationError("healthcheck", "retries must be an integer, got %r" % (retries,))
        if retries < 0:
            raise ValidationError("healthcheck", "retries must be >= 0")
    return {
        "test": test or [],
        "interval": parse_duration(value.get("interval"), "healthcheck.interval") or 0,
        "timeout": parse_duration(value.get("timeout"), "healthcheck.timeout") or 0,
        "retries": retries or 0,
        "start_period": parse_duration(value.get("start_period"), "healthcheck.start_period") or 0,
    }


def _health_from_api(data):
    if not data:
        return None
    return {
        "test": list(data.get("Test") or []),
        "interval": int(data.get("Interval") or 0),
        "timeout": int(data.get("Timeout") or 0),
        "retries": int(data.get("Retries") or 0),
        "start_period": int(data.get("StartPeriod") or 0),
    }


def merge_healthcheck(desired, image_health):
    """What the daemon stores: the spec's healthcheck with zero fields taken from the image's."""
    image_health = _health_from_api(image_health)
    if desired is None:
        return image_health
    if image_health is None:
        return dict(desired)
    merged = dict(desired)
    if not merged["test"]:
        merged["test"] = image_health["test"]
    for key in ("interval", "timeout", "retries", "start_period"):
        if not merged[key]:
            merged[key] = image_health[key]
    return merged


def _expected_health(d, img):
    # a spec without healthcheck means the image's (or none): {} stands for "no healthcheck",
    # so a healthcheck dropped from the spec is drift instead of being left on the container
    return merge_healthcheck(d["healthcheck"], _image_cfg(img).get("Healthcheck")) or {}


def health_view(health):
    """Healthcheck in option form (durations as strings) for diffs."""
    if not health:
        return None
    result = {"test": health["test"]}
    for key in ("interval", "timeout", "start_period"):
        if health.get(key):
            result[key] = format_duration(health[key])
    if health.get("retries"):
        result["retries"] = health["retries"]
    return result


# --------------------------------------------------------------------------- networks

NO_NETWORK = "none"
# network modes that replace the container's network stack: moving into or out of them needs a new container
STACK_MODES = ("host", NO_NETWORK)


def normalize_networks(value):
    """Network list -> canonical form; [] means no network at all (the engine's ``none`` mode)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and not value:
        # a container left with no endpoint in the default mode is put back on the
        # default bridge at its next start; `none` is the engine's stable form of it
        value = [NO_NETWORK]
    if not isinstance(value, (list, tuple)):
        raise ValidationError("networks", "must be a list of network names or dicts with name, aliases, ipv4_address")
    result = []
    seen = set()
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not item.get("name"):
            raise ValidationError("networks", "each item needs a name, got %r" % (item,),
                                  accepted="a network name or a dict with name, aliases, ipv4_address")
        unknown = set(item) - {"name", "aliases", "ipv4_address"}
        if unknown:
            raise ValidationError("networks", "unknown keys %s" % ", ".join(sorted(unknown)),
                                  accepted="name, aliases, ipv4_address")
        if item["name"] in seen:
            raise ValidationError("networks", "network %s is listed twice" % item["name"])
        seen.add(item["name"])
        if item["name"] in STACK_MODES and len(value) > 1:
            raise ValidationError("networks", "network %s cannot be combined with other networks" % item["name"])
        result.append({"name": str(item["name"]),
                       "aliases": sorted(set(str(a) for a in item.get("aliases") or [])),
                       "ipv4_address": item.get("ipv4_address") or None})
    return result


def _networks_actual(inspect):
    nets = ((inspect.get("NetworkSettings") or {}).get("Networks")) or {}
    mode = (inspect.get("HostConfig") or {}).get("NetworkMode")
    if not nets and mode in ("host", "none"):
        return [{"name": mode, "aliases": [], "ipv4_address": None}]
    result = []
    for name, data in sorted(nets.items()):
        data = data or {}
        ipam = data.get("IPAMConfig") or {}
        result.append({"name": name, "aliases": sorted(data.get("Aliases") or []),
                       "ipv4_address": ipam.get("IPv4Address") or None})
    return result


def network_mode(nets):
    """'host', 'none' or 'bridge' (any ordinary network): which network stack a network list means."""
    if nets and nets[0]["name"] in STACK_MODES:
        return nets[0]["name"]
    return "bridge"


def networks_in_place(expected, actual):
    """Networks can be connected/disconnected in place unless the network stack itself changes."""
    return network_mode(expected) == network_mode(actual)


def networks_match(expected, actual):
    """Same network names; declared aliases present (the engine adds the container ID), same fixed IPs."""
    if expected is None:
        return True
    act = dict((n["name"], n) for n in actual)
    if set(act) != set(n["name"] for n in expected):
        return False
    for net in expected:
        have = act[net["name"]]
        if not set(net["aliases"]) <= set(have["aliases"]):
            return False
        if net["ipv4_address"] and net["ipv4_address"] != have["ipv4_address"]:
            return False
    return True


# --------------------------------------------------------------------------- normalise a spec

def normalize_spec(spec, require_image=True):
    """Module options -> canonical desired spec. Raises ValidationError naming the option."""
    spec = dict(spec)
    name = validators.check_docker_name(spec.get("name"), "name", "container name")
    image = spec.get("image")
    if require_image and not image:
        raise ValidationError("image", "is required unless state=absent")
    env = _str_dict(spec.get("env"), "env") or {}
    secret_env = _str_dict(spec.get("secret_env"), "secret_env") or {}
    for option, values in (("env", env), ("secret_env", secret_env)):
        for key in values:
            validators.check_env_key(key, option)
    both = set(env) & set(secret_env)
    if both:
        raise ValidationError("secret_env", "keys %s are also in env; give each variable once" % ", ".join(sorted(both)))
    merged_env = dict(env)
    merged_env.update(secret_env)
    labels = _str_dict(spec.get("labels"), "labels") or {}
    restart = spec.get("restart_policy") or "no"
    if restart not in RESTART_POLICIES:
        raise ValidationError("restart_policy", "unknown policy %r" % (restart,), accepted=", ".join(RESTART_POLICIES))
    retries = spec.get("restart_retries")
    if retries and restart != "on-failure":
        # 0 (the engine's own value for every other policy) is accepted with any policy
        raise ValidationError("restart_retries", "only applies to restart_policy=on-failure (got %s)" % restart)
    if retries is not None:
        retries = validators.check_int(retries, "restart_retries", minimum=0)
    memory = spec.get("memory")
    if memory is not None:
        try:
            memory = parse_ram_size(memory)
        except ValueError as exc:
            raise ValidationError("memory", str(exc))
    working_dir = spec.get("working_dir")
    if working_dir is not None and not str(working_dir).startswith("/"):
        raise ValidationError("working_dir", "%r is not an absolute path" % (working_dir,),
                              accepted="an absolute path in the container, e.g. /srv/app")
    cpus = spec.get("cpus")
    if cpus is not None:
        try:
            cpus = float(cpus)
        except (TypeError, ValueError):
            raise ValidationError("cpus", "%r is not a number" % (cpus,), accepted="a number of CPUs like 0.5 or 2")
        if cpus <= 0:
            raise ValidationError("cpus", "must be > 0", accepted="a number of CPUs like 0.5 or 2")
    pids = spec.get("pids_limit")
    if pids is not None:
        # 0 and -1 are Docker's own spellings of "unlimited"; anything below is a typo
        pids = validators.check_int(pids, "pids_limit", minimum=-1,
                                    accepted="a positive number of processes, or 0 or -1 for unlimited")
    hostname = spec.get("hostname")
    if hostname is not None:
        validators.check_hostname(hostname, "hostname")
    log_options = _str_dict(spec.get("log_options"), "log_options")
    if log_options and not spec.get("log_driver"):
        raise ValidationError("log_options", "needs log_driver (options are specific to a driver)")
    networks = normalize_networks(spec.get("networks"))
    ports = normalize_ports(spec.get("ports"))
    if ports and networks and networks[0]["name"] in ("host", "none"):
        raise ValidationError("ports", "cannot publish ports with network %s" % networks[0]["name"])
    stop_timeout = spec.get("stop_timeout")
    if stop_timeout is not None:
        stop_timeout = validators.check_int(stop_timeout, "stop_timeout", minimum=0)
    return {
        "name": str(name).lstrip("/"),
        "image": image,
        "command": _as_argv(spec.get("command"), "command"),
        "entrypoint": _as_argv(spec.get("entrypoint"), "entrypoint"),
        "env": merged_env,
        "secret_keys": sorted(secret_env),
        "labels": labels,
        "ports": ports,
        "mounts": normalize_mounts(spec.get("mounts"), spec.get("volumes")),
        "restart_policy": restart,
        "restart_retries": int(retries or 0),
        "healthcheck": normalize_healthcheck(spec.get("healthcheck")),
        "user": spec.get("user"),
        "working_dir": None if working_dir is None else clean_path(working_dir),
        "hostname": spec.get("hostname"),
        "memory": memory or 0,
        "nano_cpus": int(round(cpus * 10 ** 9)) if cpus else 0,
        "pids_limit": pids if pids and pids > 0 else 0,
        "networks": networks,
        "log_driver": spec.get("log_driver"),
        "log_options": log_options or {},
        "stop_timeout": None if stop_timeout is None else int(stop_timeout),
    }


# --------------------------------------------------------------------------- the option table
#
# expected(desired, image_config) -> value the inspect data should show
#    (None means "not managed by this spec": never compared)
# actual(inspect) -> value read from container inspect data
# apply(value, body) -> put the desired value into a create body
# view(value, image_config) -> what the diff shows (option form, secrets masked)


def _cfg(inspect):
    return inspect.get("Config") or {}


def _hc(inspect):
    return inspect.get("HostConfig") or {}


def _image_cfg(image):
    return (image or {}).get("Config") or {}


def _expected_entrypoint(d, img):
    # [] is an explicit value: it clears the image's ENTRYPOINT
    if d["entrypoint"] is not None:
        return d["entrypoint"]
    return list(_image_cfg(img).get("Entrypoint") or [])


def _expected_command(d, img):
    # the daemon inherits the image's CMD only when neither cmd nor entrypoint is given
    if d["command"]:
        return d["command"]
    if d["entrypoint"]:
        return []
    return list(_image_cfg(img).get("Cmd") or [])


def _expected_env(d, img):
    env = parse_env_list(_image_cfg(img).get("Env"))
    env.update(d["env"])
    return env


def _env_view(env, img, secret_keys):
    if env is None:
        return None
    image_env = parse_env_list(_image_cfg(img).get("Env"))
    result = {}
    for key, value in sorted(env.items()):
        if image_env.get(key) == value and key not in secret_keys:
            continue
        result[key] = SECRET_MASK if key in secret_keys else value
    return result


def _expected_labels(d, img):
    labels = dict(_image_cfg(img).get("Labels") or {})
    labels.update(d["labels"])
    return labels


def _labels_view(labels, img):
    if labels is None:
        return None
    image_labels = _image_cfg(img).get("Labels") or {}
    return dict((k, v) for k, v in sorted(labels.items()) if image_labels.get(k) != v)


def _ports_actual(inspect):
    bindings = _hc(inspect).get("PortBindings") or {}
    result = set()
    for key, hosts in bindings.items():
        cont, _sep, proto = key.partition("/")
        for host in hosts or [{}]:
            ip = (host or {}).get("HostIp") or ""
            if ip in ("0.0.0.0", "::"):
                ip = ""
            result.add("%s:%s:%s/%s" % (ip, (host or {}).get("HostPort") or "", cont, proto or "tcp"))
    return sorted(result)


def _ports_apply(ports, body):
    if not ports:
        return
    exposed = body.setdefault("ExposedPorts", {})
    bindings = body["HostConfig"].setdefault("PortBindings", {})
    for entry in ports:
        ip, host, cont, proto = port_parts(entry)
        key = "%d/%s" % (cont, proto)
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host})


def _port_view(ports):
    result = []
    for entry in ports or []:
        ip, host, cont, proto = port_parts(entry)
        text = "%d/%s" % (cont, proto)
        if host or ip:
            text = "%s:%s" % (host, text)
        if ip:
            text = "%s:%s" % ("[%s]" % ip if ":" in ip else ip, text)
        result.append(text)
    return result


def _mounts_actual(inspect):
    hc = _hc(inspect)
    result = []
    for mount in hc.get("Mounts") or []:
        mtype = mount.get("Type") or "volume"
        source = mount.get("Source") or ""
        result.append({"type": mtype, "source": clean_path(source) if mtype == "bind" else source,
                       "target": clean_path(mount.get("Target")),
                       "read_only": bool(mount.get("ReadOnly"))})
    for bind in hc.get("Binds") or []:
        parts = bind.split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        opts = parts[2].split(",") if len(parts) > 2 else []
        result.append({"type": "bind" if source.startswith("/") else "volume", "source": clean_path(source),
                       "target": clean_path(target), "read_only": "ro" in opts})
    for target in sorted(hc.get("Tmpfs") or {}):
        result.append({"type": "tmpfs", "source": "", "target": clean_path(target), "read_only": False})
    return sorted(result, key=lambda m: m["target"])


def _mounts_apply(mounts, body):
    if not mounts:
        return
    body["HostConfig"]["Mounts"] = [
        dict([("Type", m["type"]), ("Target", m["target"]), ("ReadOnly", m["read_only"])]
             + ([("Source", m["source"])] if m["type"] != "tmpfs" else []))
        for m in mounts]


def _restart_actual(inspect):
    policy = _hc(inspect).get("RestartPolicy") or {}
    return policy.get("Name") or "no"


def _restart_retries_actual(inspect):
    policy = _hc(inspect).get("RestartPolicy") or {}
    if (policy.get("Name") or "no") != "on-failure":
        return 0
    return int(policy.get("MaximumRetryCount") or 0)


def restart_policy_body(d):
    # "no", never "": the update endpoint reads an empty name as "leave the policy alone"
    return {"Name": d["restart_policy"], "MaximumRetryCount": d["restart_retries"]}


def _restart_apply(d, body):
    body["HostConfig"]["RestartPolicy"] = restart_policy_body(d)


def _pids_actual(inspect):
    value = _hc(inspect).get("PidsLimit")
    return value if value and value > 0 else 0


def _networks_apply(nets, body):
    if not nets:
        return
    first = nets[0]
    body["HostConfig"]["NetworkMode"] = first["name"]
    if first["name"] in ("host", "none"):
        return
    endpoint = {}
    if first["aliases"]:
        endpoint["Aliases"] = list(first["aliases"])
    if first["ipv4_address"]:
        endpoint["IPAMConfig"] = {"IPv4Address": first["ipv4_address"]}
    body["NetworkingConfig"] = {"EndpointsConfig": {first["name"]: endpoint}}


def _net_view(nets, desired=None):
    """Option form of a network list; only the declared aliases are shown (the engine adds its own)."""
    if nets is None:
        return None
    declared = dict((n["name"], set(n["aliases"])) for n in (desired or {}).get("networks") or [])
    result = []
    for net in nets:
        item = {"name": net["name"]}
        aliases = [a for a in net["aliases"] if a in declared.get(net["name"], ())]
        if aliases:
            item["aliases"] = aliases
        if net["ipv4_address"]:
            item["ipv4_address"] = net["ipv4_address"]
        result.append(item)
    return result


def _set_cfg(key, transform=None):
    def apply(value, body):
        if value is None:
            return
        body[key] = transform(value) if transform else value
    return apply


def _set_hc(key, transform=None):
    def apply(value, body):
        if value is None:
            return
        body["HostConfig"][key] = transform(value) if transform else value
    return apply


def _health_apply(value, body):
    if value is None:
        return
    body["Healthcheck"] = {"Test": value["test"], "Interval": value["interval"], "Timeout": value["timeout"],
                           "Retries": value["retries"], "StartPeriod": value["start_period"]}


def _identity_view(value, img=None):
    return value


def _log_options_match(expected, actual):
    # the engine merges the daemon's default log-opts (daemon.json) into LogConfig: keys the spec
    # does not give are not drift
    return all(actual.get(key) == value for key, value in expected.items())


def _log_options_view(value, img, d):
    if value is None:
        return None
    return dict((k, v) for k, v in sorted(value.items()) if k in (d["log_options"] or {}))


class Option(object):
    """One option family: desired -> expected inspect value, inspect -> actual, create body, update."""

    def __init__(self, name, expected, actual, apply, update=RECREATE, view=None, match=None, in_place_when=None):
        self.name = name
        self.expected = expected
        self.actual = actual
        self.apply = apply
        self.update = update
        self.view = view or (lambda value, img, d: value)
        self.match = match or (lambda exp, act: exp == act)
        # in_place_when(desired, expected, actual): False turns an in-place difference into a recreate
        self.in_place_when = in_place_when or (lambda d, exp, act: True)


OPTIONS = [
    Option("entrypoint", _expected_entrypoint, lambda i: list(_cfg(i).get("Entrypoint") or []),
           lambda v, b: b.__setitem__("Entrypoint", v) if v is not None else None),
    Option("command", _expected_command, lambda i: list(_cfg(i).get("Cmd") or []),
           lambda v, b: b.__setitem__("Cmd", v) if v else None),
    Option("env", _expected_env, lambda i: parse_env_list(_cfg(i).get("Env")),
           lambda v, b: b.__setitem__("Env", ["%s=%s" % kv for kv in sorted(v.items())]) if v else None,
           view=lambda v, img, d: _env_view(v, img, d["secret_keys"])),
    Option("labels", _expected_labels, lambda i: dict(_cfg(i).get("Labels") or {}),
           _set_cfg("Labels"), view=lambda v, img, d: _labels_view(v, img)),
    Option("ports", lambda d, img: d["ports"], _ports_actual, _ports_apply,
           view=lambda v, img, d: _port_view(v)),
    Option("mounts", lambda d, img: d["mounts"], _mounts_actual, _mounts_apply),
    Option("restart_policy", lambda d, img: d["restart_policy"], _restart_actual, lambda v, b: None,
           update=IN_PLACE),
    Option("restart_retries", lambda d, img: d["restart_retries"], _restart_retries_actual, lambda v, b: None,
           update=IN_PLACE),
    Option("healthcheck", _expected_health, lambda i: _health_from_api(_cfg(i).get("Healthcheck")) or {},
           _health_apply,
           view=lambda v, img, d: health_view(v)),
    Option("user", lambda d, img: d["user"] if d["user"] is not None else (_image_cfg(img).get("User") or ""),
           lambda i: _cfg(i).get("User") or "", _set_cfg("User")),
    Option("working_dir", lambda d, img: (d["working_dir"] if d["working_dir"] is not None
                                          else clean_path(_image_cfg(img).get("WorkingDir") or "")),
           lambda i: clean_path(_cfg(i).get("WorkingDir") or ""), _set_cfg("WorkingDir")),
    Option("hostname", lambda d, img: d["hostname"], lambda i: _cfg(i).get("Hostname") or "", _set_cfg("Hostname")),
    Option("memory", lambda d, img: d["memory"], lambda i: int(_hc(i).get("Memory") or 0),
           _set_hc("Memory"), update=IN_PLACE, in_place_when=lambda d, exp, act: d["memory"] > 0,
           view=lambda v, img, d: format_size(v) if v else None),
    Option("cpus", lambda d, img: d["nano_cpus"], lambda i: int(_hc(i).get("NanoCpus") or 0),
           _set_hc("NanoCpus"), update=IN_PLACE, in_place_when=lambda d, exp, act: d["nano_cpus"] > 0,
           view=lambda v, img, d: (v / 1e9) if v else None),
    Option("pids_limit", lambda d, img: d["pids_limit"], _pids_actual, _set_hc("PidsLimit"),
           update=IN_PLACE, view=lambda v, img, d: v or None),
    Option("log_driver", lambda d, img: d["log_driver"],
           lambda i: (_hc(i).get("LogConfig") or {}).get("Type") or "", lambda v, b: None),
    Option("log_options", lambda d, img: d["log_options"] if d["log_driver"] else None,
           lambda i: dict((_hc(i).get("LogConfig") or {}).get("Config") or {}), lambda v, b: None,
           match=_log_options_match, view=_log_options_view),
    Option("networks", lambda d, img: d["networks"], _networks_actual, _networks_apply, update=NETWORK,
           view=lambda v, img, d: _net_view(v, d), match=networks_match,
           in_place_when=lambda d, exp, act: networks_in_place(exp, act)),
    Option("stop_timeout", lambda d, img: d["stop_timeout"], lambda i: _cfg(i).get("StopTimeout"),
           _set_cfg("StopTimeout")),
]
OPTION_NAMES = [opt.name for opt in OPTIONS]


class Difference(object):
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
    """
    diffs = []
    image_id = (image or {}).get("Id")
    if image_id != image_id_of_container(inspect):
        diffs.append(Difference("image", inspect.get("Image"), image_id or desired["image"], RECREATE))
    # without the image the container was made from, defaults come from the desired image
    for opt in OPTIONS:
        expected = opt.expected(desired, image)
        if expected is None:
            continue
        actual = opt.actual(inspect)
        if opt.match(expected, actual):
            continue
        update = opt.update
        if update != RECREATE and not opt.in_place_when(desired, expected, actual):
            update = RECREATE
        diffs.append(Difference(opt.name, opt.view(actual, image, desired), opt.view(expected, image, desired), update))
    return diffs


def needs_recreate(diffs):
    return any(d.update == RECREATE for d in diffs)


def create_body(desired, image_ref=None, extra_labels=None):
    """JSON body for POST /containers/create (Engine API >= 1.25)."""
    body = {"Image": image_ref or desired["image"], "HostConfig": {}}
    d = dict(desired)
    if extra_labels:
        d["labels"] = dict(d["labels"], **extra_labels)
    values = {
        "entrypoint": d["entrypoint"], "command": d["command"], "env": d["env"], "labels": d["labels"],
        "ports": d["ports"], "mounts": d["mounts"], "healthcheck": d["healthcheck"], "user": d["user"],
        "working_dir": d["working_dir"], "hostname": d["hostname"], "memory": d["memory"] or None,
        "cpus": d["nano_cpus"] or None, "pids_limit": d["pids_limit"] or None, "networks": d["networks"],
        "stop_timeout": d["stop_timeout"],
    }
    for opt in OPTIONS:
        if opt.name in values:
            opt.apply(values[opt.name], body)
    _restart_apply(d, body)
    if d["log_driver"]:
        body["HostConfig"]["LogConfig"] = {"Type": d["log_driver"], "Config": d["log_options"] or {}}
    return body


def update_body(desired, diffs):
    """JSON body for POST /containers/{id}/update covering the in-place differences."""
    body = {}
    names = set(d.option for d in diffs if d.update == IN_PLACE)
    if names & {"restart_policy", "restart_retries"}:
        body["RestartPolicy"] = restart_policy_body(desired)
    if "memory" in names:
        body["Memory"] = desired["memory"]
        # the daemon defaults swap to twice the memory at create time; keep that shape
        body["MemorySwap"] = desired["memory"] * 2
    if "cpus" in names:
        body["NanoCpus"] = desired["nano_cpus"]
    if "pids_limit" in names:
        body["PidsLimit"] = desired["pids_limit"] or -1
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
    for opt in OPTIONS:
        expected = opt.expected(desired, image)
        if expected is None:
            continue
        value = expected if inspect is None else opt.actual(inspect)
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
