# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate migration plan: ``build_plan(hosts, ...)`` -> plan model (pure; docs/migration.md, section 3).

Input, per inventory host: what ``vm_discover`` found there (or why nothing was found), the addresses
the inventory reaches it by, and the memory libvirt gives it. Output:

- per VM, which services can move into containers (discovery's ``migratable``), what blocks the others
  (discovery's ``reasons``), the proposed images and the memory each service uses;
- the dependencies between VMs: a service that talks to a port another VM's service listens on
  (discovery's ``connections``, mapped to hosts through their addresses);
- waves: the connected components of the VMs with services to move, joined by those dependencies, so
  that services talking to each other move together; small components are merged into waves of at most
  ``wave_size`` VMs, smallest first (a pilot wave); a component is never split;
- per wave the commands that run it (``ansible-playbook ... -l HOSTS -e migrate_service=UNIT``);
- the memory that would be freed: a VM whose every service can move can be retired when the containers
  of its services fit on the VMs that stay (first-fit decreasing, as the fleet report's consolidation);
  its libvirt memory is then freed.
"""

from __future__ import annotations

import ipaddress
import shlex

from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num

SCHEMA = "hybridops.fleet/migration-plan/v1"
DEFAULT_PLAYBOOK = "hybridops.fleet.migrate"
MIB = 1024.0 * 1024.0


def _mib(value):
    return round(value / MIB, 1) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _ports(listen):
    return sorted(set("%s/%s" % (s.get("port"), s.get("proto") or "tcp") for s in listen or [] if isinstance(s, dict)),
                  key=lambda p: (int(p.split("/")[0]) if p.split("/")[0].isdigit() else 0, p))


def _services_of(discovery):
    services = (discovery or {}).get("services") or {}
    if isinstance(services, list):
        services = dict((s.get("unit") or str(i), s) for i, s in enumerate(services) if isinstance(s, dict))
    return [(key, services[key]) for key in sorted(services) if isinstance(services[key], dict)]


def _service_entry(key, svc):
    guess = svc.get("image_guess") or {}
    spec = svc.get("container_spec") or {}
    memory = _mib(svc.get("memory_bytes"))
    limit = _mib(svc.get("memory_max"))
    return {
        "unit": svc.get("unit") or key,
        "migratable": bool(svc.get("migratable")),
        "blockers": list(svc.get("reasons") or []),
        "notes": list(svc.get("notes") or []),
        "image": guess.get("image") or spec.get("image"),
        "image_reason": guess.get("reason"),
        "container": spec.get("name"),
        "ports": _ports(svc.get("listen")),
        "memory_mib": memory,
        "memory_limit_mib": limit,
        "depends_on": [],
        "used_by": [],
        "external": [],
    }


def _vm_entry(host, info):
    info = info if isinstance(info, dict) else {}
    discovery = info.get("discovery")
    inspected = isinstance(discovery, dict) and isinstance(discovery.get("services"), (dict, list))
    facts = (discovery or {}).get("host") or {} if inspected else {}
    addresses = []
    for address in list(info.get("addresses") or []) + list(facts.get("addresses") or []):
        if isinstance(address, str) and address and address not in addresses:
            addresses.append(address)
    services = [_service_entry(k, s) for k, s in _services_of(discovery)] if inspected else []
    guest_total = _mib(facts.get("memory_total_bytes"))
    memory = info.get("memory_mib")
    memory = memory if isinstance(memory, (int, float)) and not isinstance(memory, bool) else None
    if inspected:
        reason = None
    else:
        reason = str(info.get("error") or "no discovery result")
    movable = [s for s in services if s["migratable"]]
    blocked = [s for s in services if not s["migratable"]]
    return {
        "host": host,
        "vm": str(info.get("vm") or host),
        "inspected": inspected,
        "not_inspected_reason": reason,
        "addresses": addresses,
        "memory_mib": memory,
        "guest_memory_total_mib": guest_total,
        "services": services,
        "movable": [s["unit"] for s in movable],
        "blocked": [{"unit": s["unit"], "blockers": s["blockers"]} for s in blocked],
        "excluded": [dict((k, e.get(k)) for k in ("unit", "reason", "ports"))
                     for e in (discovery or {}).get("excluded") or [] if isinstance(e, dict)] if inspected else [],
        "movable_memory_mib": round(sum(s["memory_mib"] or 0 for s in movable), 1),
        "blocked_memory_mib": round(sum(s["memory_mib"] or 0 for s in blocked), 1),
        "whole_vm": bool(services) and not blocked,
        "wave": None,
        "retire": False,
        "memory_freed_mib": 0,
    }


def _connections(discovery):
    for key, svc in _services_of(discovery):
        for conn in svc.get("connections") or []:
            if isinstance(conn, dict) and conn.get("address") and isinstance(conn.get("port"), int):
                yield svc.get("unit") or key, conn


def _dependencies(vms, discoveries):
    """Service-to-service links across the estate, from both ends of each connection."""
    by_address = {}
    for vm in vms:
        for address in vm["addresses"]:
            by_address.setdefault(address, vm["host"])
    listeners = {}  # (host, port) -> unit (reported services only: core ones such as sshd are no dependency)
    for vm in vms:
        for svc in vm["services"]:
            for port in svc["ports"]:
                number, _sep, proto = port.partition("/")
                if proto == "tcp" and number.isdigit():
                    listeners.setdefault((vm["host"], int(number)), svc["unit"])
    links = {}
    external = []
    for vm in vms:
        host = vm["host"]
        for unit, conn in _connections(discoveries.get(host)):
            address = conn["address"]
            if _is_loopback(address) or address in vm["addresses"]:
                peer = host
            else:
                peer = by_address.get(address)
            if conn.get("direction") == "in":
                if peer is None or peer == host:
                    continue  # a client outside the inventory (or a local one: the VM moves as a whole)
                key = (peer, None, host, unit, conn["port"])
            else:
                target = listeners.get((peer, conn["port"])) if peer else None
                if peer is None:
                    external.append({"host": host, "unit": unit, "address": address, "port": conn["port"]})
                    continue
                if target is None or (peer == host and target == unit):
                    continue  # a core service (sshd...), a port no reported service listens on, or itself
                key = (host, unit, peer, target, conn["port"])
            links[key] = True
    # an outgoing link seen from the client's side covers the same link seen only from the server's side
    known = set((f, t, u, p) for (f, fu, t, u, p) in links if fu is not None)
    result = []
    for (frm, frm_unit, to, to_unit, port) in sorted(links, key=lambda k: (k[0], k[1] or "", k[2], k[3], k[4])):
        if frm_unit is None and (frm, to, to_unit, port) in known:
            continue
        result.append({"from_host": frm, "from_unit": frm_unit, "to_host": to, "to_unit": to_unit, "port": port,
                       "seen_from": "client" if frm_unit is not None else "server"})
    return result, external


class _Components:
    def __init__(self, names):
        self.parent = dict((n, n) for n in names)

    def find(self, name):
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self):
        result = {}
        for name in sorted(self.parent):
            result.setdefault(self.find(name), []).append(name)
        return list(result.values())


def _command(playbook, hosts, unit, inventory, fleet_hosts, extra_args):
    argv = ["ansible-playbook"]
    if inventory:
        argv += ["-i", inventory]
    argv += [playbook, "-l", ",".join(hosts), "-e", "migrate_service=" + unit]
    if fleet_hosts:
        argv += ["-e", "fleet_hosts=" + fleet_hosts]
    argv += list(extra_args or [])
    return " ".join(shlex.quote(a) for a in argv)


def _waves(vms, deps, wave_size, playbook, inventory, fleet_hosts, extra_args):
    by_host = dict((v["host"], v) for v in vms)
    nodes = [v["host"] for v in vms if v["movable"]]
    comps = _Components(nodes)
    joining = []
    for dep in deps:
        frm, to = by_host[dep["from_host"]], by_host[dep["to_host"]]
        if frm["host"] == to["host"] or dep["to_unit"] not in to["movable"]:
            continue
        if dep["from_unit"] is not None and dep["from_unit"] not in frm["movable"]:
            continue
        if dep["from_unit"] is None and not frm["movable"]:
            continue
        comps.union(frm["host"], to["host"])
        joining.append(dep)
    groups = sorted(comps.groups(), key=lambda g: (len(g), g))
    batches = []
    for group in groups:
        if batches and len(batches[-1]) + len(group) <= wave_size and len(group) < wave_size:
            batches[-1] = batches[-1] + group
        else:
            batches.append(list(group))
    waves = []
    for number, hosts in enumerate(batches, 1):
        hosts = sorted(hosts)
        inside = set(hosts)
        links = [d for d in joining if d["from_host"] in inside]
        providers = set(d["to_unit"] for d in links)
        units = {}
        for host in hosts:
            by_host[host]["wave"] = number
            for unit in by_host[host]["movable"]:
                units.setdefault(unit, []).append(host)
        # services others depend on first (their clients keep reaching the same port across the cut-over)
        order = sorted(units, key=lambda u: (u not in providers, u))
        commands = [_command(playbook, units[u], u, inventory, fleet_hosts, extra_args) for u in order]
        waves.append({
            "wave": number,
            "hosts": hosts,
            "vms": [by_host[h]["vm"] for h in hosts],
            "service_count": sum(len(units[u]) for u in units),
            "memory_mib": round(sum(by_host[h]["movable_memory_mib"] for h in hosts), 1),
            "links": links,
            "commands": commands,
            "command": " && ".join(commands),
        })
    return waves


def _capacity(vm, headroom):
    total = vm["guest_memory_total_mib"] or vm["memory_mib"]
    if not total:
        return None
    return round(total * (100 - headroom) / 100.0, 1)


def _retirement(vms, headroom):
    """Which whole-VM candidates can be retired: their services' containers must fit (first-fit decreasing by
    memory, no two containers publishing the same port or with the same name on one VM) on the VMs that stay.
    A VM that stays keeps room for all its own services (they run there, as units or as containers)."""
    # a VM where nothing was found to move (an engine host, say) stays and can receive containers
    inspected = [v for v in vms if v["inspected"]]
    stays = [v for v in inspected if not v["whole_vm"]]
    room, claims = {}, {}
    for vm in inspected:
        usable = _capacity(vm, headroom)
        used = sum(s["memory_mib"] or 0 for s in vm["services"])
        room[vm["host"]] = None if usable is None else round(usable - used, 1)
        claims[vm["host"]] = set(["name " + str(s["container"]) for s in vm["services"] if s["migratable"]] +
                                 ["port " + p for s in vm["services"] for p in s["ports"]])
    candidates = sorted((v for v in inspected if v["whole_vm"]), key=lambda v: (v["movable_memory_mib"], v["host"]))
    placements = []
    for vm in candidates:
        items = sorted(vm["services"], key=lambda s: (-max(s["memory_mib"] or 0, s["memory_limit_mib"] or 0), s["unit"]))
        trial_room = dict(room)
        trial_claims = dict((h, set(c)) for h, c in claims.items())
        placed = []
        for svc in items:
            size = max(svc["memory_mib"] or 0, svc["memory_limit_mib"] or 0)
            mine = set(["name " + str(svc["container"])] + ["port " + p for p in svc["ports"]])
            bins = sorted((b for b in stays if trial_room.get(b["host"]) is not None),
                          key=lambda b: (-trial_room[b["host"]], b["host"]))
            target = next((b["host"] for b in bins
                           if trial_room[b["host"]] + 1e-9 >= size and not mine & trial_claims[b["host"]]), None)
            if target is None:
                placed = None
                break
            trial_room[target] = round(trial_room[target] - size, 1)
            trial_claims[target] |= mine
            placed.append({"container": svc["container"], "unit": svc["unit"], "from_host": vm["host"],
                           "to_host": target, "size_mib": size})
        freed = vm["memory_mib"] if vm["memory_mib"] is not None else vm["guest_memory_total_mib"]
        if placed is not None and freed is not None:
            room, claims = trial_room, trial_claims
            vm["retire"] = True
            vm["memory_freed_mib"] = freed
            placements.extend(placed)
        else:
            stays.append(vm)  # it stays: its containers run there, and it can receive others
    return placements


def build_plan(hosts, playbook=DEFAULT_PLAYBOOK, inventory=None, fleet_hosts=None, wave_size=10,
               headroom_percent=20, extra_args=()):
    """The plan model for ``hosts`` ({inventory host: {vm, discovery, error, addresses, memory_mib}})."""
    if not isinstance(hosts, dict):
        raise TypeError("hosts must be a dict of inventory host -> {vm, discovery, error, addresses, memory_mib}")
    wave_size = int(wave_size)
    if wave_size < 1:
        raise ValueError("wave_size must be 1 or more, got %d" % wave_size)
    headroom = int(headroom_percent)
    if not 0 <= headroom <= 90:
        raise ValueError("headroom_percent must be 0-90, got %d" % headroom)
    vms = [_vm_entry(str(h), hosts[h]) for h in sorted(hosts, key=str)]
    discoveries = dict((v["host"], (hosts[v["host"]] or {}).get("discovery") if v["inspected"] else None) for v in vms)
    deps, external = _dependencies(vms, discoveries)
    by_host = dict((v["host"], v) for v in vms)
    by_unit = dict(((v["host"], s["unit"]), s) for v in vms for s in v["services"])
    for dep in deps:
        link = {"host": dep["to_host"], "vm": by_host[dep["to_host"]]["vm"], "unit": dep["to_unit"], "port": dep["port"]}
        if dep["from_unit"] is not None:
            by_unit[(dep["from_host"], dep["from_unit"])]["depends_on"].append(link)
        by_unit[(dep["to_host"], dep["to_unit"])]["used_by"].append(
            {"host": dep["from_host"], "vm": by_host[dep["from_host"]]["vm"], "unit": dep["from_unit"], "port": dep["port"]})
    for ext in external:
        by_unit[(ext["host"], ext["unit"])]["external"].append({"address": ext["address"], "port": ext["port"]})
    waves = _waves(vms, deps, wave_size, playbook, inventory, fleet_hosts, extra_args)
    placements = _retirement(vms, headroom)
    services = [s for v in vms for s in v["services"]]
    retired = [v for v in vms if v["retire"]]
    plan = {
        "schema": SCHEMA,
        "playbook": playbook,
        "wave_size": wave_size,
        "headroom_percent": headroom,
        "vms": vms,
        "dependencies": deps,
        "external_dependencies": external,
        "waves": waves,
        "retire": [{"host": v["host"], "vm": v["vm"], "memory_mib": v["memory_freed_mib"]} for v in retired],
        "placement": placements,
        "totals": {
            "vm_count": len(vms),
            "inspected_count": sum(1 for v in vms if v["inspected"]),
            "service_count": len(services),
            "movable_count": sum(1 for s in services if s["migratable"]),
            "blocked_count": sum(1 for s in services if not s["migratable"]),
            "whole_vm_count": sum(1 for v in vms if v["whole_vm"]),
            "wave_count": len(waves),
            "movable_memory_mib": round(sum(v["movable_memory_mib"] for v in vms), 1),
            "memory_freed_mib": sum(v["memory_freed_mib"] or 0 for v in vms),
            "retire_count": len(retired),
        },
    }
    plan["summary"] = summary(plan)
    return plan


def summary(plan):
    """The plan in a few sentences (Markdown and HTML print them)."""
    t = plan["totals"]
    lines = ["%d of %d service(s) on %d inspected VM(s) (of %d) can move into containers; blocked: %d."
             % (t["movable_count"], t["service_count"], t["inspected_count"], t["vm_count"], t["blocked_count"])]
    not_inspected = [v["vm"] for v in plan["vms"] if not v["inspected"]]
    if not_inspected:
        lines.append("Not inspected (not planned): %s." % ", ".join(not_inspected))
    if t["wave_count"]:
        lines.append("%d wave(s) of at most %d VM(s); VMs whose services talk to each other are in the same wave."
                     % (t["wave_count"], plan["wave_size"]))
    if plan["retire"]:
        lines.append("%d VM(s) run only movable services and fit elsewhere once moved: retiring %s frees %s MiB."
                     % (t["retire_count"], ", ".join(r["vm"] for r in plan["retire"]), num(t["memory_freed_mib"])))
    else:
        lines.append("No VM can be retired: each runs a blocked service, or its containers fit on no VM that stays "
                     "(moving services into containers on the same VM frees no memory by itself).")
    if plan["external_dependencies"]:
        lines.append("%d connection(s) go to addresses outside the inventory: they must stay reachable from the "
                     "containers." % len(plan["external_dependencies"]))
    return lines
