# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report model as Markdown: findings first, then tables; readable in a terminal."""

from __future__ import annotations

import re

from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")
_SPECIAL_RE = re.compile(r"([\\|`<>*_\[\]])")


def md(value):
    """Text for a table cell or a line: no control characters, Markdown/HTML specials escaped."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return num(value)
    text = _CONTROL_RE.sub(" ", str(value))
    return _SPECIAL_RE.sub(r"\\\1", text)


def pct(value):
    return "-" if value is None else "%s%%" % num(value)


def table(headers, rows, align=None):
    align = align or ["l"] * len(headers)
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    return lines


def render_markdown(model):
    """Markdown text of a report model."""
    out = ["# " + md(model["title"]), "", "Schema `%s`." % model["schema"], "", "## Findings", ""]
    out.extend("- " + md(line) for line in model["summary"])
    out.append("")
    totals = model["totals"]
    hvl, vml, cl = totals["hypervisor_layer"], totals["vm_layer"], totals["container_layer"]
    out += ["## Layers", ""]
    out += table(["Layer", "Count", "Memory", "CPU"], [
        ["Hypervisors", num(hvl["count"]), "%s MiB capacity, %s MiB allocated" % (num(hvl["memory_mib"]), num(hvl["memory_allocated_mib"])),
         "%s CPUs, %s vCPUs allocated" % (num(hvl["cpus"]), num(hvl["vcpus_allocated"]))],
        ["VMs", "%s (%s running, %s inspected)" % (num(vml["vm_count"]), num(vml["running_count"]), num(vml["inspected_count"])),
         "%s MiB allocated; inspected guests use %s of %s MiB (%s)" % (
             num(vml["memory_allocated_mib"]), num(vml["guest_memory_used_mib"]), num(vml["guest_memory_total_mib"]),
             pct(vml["guest_memory_used_percent"])),
         "%s vCPUs allocated" % num(vml["vcpus_allocated"])],
        ["Containers", "%s (%s running)" % (num(cl["container_count"]), num(cl["running_count"])),
         "%s MiB used; limits %s MiB on %s, %s unlimited" % (
             num(cl["memory_used_mib"]), num(cl["memory_limit_mib"]), num(cl["limited_count"]),
             num(cl["unlimited_count"])), "-"],
    ], ["l", "l", "l", "l"])
    out += ["", "## Hypervisors", ""]
    out += table(["Hypervisor", "URI", "CPUs", "Memory MiB", "VMs (running)", "Allocated MiB", "Mem %", "vCPUs", "vCPU %"],
                 [[md(h["hostname"]), md(h["uri"]), num(h["cpus"]), num(h["memory_mib"]),
                   "%d (%d)" % (h["vm_count"], h["running_vm_count"]), num(h["memory_allocated_mib"]),
                   pct(h["memory_allocated_percent"]), num(h["vcpus_allocated"]), pct(h["vcpus_allocated_percent"])]
                  for h in model["hypervisors"]],
                 ["l", "l", "r", "r", "r", "r", "r", "r", "r"])
    out += ["", "## VMs", ""]
    rows = []
    for vm in model["vms"]:
        guest = vm["guest"] or {}
        rows.append([md(vm["name"]), md(vm["hypervisor"]), md(vm["state"]), md(vm["ip"]), num(vm["memory_mib"]),
                     num(vm["vcpus"]), num(guest.get("memory_used_mib")) if vm["inspected"] else "not inspected",
                     num(vm["container_memory_used_mib"]) if vm["inspected"] else "-",
                     " / ".join(num(x, 2) for x in guest.get("load") or []) or "-",
                     md((vm["engine"] or {}).get("version")),
                     "%d (%d running)" % (vm["container_count"], vm["running_container_count"]) if vm["inspected"] else "-"])
    out += table(["VM", "Hypervisor", "State", "IP", "Memory MiB", "vCPUs", "Guest used MiB", "Containers MiB", "Load",
                  "Docker", "Containers"], rows, ["l", "l", "l", "l", "r", "r", "r", "r", "r", "l", "r"])
    for vm in model["vms"]:
        if not vm["inspected"]:
            continue
        out += ["", "### %s" % md(vm["name"]), ""]
        if vm["inspection_error"]:
            out += ["Error while inspecting: " + md(vm["inspection_error"]), ""]
        if not vm["containers"]:
            out.append("No containers.")
        else:
            out += table(["Container", "Image", "State", "Health", "Stack", "Mem used MiB", "Mem limit MiB", "CPU %", "CPU limit"],
                         [[md(c["name"]), md(c["image"]), md(c["state"]), md(c["health"]), md(c["stack"]),
                           num(c["memory_used_mib"]), num(c["memory_limit_mib"]), num(c["cpu_percent"], 2),
                           num(c["cpu_limit"], 2)] for c in vm["containers"]],
                         ["l", "l", "l", "l", "l", "r", "r", "r", "r"])
        if vm["services"]:
            out += ["", "Services found by vm_discover:", ""]
            out += table(["Unit", "Migratable", "Ports", "Memory MiB", "Proposed image", "Why not"],
                         [[md(s["unit"]), md(s["migratable"]), md(", ".join(s["ports"])) if s["ports"] else "-",
                           num(s["memory_mib"]), md(s["image"]), md("; ".join(s["reasons"])) if s["reasons"] else "-"]
                          for s in vm["services"]])
    if model.get("rollouts"):
        out += ["", "## Rollouts", "", "Services rolled out behind HAProxy (hybridops.fleet.container_rollout): the "
                "version each VM serves.", ""]
        out += table(["Service", "VM", "Version", "Slot", "Health"],
                     [[md(r["service"]), md(v["vm"]), md(v["image"]), md(v["slot"]), md(v["health"])]
                      for r in model["rollouts"] for v in r["vms"]], ["l", "l", "l", "l", "l"])
        mixed = [r for r in model["rollouts"] if len(r["versions"]) > 1]
        for r in mixed:
            out += ["", "%s runs %d versions: %s." % (md(r["service"]), len(r["versions"]), "; ".join(
                "%s on %s" % (md(image), ", ".join(md(vm) for vm in vms)) for image, vms in sorted(r["versions"].items())))]
    plan = model.get("migration_plan")
    if plan:
        out += ["", "## Migration plan", ""]
        out.extend("- " + md(line) for line in plan["summary"])
        for wave in plan["waves"]:
            out += ["", "Wave %d (%s):" % (wave["wave"], md(", ".join(wave["vms"]))), "", "```sh"]
            out += wave["commands"] + ["```"]
    cons = model["consolidation"]
    out += ["", "## Consolidation", "", md(cons["sentence"]), "", "Rule: " + md(cons["rule"]) + "."]
    if cons["vms"]:
        out += [""]
        out += table(["VM", "Capacity MiB", "Source", "Usable MiB", "Now MiB", "After MiB", "Verdict"],
                     [[md(b["vm"]), num(b["capacity_mib"]), md(b["capacity_source"]), num(b["usable_mib"]),
                       num(b["current_mib"]), num(b["after_mib"]), "kept" if b["kept"] else "**freed**"]
                      for b in cons["vms"]], ["l", "r", "l", "r", "r", "r", "l"])
        out += ["", "Placement:", ""]
        out += table(["Container", "From", "To", "Size MiB", "Note"],
                     [[md(p["container"]), md(p["from_vm"]), md(p["to_vm"]), num(p["size_mib"]),
                       md(p["reason"]) if not p["fits"] else ("moves" if p["moves"] else "stays")]
                      for p in cons["placement"]], ["l", "l", "l", "r", "l"])
    if model["findings"]["not_inspected"]:
        out += ["", "## Not inspected", ""]
        out += table(["VM", "State", "Reason"], [[md(n["vm"]), md(n["state"]), md(n["reason"])]
                                                 for n in model["findings"]["not_inspected"]])
    return "\n".join(out) + "\n"
