# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine facts: containers (with health and, on request, limits and usage), images, networks, volumes."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import address, call

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import EngineClient

LABEL_FILTER_ACCEPTED = "KEY or KEY=VALUE with a non-empty KEY and no control characters"
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def validate_filters(params):
    """The filters name objects that can exist: a name no container can have is a typo, not an empty answer."""
    for index, name in enumerate(params.get("name") or []):
        validators.check_docker_name(name, "name[%d]" % index, "container name", min_length=1)
    for index, label in enumerate(params.get("label") or []):
        if not label or label.startswith("=") or _CONTROL_RE.search(label):
            raise ValidationError("label[%d]" % index, "%r is not a label filter" % (label,),
                                  accepted=LABEL_FILTER_ACCEPTED)
    if params.get("stack") is not None:
        validators.check_docker_name(params["stack"], "stack", "stack name", min_length=1)


_HEALTH_RE = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def health_from_status(status):
    """'Up 3 minutes (healthy)' -> 'healthy'; no healthcheck -> None."""
    match = _HEALTH_RE.search(status or "")
    if not match:
        return None
    return "starting" if match.group(1) == "health: starting" else match.group(1)


def container_summary(item):
    """One entry of the container listing in a stable, documented shape."""
    labels = item.get("Labels") or {}
    nets = ((item.get("NetworkSettings") or {}).get("Networks")) or {}
    ports = []
    for port in item.get("Ports") or []:
        text = "%s/%s" % (port.get("PrivatePort"), port.get("Type") or "tcp")
        if port.get("PublicPort"):
            text = "%s:%s:%s" % (port.get("IP") or "", port.get("PublicPort"), text)
        ports.append(text)
    return {
        "name": ((item.get("Names") or ["/"])[0]).lstrip("/"),
        "id": item.get("Id"),
        "image": item.get("Image"),
        "image_id": item.get("ImageID"),
        "command": item.get("Command"),
        "created": item.get("Created"),
        "state": item.get("State"),
        "status": item.get("Status"),
        "running": item.get("State") == "running",
        "health": health_from_status(item.get("Status")),
        "labels": labels,
        "stack": labels.get(cs.LABEL_STACK),
        "ports": sorted(set(ports)),
        "networks": dict((name, {"ip": (data or {}).get("IPAddress") or None,
                                 "mac": (data or {}).get("MacAddress") or None})
                         for name, data in nets.items()),
        "mounts": [{"type": m.get("Type"), "source": m.get("Name") or m.get("Source"),
                    "target": m.get("Destination"), "read_only": not m.get("RW", True)}
                   for m in item.get("Mounts") or []],
    }


def _cpu_percent(stats):
    cpu = stats.get("cpu_stats") or {}
    pre = stats.get("precpu_stats") or {}
    total = (cpu.get("cpu_usage") or {}).get("total_usage") or 0
    pre_total = (pre.get("cpu_usage") or {}).get("total_usage") or 0
    system = cpu.get("system_cpu_usage") or 0
    pre_system = pre.get("system_cpu_usage") or 0
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    if system > pre_system and total >= pre_total:
        return round((total - pre_total) / float(system - pre_system) * online * 100.0, 2)
    return 0.0


def usage_from_stats(stats):
    memory = stats.get("memory_stats") or {}
    mem_stats = memory.get("stats") or {}
    # like `docker stats`: page cache is not counted as used memory
    cache = mem_stats.get("inactive_file", mem_stats.get("total_inactive_file", mem_stats.get("cache", 0))) or 0
    used = max(0, (memory.get("usage") or 0) - cache)
    nets = stats.get("networks") or {}
    return {
        "cpu_percent": _cpu_percent(stats),
        "memory_bytes": used,
        "memory_limit_bytes": memory.get("limit"),
        "pids": (stats.get("pids_stats") or {}).get("current"),
        "network_rx_bytes": sum((n or {}).get("rx_bytes", 0) for n in nets.values()),
        "network_tx_bytes": sum((n or {}).get("tx_bytes", 0) for n in nets.values()),
    }


def limits_from_inspect(data):
    hc = data.get("HostConfig") or {}
    state = data.get("State") or {}
    return {
        "memory_limit_bytes": hc.get("Memory") or None,
        "cpus": (hc.get("NanoCpus") or 0) / 1e9 or None,
        "pids_limit": hc.get("PidsLimit") if hc.get("PidsLimit") and hc.get("PidsLimit") > 0 else None,
        "restart_policy": ((hc.get("RestartPolicy") or {}).get("Name")) or "no",
        "restart_count": data.get("RestartCount"),
        "started_at": state.get("StartedAt"),
        "exit_code": state.get("ExitCode"),
        "oom_killed": state.get("OOMKilled"),
    }


class InfoCollector:
    def __init__(self, client: EngineClient, max_workers: int = 8) -> None:
        self.client = client
        self.api = client.api
        self.max_workers = max_workers

    def _stats(self, cid):
        def one_sample():
            try:
                return self.api.stats(cid, stream=False, one_shot=True)
            except TypeError:  # SDK < 6 has no one_shot
                return self.api.stats(cid, stream=False)
        return call(self.client, "reading stats of %s" % cid[:12], one_sample, if_missing=None)

    def containers(self, params):
        filters = {}
        if params.get("name"):
            filters["name"] = list(params["name"])
        labels = list(params.get("label") or [])
        if params.get("stack"):
            labels.append("%s=%s" % (cs.LABEL_STACK, params["stack"]))
        if labels:
            filters["label"] = labels
        listing = call(self.client, "listing containers", self.api.containers, all=params.get("all", True),
                       filters=filters or None)
        result = [container_summary(item) for item in listing]
        if params.get("name"):
            # the engine's name filter is a substring match; keep exact names only
            wanted = set(params["name"])
            result = [c for c in result if c["name"] in wanted]
        result.sort(key=lambda c: c["name"])

        def details(entry):
            if params.get("details"):
                data = call(self.client, "inspecting %s" % entry["name"], self.api.inspect_container, entry["id"],
                            if_missing=None)
                if data is not None:
                    entry["limits"] = limits_from_inspect(data)
            if params.get("stats") and entry["running"]:
                stats = self._stats(entry["id"])
                entry["usage"] = usage_from_stats(stats) if stats else None
            return entry

        if params.get("details") or params.get("stats"):
            with ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(result) or 1))) as pool:
                result = list(pool.map(details, result))
        return result

    def images(self):
        listing = call(self.client, "listing images", self.api.images)
        return sorted(({"id": img.get("Id"), "tags": img.get("RepoTags") or [], "size": img.get("Size"),
                        "created": img.get("Created"), "labels": img.get("Labels") or {}}
                       for img in listing), key=lambda i: (i["tags"] or [""])[0])

    def networks(self):
        listing = call(self.client, "listing networks", self.api.networks)
        result = []
        for net in listing:
            configs = ((net.get("IPAM") or {}).get("Config")) or []
            result.append({"name": net.get("Name"), "id": net.get("Id"), "driver": net.get("Driver"),
                           "internal": bool(net.get("Internal")), "labels": net.get("Labels") or {},
                           "subnets": [c.get("Subnet") for c in configs if c.get("Subnet")]})
        return sorted(result, key=lambda n: n["name"])

    def volumes(self):
        listing = call(self.client, "listing volumes", self.api.volumes) or {}
        return sorted(({"name": v.get("Name"), "driver": v.get("Driver"), "mountpoint": v.get("Mountpoint"),
                        "labels": v.get("Labels") or {}} for v in listing.get("Volumes") or []),
                      key=lambda v: v["name"])

    def collect(self, params: dict[str, Any]) -> dict[str, Any]:
        validate_filters(params)
        version = call(self.client, "reading the engine version", self.api.version)
        result = {"engine": {"address": address(self.client), "version": version.get("Version"),
                             "api_version": version.get("ApiVersion"), "os": version.get("Os"),
                             "arch": version.get("Arch")}}
        gather = params.get("gather") or ["containers"]
        if "containers" in gather:
            result["containers"] = self.containers(params)
        if "images" in gather:
            result["images"] = self.images()
        if "networks" in gather:
            result["networks"] = self.networks()
        if "volumes" in gather:
            result["volumes"] = self.volumes()
        return result
