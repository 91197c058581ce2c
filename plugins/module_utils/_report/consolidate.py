# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Could the containers of the fleet run on fewer VMs? First-fit-decreasing bin packing of memory.

The rule (documented in docs/report.md):

- Items are the containers of the inspected VMs that run at least one container
  (the "hosting" VMs); stopped containers move with their VM's others.
- An item's size is ``max(memory used, memory limit or 0)`` in MiB: a limit is
  what the container was promised and may grow to, so packing below it would
  plan an out-of-memory kill; an unlimited container is sized by what it uses
  now (the only thing known about it).
- Bins are the hosting VMs (they already run an engine). A bin's capacity is
  ``vm_capacity_mib`` when given, else the VM's own MemTotal (from
  /proc/meminfo; the libvirt allocation when meminfo is missing). Its usable
  capacity is capacity x (100 - headroom_percent) / 100: headroom is left for
  the guest OS, the engine and growth.
- Items are taken largest first (ties by VM then name), each into the first bin
  with room and without a clash, bins ordered by usable capacity, largest first
  (ties by name). Two containers clash when they publish the same host port
  (``8080/tcp``) or have the same name: one engine cannot run both, and
  same-named containers on several VMs are usually replicas kept apart on
  purpose. An item that fits no bin stays on its own VM, which is then kept.
- VMs needed = bins that received an item plus VMs kept for an item that fits
  nowhere; the other hosting VMs could be freed.
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num

RULE = ("first-fit decreasing by memory; size = max(used, limit or 0) MiB; bins = VMs hosting containers, "
        "usable = capacity x (100 - headroom) / 100; containers with the same name or published host port "
        "never share a VM")


def _fmt(value):
    """A MiB figure in a sentence; a missing one reads 0."""
    return num(value or 0)


def container_size(container):
    """MiB a container needs where it lands: max(used, limit or 0)."""
    used = container.get("memory_used_mib") or 0.0
    limit = container.get("memory_limit_mib") or 0.0
    return round(max(float(used), float(limit)), 1)


def claims(container):
    """What a container holds exclusively on an engine: its name and its published host ports."""
    return set(["name " + str(container.get("name"))] +
               ["port " + p for p in container.get("published_ports") or []])


def _capacity(vm, capacity_mib):
    if capacity_mib:
        return float(capacity_mib), "vm_capacity_mib"
    total = (vm.get("guest") or {}).get("memory_total_mib")
    if total:
        return float(total), "guest MemTotal"
    return float(vm.get("memory_mib") or 0), "libvirt memory"


def consolidate(vms, capacity_mib=None, headroom_percent=20):
    """Packing of the containers of ``vms`` (report VM entries) into as few of them as fit."""
    hosting = sorted((v for v in vms if v.get("inspected") and v.get("containers")), key=lambda v: v["name"])
    bins = []
    for vm in hosting:
        capacity, source = _capacity(vm, capacity_mib)
        usable = round(capacity * (100 - headroom_percent) / 100.0, 1)
        sizes = [container_size(c) for c in vm["containers"]]
        bins.append({"vm": vm["name"], "capacity_mib": round(capacity, 1), "capacity_source": source,
                     "usable_mib": usable, "current_mib": round(sum(sizes), 1),
                     "memory_allocated_mib": vm.get("memory_mib"), "vcpus": vm.get("vcpus")})
    items = []
    for vm in hosting:
        for container in vm["containers"]:
            items.append({"container": container["name"], "from_vm": vm["name"], "size_mib": container_size(container),
                          "memory_used_mib": container.get("memory_used_mib"),
                          "memory_limit_mib": container.get("memory_limit_mib"),
                          "published_ports": list(container.get("published_ports") or []),
                          "claims": claims(container)})
    items.sort(key=lambda i: (-i["size_mib"], i["from_vm"], i["container"]))
    order = sorted(bins, key=lambda b: (-b["usable_mib"], b["vm"]))
    largest = order[0]["usable_mib"] if order else 0.0
    filled = dict((b["vm"], 0.0) for b in bins)
    held = dict((b["vm"], {}) for b in bins)  # claim -> container placed there
    placement = []
    for item in items:
        target = None
        clashes = []
        for candidate in order:
            if filled[candidate["vm"]] + item["size_mib"] > candidate["usable_mib"] + 1e-9:
                continue
            clash = sorted(item["claims"] & set(held[candidate["vm"]]))
            if clash:
                clashes.append("%s (%s)" % (candidate["vm"], ", ".join(clash)))
                continue
            target = candidate["vm"]
            break
        entry = dict((k, v) for k, v in item.items() if k != "claims")
        if target is None:
            target = item["from_vm"]
            entry["fits"] = False
            if item["size_mib"] > largest:
                entry["reason"] = "larger than any VM's usable capacity (%s MiB)" % _fmt(largest)
            elif clashes:
                entry["reason"] = "clashes on every VM with room: %s" % "; ".join(clashes)
            else:
                entry["reason"] = "no VM has room left"
            home = sorted(item["claims"] & set(held[target]))
            if home:  # the plan put another holder of the same name or port here first
                entry["reason"] += "; its own VM now also holds %s (%s): that needs a rename or port change" % (
                    ", ".join(home), ", ".join(sorted(set(held[target][c] for c in home))))
        else:
            entry["fits"] = True
            entry["reason"] = None
        entry["to_vm"] = target
        entry["moves"] = target != item["from_vm"]
        filled[target] = round(filled[target] + item["size_mib"], 1)
        for claim in item["claims"]:
            held[target].setdefault(claim, "%s from %s" % (item["container"], item["from_vm"]))
        placement.append(entry)
    placement.sort(key=lambda p: (p["to_vm"], -p["size_mib"], p["from_vm"], p["container"]))
    kept = sorted(set(p["to_vm"] for p in placement))
    freed = [b["vm"] for b in bins if b["vm"] not in kept]
    by_name = dict((v["name"], v) for v in hosting)
    for b in bins:
        b["after_mib"] = filled[b["vm"]]
        b["kept"] = b["vm"] in kept
    freed_detail = []
    for name in freed:
        vm = by_name[name]
        freed_detail.append({"vm": name, "memory_mib": vm.get("memory_mib"), "vcpus": vm.get("vcpus"),
                             "other_services": [s["unit"] for s in vm.get("services") or []]})
    total = round(sum(i["size_mib"] for i in items), 1)
    result = {
        "rule": RULE,
        "headroom_percent": headroom_percent,
        "vm_capacity_mib": capacity_mib,
        "total_container_memory_mib": total,
        "container_count": len(items),
        "vms_hosting_containers": [b["vm"] for b in bins],
        "vms_hosting_count": len(bins),
        "vms": bins,
        "vms_needed": len(kept),
        "vms_kept": kept,
        "placement": placement,
        "moves": [p for p in placement if p["moves"]],
        "unplaceable": [p for p in placement if not p["fits"]],
        "freed_vms": freed,
        "freed": freed_detail,
        "memory_freed_mib": sum(f["memory_mib"] or 0 for f in freed_detail),
        "vcpus_freed": sum(f["vcpus"] or 0 for f in freed_detail),
    }
    result["sentence"] = sentence(result)
    return result


def sentence(result):
    """The arithmetic of a consolidation result in one sentence."""
    if not result["container_count"]:
        return "Consolidation: no containers run on the inspected VMs, nothing to consolidate."
    hosting = result["vms_hosting_count"]
    capacities = ", ".join("%s %s MiB" % (b["vm"], _fmt(b["usable_mib"])) for b in result["vms"])
    source = ("%s MiB each" % _fmt(result["vm_capacity_mib"]) if result["vm_capacity_mib"]
              else "each VM's own memory")
    text = ("Consolidation: %d container(s) on %d VM(s) need %s MiB (per container the larger of used memory and "
            "its limit); with %d%% headroom on %s the VMs offer %s; first-fit decreasing needs %d VM(s) (%s)"
            % (result["container_count"], hosting, _fmt(result["total_container_memory_mib"]),
               result["headroom_percent"], source, capacities, result["vms_needed"], ", ".join(result["vms_kept"])))
    if result["freed_vms"]:
        text += ", so %s could be freed (%s MiB and %d vCPU(s) allocated)" % (
            ", ".join(result["freed_vms"]), _fmt(result["memory_freed_mib"]), result["vcpus_freed"])
    else:
        text += ", so no VM can be freed"
    if result["unplaceable"]:
        text += "; %s fit(s) on no VM and stay(s) where it is" % ", ".join(
            "%s (%s MiB)" % (p["container"], _fmt(p["size_mib"])) for p in result["unplaceable"])
    return text + "."
