# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Collected facts -> the fleet report model (schema ``hybridops.fleet/report/v1``, see docs/report.md).

Inputs are what the info modules return: hypervisor facts (``libvirt_vm_info``'s
``host``), VM facts (``libvirt_vm_info``'s ``vms``) and, per VM, what was
gathered inside it (``container_info`` with details and stats, /proc/meminfo,
nproc, /proc/loadavg, ``vm_discover``). The model is plain data, sorted
everywhere, with no timestamps, so that the same facts give the same bytes.
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._report.consolidate import consolidate
from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num
from ansible_collections.hybridops.fleet.plugins.module_utils._report.plan import build_plan

SCHEMA = "hybridops.fleet/report/v1"
MIB = 1024 * 1024
# keys of a proposed container spec that are never copied into the report
SPEC_SECRET_KEYS = ("env", "secret_env", "environment", "env_file")


def _num(value, option, what, kind=int, allow_none=True):
    if value is None or value == "":
        if allow_none:
            return None
        raise ValidationError(option, "%s is missing" % what, accepted="a number")
    if isinstance(value, bool):
        raise ValidationError(option, "%s is a boolean" % what, accepted="a number")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValidationError(option, "%s is %r" % (what, value), accepted="a number")


def _round(value, digits=1):
    return None if value is None else round(float(value), digits)


def _pct(part, whole):
    if part is None or not whole:
        return None
    return round(100.0 * part / whole, 1)


def parse_meminfo(text):
    """/proc/meminfo text -> {field: kB} (values without a unit are kept as numbers too)."""
    fields = {}
    for line in (text or "").splitlines():
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or not parts:
            continue
        try:
            fields[key.strip()] = int(parts[0])
        except ValueError:
            continue
    return fields


def meminfo_summary(text):
    """{total_mib, available_mib, used_mib, used_percent} from /proc/meminfo, or None.

    Used is MemTotal - MemAvailable (what `free` calls used plus the part of the
    cache the kernel cannot give back). Kernels older than 3.14 have no
    MemAvailable: MemFree + Buffers + Cached stands in for it.
    """
    fields = parse_meminfo(text)
    total = fields.get("MemTotal")
    if not total:
        return None
    available = fields.get("MemAvailable")
    if available is None:
        available = fields.get("MemFree", 0) + fields.get("Buffers", 0) + fields.get("Cached", 0)
    available = min(max(available, 0), total)
    used = total - available
    return {
        "total_mib": _round(total / 1024.0),
        "available_mib": _round(available / 1024.0),
        "used_mib": _round(used / 1024.0),
        "used_percent": _pct(used, total),
    }


def parse_loadavg(text):
    """'0.52 0.31 0.20 1/123 456' -> [0.52, 0.31, 0.2], or None."""
    parts = (text or "").split()
    try:
        return [float(p) for p in parts[:3]] if len(parts) >= 3 else None
    except ValueError:
        return None


def _mib(value):
    return None if value is None else _round(float(value) / MIB)


def published_ports(ports):
    """container_info port texts -> the host ports they publish: '0.0.0.0:8080:80/tcp' -> '8080/tcp'."""
    result = set()
    for text in ports or []:
        parts = str(text).split(":")
        if len(parts) >= 3 and parts[-2]:  # [host ip (may hold ':'), public port, private/proto]
            result.add("%s/%s" % (parts[-2], parts[-1].split("/", 1)[1] if "/" in parts[-1] else "tcp"))
    return sorted(result)


# the labels hybridops.fleet.container_rollout puts on a service's containers (its _docker/rollout.py; a unit test
# keeps the two in step, so that a report run needs none of the container layer)
ROLLOUT_LABEL = "hybridops.fleet.rollout"
ROLLOUT_SLOT_LABEL = "hybridops.fleet.rollout.slot"
ROLLOUT_IMAGE_LABEL = "hybridops.fleet.rollout.image"


def rollout_of(labels):
    """{service, image (as rolled out), slot} of a container_rollout container, from its labels; else None."""
    labels = labels or {}
    if not labels.get(ROLLOUT_LABEL):
        return None
    return {"service": str(labels[ROLLOUT_LABEL]), "image": labels.get(ROLLOUT_IMAGE_LABEL),
            "slot": labels.get(ROLLOUT_SLOT_LABEL)}


def rollout_entries(vms):
    """Per service rolled out with container_rollout: which VM serves which version (running containers only),
    and the versions with their VMs; a service on several versions is mid-rollout or was stopped by a failure."""
    services = {}
    for vm in vms:
        for container in vm["containers"]:
            rollout = container.get("rollout")
            if rollout and container["running"]:
                image = rollout["image"] or container["image"]
                entry = services.setdefault(rollout["service"], {"service": rollout["service"], "vms": [], "versions": {}})
                entry["vms"].append({"vm": vm["name"], "image": image, "slot": rollout["slot"],
                                     "health": container["health"]})
                entry["versions"].setdefault(image, []).append(vm["name"])
    return [services[name] for name in sorted(services)]


def container_entry(item):
    """A container of container_info (details and stats) -> its report entry (never env)."""
    limits = item.get("limits") or {}
    usage = item.get("usage") or {}
    cpus = limits.get("cpus")
    limit_bytes = limits.get("memory_limit_bytes")
    return {
        "name": str(item.get("name") or ""),
        "image": item.get("image"),
        "state": item.get("state") or ("running" if item.get("running") else None),
        "running": bool(item.get("running", item.get("state") == "running")),
        "health": item.get("health"),
        "stack": item.get("stack"),
        "status": item.get("status"),
        "published_ports": published_ports(item.get("ports")),
        "memory_used_mib": _mib(usage.get("memory_bytes")) if usage else None,
        "memory_limit_mib": _mib(limit_bytes) if limit_bytes else None,
        "cpu_percent": _round(usage.get("cpu_percent"), 2) if usage else None,
        "cpu_limit": float(cpus) if cpus else None,
        "nano_cpus": int(round(float(cpus) * 1e9)) if cpus else None,
        "restart_count": limits.get("restart_count"),
        "oom_killed": limits.get("oom_killed"),
        "rollout": rollout_of(item.get("labels")),
    }


def _clean_spec(spec):
    if not isinstance(spec, dict):
        return None
    result = dict((k, v) for k, v in spec.items() if k not in SPEC_SECRET_KEYS)
    env = spec.get("env")
    if isinstance(env, dict) and env:
        result["env_keys"] = sorted(str(k) for k in env)
    return result


def service_entries(discovery):
    """vm_discover's services -> sorted report entries (container spec without env values)."""
    services = (discovery or {}).get("services") or {}
    if isinstance(services, list):  # tolerate a list of services
        services = dict((s.get("unit") or str(i), s) for i, s in enumerate(services) if isinstance(s, dict))
    result = []
    for key in sorted(services):
        svc = services[key] or {}
        if not isinstance(svc, dict):
            continue
        ports = sorted(set("%s/%s" % (s.get("port"), s.get("proto") or "tcp")
                           for s in svc.get("listen") or [] if isinstance(s, dict)),
                       key=lambda p: (int(p.split("/")[0]) if p.split("/")[0].isdigit() else 0, p))
        guess = svc.get("image_guess") or {}
        result.append({
            "unit": svc.get("unit") or key,
            "description": svc.get("description"),
            "active": svc.get("active"),
            "migratable": bool(svc.get("migratable")),
            "reasons": list(svc.get("reasons") or []),
            "notes": list(svc.get("notes") or []),
            "ports": ports,
            "memory_mib": _mib(svc.get("memory_bytes")),
            "image": guess.get("image") or (svc.get("container_spec") or {}).get("image"),
            "container_spec": _clean_spec(svc.get("container_spec")),
        })
    return result


def _count(value, option, minimum=0):
    """A count or size given by a fact (None or '' when unknown); checked with its path before anything runs."""
    value = _num(value, option, "the value")
    if value is not None and value < minimum:
        raise ValidationError(option, "%s is below %d" % (value, minimum), accepted="an integer >= %d" % minimum)
    return value


def _check_text(value, option, accepted):
    if value is not None and not isinstance(value, str):
        raise ValidationError(option, "%r is a %s, not text" % (value, type(value).__name__), accepted=accepted)


def _validate_guest(name, guest):
    path = "guests[%s]" % name
    if guest is None:
        return
    if not isinstance(guest, dict):
        raise ValidationError(path, "%r is not a dict" % (guest,),
                              accepted="{reachable, error, engine, containers, meminfo, nproc, loadavg, discovery}")
    _count(guest.get("nproc"), path + ".nproc", 1)
    _check_text(guest.get("meminfo"), path + ".meminfo", "the text of /proc/meminfo")
    _check_text(guest.get("loadavg"), path + ".loadavg", "the text of /proc/loadavg")
    _check_text(guest.get("error"), path + ".error", "a message or null")
    containers = guest.get("containers")
    if containers is not None and not (isinstance(containers, list) and all(isinstance(c, dict) for c in containers)):
        raise ValidationError(path + ".containers", "is not a list of dicts",
                              accepted="the containers list of hybridops.fleet.container_info")
    for key in ("engine", "discovery"):
        if guest.get(key) is not None and not isinstance(guest[key], dict):
            raise ValidationError("%s.%s" % (path, key), "is not a dict", accepted="a module's result (a dict) or null")


def _validate(params):
    """Every input checked, naming its path (``vms[web1].memory``), before the report is built or written."""
    for option in ("hypervisors", "vms"):
        value = params.get(option)
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            raise ValidationError(option, "must be a list of dicts", accepted="a list of dicts")
    for index, hv in enumerate(params["hypervisors"]):
        path = "hypervisors[%d]" % index
        if not hv.get("uri") or not isinstance(hv["uri"], str):
            raise ValidationError(path + ".uri", "is missing" if not hv.get("uri") else "%r is not a string" % (hv["uri"],),
                                  accepted="a libvirt URI, as hybridops.fleet.libvirt_vm_info returns in hosts")
        for key in ("cpus", "memory_mib"):
            _count(hv.get(key), "%s.%s" % (path, key))
    for index, vm in enumerate(params["vms"]):
        if not vm.get("name") or not isinstance(vm["name"], str):
            raise ValidationError("vms[%d].name" % index, "is missing" if not vm.get("name") else "is not a string",
                                  accepted="the vms list of hybridops.fleet.libvirt_vm_info (each with a name)")
        path = "vms[%s]" % vm["name"]
        for key in ("memory", "vcpus"):
            _count(vm.get(key), "%s.%s" % (path, key))
        if vm.get("tags") is not None and not isinstance(vm["tags"], list):
            raise ValidationError(path + ".tags", "%r is not a list" % (vm["tags"],), accepted="a list of tags")
    for index, item in enumerate(params.get("unreachable_hypervisors") or []):
        if not isinstance(item, dict) or not isinstance(item.get("uri"), str) or not item["uri"]:
            raise ValidationError("unreachable_hypervisors[%d].uri" % index, "is missing or not a string",
                                  accepted="the unreachable_hypervisors of hybridops.fleet.libvirt_vm_info (each with a uri)")
    guests = params.get("guests") or {}
    if not isinstance(guests, dict):
        raise ValidationError("guests", "must map VM names to dicts",
                              accepted="{vm name: {reachable, error, engine, containers, meminfo, nproc, loadavg, discovery}}")
    for name, guest in guests.items():
        _validate_guest(name, guest)
    headroom = params.get("headroom_percent")
    headroom = 20 if headroom is None else _num(headroom, "headroom_percent", "headroom_percent")
    if not 0 <= headroom <= 90:
        raise ValidationError("headroom_percent", "%s is out of range" % headroom, accepted="an integer from 0 to 90")
    capacity = _num(params.get("vm_capacity_mib"), "vm_capacity_mib", "vm_capacity_mib")
    if capacity is not None and capacity <= 0:
        raise ValidationError("vm_capacity_mib", "%s is not positive" % capacity, accepted="a positive integer (MiB)")
    return headroom, capacity


def _hypervisor_entry(hv):
    return {
        "uri": str(hv["uri"]),
        "hostname": hv.get("hostname"),
        "cpus": _num(hv.get("cpus"), "hypervisors", "cpus of %s" % hv["uri"]),
        "memory_mib": _num(hv.get("memory_mib"), "hypervisors", "memory_mib of %s" % hv["uri"]),
        "cpu_model": hv.get("cpu_model"),
        "libvirt_version": hv.get("libvirt_version"),
    }


def _guest_entry(guest):
    mem = meminfo_summary(guest.get("meminfo"))
    load = parse_loadavg(guest.get("loadavg"))
    nproc = _num(guest.get("nproc"), "guests", "nproc")
    return {
        "memory_total_mib": mem["total_mib"] if mem else None,
        "memory_available_mib": mem["available_mib"] if mem else None,
        "memory_used_mib": mem["used_mib"] if mem else None,
        "memory_used_percent": mem["used_percent"] if mem else None,
        "nproc": nproc,
        "load": load,
        "load_per_cpu": round(load[0] / nproc, 2) if load and nproc else None,
    }


def _sum(values, digits=1):
    values = [v for v in values if v is not None]
    return _round(sum(values), digits) if values else 0.0


def vm_entry(vm, guest, hypervisor):
    """A VM of libvirt_vm_info plus what was gathered inside it -> its report entry."""
    guest = guest if isinstance(guest, dict) else None
    inspected = bool(guest and guest.get("reachable"))
    if guest is None:
        why = "no facts gathered inside the VM" if vm.get("state") == "running" else "VM is %s" % (vm.get("state") or "unknown")
    elif not inspected:
        why = guest.get("error") or "unreachable"
    else:
        why = None
    entry = {
        "name": str(vm["name"]),
        "uri": vm.get("uri"),
        "hypervisor": hypervisor,
        "uuid": vm.get("uuid"),
        "state": vm.get("state"),
        "ip": vm.get("ip"),
        "tags": sorted(str(t) for t in vm.get("tags") or []),
        "managed": vm.get("managed"),
        "memory_mib": _num(vm.get("memory"), "vms", "memory of %s" % vm["name"]),
        "vcpus": _num(vm.get("vcpus"), "vms", "vcpus of %s" % vm["name"]),
        "inspected": inspected,
        "not_inspected_reason": why,
        "inspection_error": None,
        "guest": None,
        "engine": None,
        "containers": [],
        "container_count": 0,
        "running_container_count": 0,
        "container_memory_used_mib": 0.0,
        "container_memory_limit_mib": 0.0,
        "services": [],
    }
    if not inspected:
        return entry
    entry["guest"] = _guest_entry(guest)
    entry["inspection_error"] = guest.get("error") or None
    engine = guest.get("engine")
    if isinstance(engine, dict):
        entry["engine"] = {"version": engine.get("version"), "api_version": engine.get("api_version"),
                           "os": engine.get("os"), "arch": engine.get("arch")}
    containers = [container_entry(c) for c in guest.get("containers") or [] if isinstance(c, dict)]
    containers.sort(key=lambda c: c["name"])
    entry["containers"] = containers
    entry["container_count"] = len(containers)
    entry["running_container_count"] = sum(1 for c in containers if c["running"])
    entry["container_memory_used_mib"] = _sum(c["memory_used_mib"] for c in containers)
    entry["container_memory_limit_mib"] = _sum(c["memory_limit_mib"] for c in containers)
    entry["services"] = service_entries(guest.get("discovery"))
    return entry


def _hypervisor_summary(hv, vms):
    running = [v for v in vms if v["state"] == "running"]
    alloc_mem = sum(v["memory_mib"] or 0 for v in running)
    alloc_cpu = sum(v["vcpus"] or 0 for v in running)
    result = dict(hv)
    result.update({
        "vms": [v["name"] for v in vms],
        "vm_count": len(vms),
        "running_vm_count": len(running),
        "memory_allocated_mib": alloc_mem,
        "vcpus_allocated": alloc_cpu,
        "memory_defined_mib": sum(v["memory_mib"] or 0 for v in vms),
        "vcpus_defined": sum(v["vcpus"] or 0 for v in vms),
        "memory_allocated_percent": _pct(alloc_mem, hv["memory_mib"]),
        "vcpus_allocated_percent": _pct(alloc_cpu, hv["cpus"]),
    })
    return result


def _totals(hypervisors, vms):
    inspected = [v for v in vms if v["inspected"]]
    containers = [c for v in inspected for c in v["containers"]]
    guest_total = _sum((v["guest"] or {}).get("memory_total_mib") for v in inspected)
    guest_used = _sum((v["guest"] or {}).get("memory_used_mib") for v in inspected)
    cont_used = _sum(c["memory_used_mib"] for c in containers)
    return {
        "hypervisor_layer": {
            "count": len(hypervisors),
            "cpus": sum(h["cpus"] or 0 for h in hypervisors),
            "memory_mib": sum(h["memory_mib"] or 0 for h in hypervisors),
            "memory_allocated_mib": sum(h["memory_allocated_mib"] for h in hypervisors),
            "vcpus_allocated": sum(h["vcpus_allocated"] for h in hypervisors),
        },
        "vm_layer": {
            "vm_count": len(vms),
            "running_count": sum(1 for v in vms if v["state"] == "running"),
            "inspected_count": len(inspected),
            "memory_allocated_mib": sum(v["memory_mib"] or 0 for v in vms if v["state"] == "running"),
            "vcpus_allocated": sum(v["vcpus"] or 0 for v in vms if v["state"] == "running"),
            "inspected_memory_allocated_mib": sum(v["memory_mib"] or 0 for v in inspected),
            "guest_memory_total_mib": guest_total,
            "guest_memory_used_mib": guest_used,
            "guest_memory_used_percent": _pct(guest_used, guest_total),
        },
        "container_layer": {
            "container_count": len(containers),
            "running_count": sum(1 for c in containers if c["running"]),
            "memory_used_mib": cont_used,
            "memory_limit_mib": _sum(c["memory_limit_mib"] for c in containers),
            "limited_count": sum(1 for c in containers if c["memory_limit_mib"]),
            "unlimited_count": sum(1 for c in containers if not c["memory_limit_mib"]),
            "share_of_guest_used_percent": _pct(cont_used, guest_used),
        },
    }


def _findings(vms, consolidation, guests, unreachable=()):
    inspected = [v for v in vms if v["inspected"]]
    migratable = []
    for vm in inspected:
        for svc in vm["services"]:
            if svc["migratable"]:
                migratable.append({"vm": vm["name"], "unit": svc["unit"], "image": svc["image"],
                                   "ports": svc["ports"], "memory_mib": svc["memory_mib"],
                                   "container_spec": svc["container_spec"]})
    return {
        "not_inspected": [{"vm": v["name"], "uri": v["uri"], "state": v["state"], "reason": v["not_inspected_reason"]}
                          for v in vms if not v["inspected"]],
        "containers_per_vm": [{"vm": v["name"], "count": v["container_count"], "running": v["running_container_count"]}
                              for v in inspected],
        "vms_without_containers": [v["name"] for v in inspected if not v["container_count"]],
        "vms_with_migratable_services": sorted(set(m["vm"] for m in migratable)),
        "migratable_services": migratable,
        "unhealthy_containers": [{"vm": v["name"], "container": c["name"], "health": c["health"], "state": c["state"]}
                                 for v in inspected for c in v["containers"]
                                 if c["health"] == "unhealthy" or c["state"] in ("restarting", "dead")],
        "consolidation_candidates": list(consolidation["freed_vms"]),
        "inspection_errors": [{"vm": v["name"], "error": v["inspection_error"]} for v in inspected
                              if v["inspection_error"]],
        "guests_without_vm": sorted(set(str(k) for k in guests) - set(v["name"] for v in vms)),
        "unreachable_hypervisors": [{"uri": u["uri"], "error": str(u.get("error") or "")} for u in unreachable],
    }


def _summary(totals, findings, consolidation):
    vml, cl = totals["vm_layer"], totals["container_layer"]
    lines = [
        "%d hypervisor(s), %d VM(s) (%d running, %d inspected), %d container(s) (%d running)."
        % (totals["hypervisor_layer"]["count"], vml["vm_count"], vml["running_count"], vml["inspected_count"],
           cl["container_count"], cl["running_count"]),
    ]
    if vml["inspected_count"]:
        lines.append("Inspected VMs have %s MiB allocated by libvirt; guests use %s MiB of %s MiB; containers use %s MiB."
                     % (num(vml["inspected_memory_allocated_mib"]), num(vml["guest_memory_used_mib"]),
                        num(vml["guest_memory_total_mib"]), num(cl["memory_used_mib"])))
    if findings["unreachable_hypervisors"]:
        lines.append("Hypervisors that did not answer (their VMs are not in this report): %s."
                     % "; ".join("%s (%s)" % (u["uri"], u["error"]) if u["error"] else u["uri"]
                                 for u in findings["unreachable_hypervisors"]))
    if findings["not_inspected"]:
        lines.append("Not inspected: %s." % ", ".join(n["vm"] for n in findings["not_inspected"]))
    if findings["vms_without_containers"]:
        lines.append("VMs running no containers: %s." % ", ".join(findings["vms_without_containers"]))
    if findings["migratable_services"]:
        lines.append("Services that could move into containers: %s."
                     % ", ".join("%s on %s" % (m["unit"], m["vm"]) for m in findings["migratable_services"]))
    if findings["inspection_errors"]:
        lines.append("Partly inspected: %s."
                     % "; ".join("%s (%s)" % (e["vm"], e["error"]) for e in findings["inspection_errors"]))
    if findings["guests_without_vm"]:
        lines.append("Facts for unknown VMs (not in vms): %s." % ", ".join(findings["guests_without_vm"]))
    if findings["unhealthy_containers"]:
        lines.append("Unhealthy containers: %s."
                     % ", ".join("%s on %s" % (u["container"], u["vm"]) for u in findings["unhealthy_containers"]))
    lines.append(consolidation["sentence"])
    return lines


def _migration_plan(vms, guests, headroom):
    """The estate plan (plan.build_plan) of the VMs whose guests carry a discovery result; null without any.
    The VMs' names stand for the inventory host names in the wave commands."""
    hosts = {}
    for vm in vms:
        guest = guests.get(vm["name"]) if isinstance(guests.get(vm["name"]), dict) else {}
        discovery = guest.get("discovery") if vm["inspected"] else None
        hosts.setdefault(vm["name"], {
            "vm": vm["name"], "discovery": discovery, "addresses": [vm["ip"]] if vm.get("ip") else [],
            "memory_mib": vm.get("memory_mib"),
            "error": None if discovery else (vm["not_inspected_reason"] or "no discovery result for this VM")})
    if not any(h["discovery"] for h in hosts.values()):
        return None
    return build_plan(hosts, headroom_percent=headroom)


def build_report(params):
    """The report model for module params (hypervisors, vms, guests, title, vm_capacity_mib, headroom_percent)."""
    headroom, capacity = _validate(params)
    guests = params.get("guests") or {}
    hypervisors, seen = [], set()
    for hv in params["hypervisors"]:  # one entry per URI (the first wins)
        if str(hv["uri"]) not in seen:
            seen.add(str(hv["uri"]))
            hypervisors.append(_hypervisor_entry(hv))
    names = dict((h["uri"], h["hostname"] or h["uri"]) for h in hypervisors)
    vms = [vm_entry(vm, guests.get(vm["name"]), names.get(vm.get("uri"))) for vm in params["vms"]]
    vms.sort(key=lambda v: (v["name"], v["uri"] or ""))
    known = set(names)
    orphans = sorted(set(v["uri"] for v in vms if v["uri"] not in known), key=str)
    for uri in orphans:  # VMs of a URI without hypervisor facts still get a (capacity-less) hypervisor
        hypervisors.append({"uri": uri, "hostname": None, "cpus": None, "memory_mib": None, "cpu_model": None,
                            "libvirt_version": None})
    hypervisors.sort(key=lambda h: (str(h["hostname"] or h["uri"]), str(h["uri"])))
    hv_entries = [_hypervisor_summary(h, [v for v in vms if v["uri"] == h["uri"]]) for h in hypervisors]
    consolidation = consolidate(vms, capacity_mib=capacity, headroom_percent=headroom)
    migration_plan = _migration_plan(vms, guests, headroom)
    totals = _totals(hv_entries, vms)
    findings = _findings(vms, consolidation, guests, params.get("unreachable_hypervisors") or [])
    return {
        "schema": SCHEMA,
        "title": str(params.get("title") or "Fleet report"),
        "hypervisors": hv_entries,
        "vms": vms,
        "totals": totals,
        "findings": findings,
        "consolidation": consolidation,
        "rollouts": rollout_entries(vms),
        "migration_plan": migration_plan,
        "summary": _summary(totals, findings, consolidation),
    }
