# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration plan (plan.build_plan) as Markdown, as a section of the fleet report's HTML page, and as a
page of its own (the same CSS, the same rules: no script, no URL, every string escaped).

Stable hooks: ``section#migration-plan``, ``tr.plan-vm[data-vm]``, ``tr.plan-service[data-vm][data-unit]``,
``tr.wave[data-wave]``, ``code.wave-command[data-wave]``.
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num
from ansible_collections.hybridops.fleet.plugins.module_utils._report.render_markdown import md, table
from ansible_collections.hybridops.fleet.plugins.module_utils._report.svg import esc


def _link(dep):
    return "%s %s -> %s %s:%d" % (dep["from_host"], dep["from_unit"] or "(a client)", dep["to_host"], dep["to_unit"],
                                  dep["port"])


def _verdict(vm):
    if not vm["inspected"]:
        return "not inspected: " + vm["not_inspected_reason"]
    if not vm["services"]:
        return "no service to move"
    if vm["retire"]:
        return "all services move; the VM can be retired"
    if vm["whole_vm"]:
        return "all services move; the VM stays (its containers fit on no VM that stays)"
    if vm["movable"]:
        return "some services move"
    return "nothing can move"


def render_plan_markdown(plan):
    """Markdown text of a plan."""
    t = plan["totals"]
    out = ["# Migration plan", "", "Schema `%s`." % plan["schema"], "", "## Summary", ""]
    out.extend("- " + md(line) for line in plan["summary"])
    out += ["", "## VMs", ""]
    out += table(["VM", "Verdict", "Move", "Blocked", "Memory moving MiB", "Freed MiB", "Wave"], [
        [md(v["vm"]), md(_verdict(v)), md(", ".join(v["movable"]) or None),
         md(", ".join(b["unit"] for b in v["blocked"]) or None), num(v["movable_memory_mib"]),
         num(v["memory_freed_mib"]), md(v["wave"])] for v in plan["vms"]], ["l", "l", "l", "l", "r", "r", "r"])
    rows = []
    for vm in plan["vms"]:
        for s in vm["services"]:
            rows.append([md(vm["vm"]), "`%s`" % md(s["unit"]), md("yes" if s["migratable"] else "no"),
                         md(s["image"]), md(", ".join(s["ports"]) or None), num(s["memory_mib"]),
                         md("; ".join(s["blockers"]) or None),
                         md(", ".join("%s %s:%d" % (d["vm"], d["unit"], d["port"]) for d in s["depends_on"]) or None)])
    if rows:
        out += ["", "## Services", ""]
        out += table(["VM", "Unit", "Moves", "Proposed image", "Ports", "Memory MiB", "Blocked by", "Talks to"], rows,
                     ["l", "l", "l", "l", "l", "r", "l", "l"])
    out += ["", "## Waves", ""]
    if not plan["waves"]:
        out.append("No VM has a service that can move.")
    for wave in plan["waves"]:
        out += ["### Wave %d: %s" % (wave["wave"], md(", ".join(wave["vms"]))), "",
                "%d service(s), %s MiB." % (wave["service_count"], num(wave["memory_mib"]))]
        if wave["links"]:
            out.append("Together because: %s." % md("; ".join(_link(d) for d in wave["links"])))
        out += ["", "```sh"] + wave["commands"] + ["```", ""]
    if plan["external_dependencies"]:
        out += ["## Connections outside the inventory", ""]
        out += table(["Host", "Unit", "Address", "Port"], [
            [md(e["host"]), "`%s`" % md(e["unit"]), md(e["address"]), num(e["port"])]
            for e in plan["external_dependencies"]], ["l", "l", "l", "r"])
        out.append("")
    if plan["retire"]:
        sentence = ("VMs whose every service moves, retired once their containers run on the VMs that stay "
                    "(first-fit decreasing, %d%% headroom): %s MiB in all."
                    % (plan["headroom_percent"], num(t["memory_freed_mib"])))
        out += ["## Memory freed", "", sentence, ""]
        out += table(["Container", "From", "To", "Size MiB"], [
            [md(p["container"]), md(p["from_host"]), md(p["to_host"]), num(p["size_mib"])]
            for p in plan["placement"]], ["l", "l", "l", "r"])
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def render_plan_section(plan):
    """``<section id="migration-plan">`` for the fleet report's page (or the plan's own page)."""
    t = plan["totals"]
    out = ['<section id="migration-plan"><h2>Migration plan</h2>',
           '<ul class="findings">%s</ul>' % "".join("<li>%s</li>" % esc(line) for line in plan["summary"])]
    rows = ['<tr class="plan-vm" data-vm="%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="n">%s</td>'
            '<td class="n">%s</td><td class="n">%s</td></tr>' % (
                esc(v["vm"]), esc(v["vm"]), esc(_verdict(v)), esc(", ".join(v["movable"]) or "-"),
                esc(", ".join(b["unit"] for b in v["blocked"]) or "-"), num(v["movable_memory_mib"]),
                num(v["memory_freed_mib"]), esc(v["wave"] if v["wave"] is not None else "-"))
            for v in plan["vms"]]
    out.append('<table id="plan-vms"><thead><tr><th>VM</th><th>Verdict</th><th>Moves</th><th>Blocked</th>'
               '<th class="n">Moving MiB</th><th class="n">Freed MiB</th><th class="n">Wave</th></tr></thead>'
               '<tbody>%s</tbody></table>' % "\n".join(rows))
    rows = []
    for vm in plan["vms"]:
        for s in vm["services"]:
            rows.append('<tr class="plan-service" data-vm="%s" data-unit="%s"><td>%s</td><td><code>%s</code></td>'
                        '<td>%s</td><td><code>%s</code></td><td>%s</td><td class="n">%s</td><td>%s</td><td>%s</td></tr>'
                        % (esc(vm["vm"]), esc(s["unit"]), esc(vm["vm"]), esc(s["unit"]),
                           '<span class="badge ok">moves</span>' if s["migratable"]
                           else '<span class="badge bad">blocked</span>',
                           esc(s["image"] or "-"), esc(", ".join(s["ports"]) or "-"), num(s["memory_mib"]),
                           esc("; ".join(s["blockers"]) or "-"),
                           esc(", ".join("%s %s:%d" % (d["vm"], d["unit"], d["port"]) for d in s["depends_on"]) or "-")))
    if rows:
        out.append('<h3 style="margin-top:14px">Services</h3><table id="plan-services"><thead><tr><th>VM</th>'
                   '<th>Unit</th><th>Verdict</th><th>Proposed image</th><th>Ports</th><th class="n">Memory MiB</th>'
                   '<th>Blocked by</th><th>Talks to</th></tr></thead><tbody>%s</tbody></table>' % "\n".join(rows))
    rows = ['<tr class="wave" data-wave="%d"><td class="n">%d</td><td>%s</td><td class="n">%d</td><td class="n">%s</td>'
            '<td>%s</td><td>%s</td></tr>' % (
                w["wave"], w["wave"], esc(", ".join(w["vms"])), w["service_count"], num(w["memory_mib"]),
                esc("; ".join(_link(d) for d in w["links"]) or "-"),
                "<br>".join('<code class="wave-command" data-wave="%d">%s</code>' % (w["wave"], esc(c))
                            for c in w["commands"])) for w in plan["waves"]]
    if rows:
        out.append('<h3 style="margin-top:14px">Waves</h3><table id="plan-waves"><thead><tr><th class="n">Wave</th>'
                   '<th>VMs</th><th class="n">Services</th><th class="n">Memory MiB</th><th>Together because</th>'
                   '<th>Command</th></tr></thead><tbody>%s</tbody></table>' % "\n".join(rows))
    if plan["retire"]:
        out.append('<p class="sentence">Retiring %s frees %s MiB once their containers run on the VMs that stay.</p>'
                   % (esc(", ".join(r["vm"] for r in plan["retire"])), num(t["memory_freed_mib"])))
    out.append('</section>')
    return "\n".join(out)


def render_plan_html(plan, title="Migration plan"):
    """A page of its own for the plan, with the fleet report's CSS."""
    from ansible_collections.hybridops.fleet.plugins.module_utils._report.render_html import CSS
    page = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<title>%s</title>' % esc(title), '<style>%s</style>' % CSS, '</head>', '<body>',
            '<header><h1 id="title">%s</h1><p>hybridops.fleet migration plan, schema <span id="schema">%s</span></p>'
            '</header>' % (esc(title), esc(plan["schema"])),
            '<main>', render_plan_section(plan), '</main>',
            '<footer>Generated by hybridops.fleet (playbooks/migrate_plan.yml) from vm_discover results. '
            'Self-contained: no script, no external resources.</footer>', '</body>', '</html>']
    return "\n".join(page) + "\n"
