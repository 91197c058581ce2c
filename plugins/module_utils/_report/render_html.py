# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report model as one self-contained HTML page: inline CSS and SVG, no script, no URL.

Stable hooks for tests and scrapers: ``svg#chart-hypervisor-memory``,
``svg#chart-vm-memory``, ``svg#chart-containers-per-vm``,
``svg#chart-consolidation``; ``tr.vm[data-vm]`` in ``table#vm-table``;
``tr.hypervisor[data-uri]``; ``section.vm-detail[data-vm]`` with
``tr.container[data-container]``; ``#findings``, ``#consolidation``; ``section#migration-plan`` (plan_render).
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._report import svg
from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num
from ansible_collections.hybridops.fleet.plugins.module_utils._report.plan_render import render_plan_section
from ansible_collections.hybridops.fleet.plugins.module_utils._report.svg import esc

STATE_CLASSES = {"running": "ok", "healthy": "ok", "paused": "warn", "starting": "warn", "restarting": "warn",
                 "created": "muted", "exited": "muted", "stopped": "muted", "shutdown": "muted", "shutoff": "muted",
                 "unhealthy": "bad", "dead": "bad", "crashed": "bad", "pmsuspended": "warn"}

CSS = """
:root { --ink:#1f2933; --muted:#6b7683; --line:#e3e7ec; --bg:#f4f6f9; --card:#fff;
  --alloc:#bcd3f5; --guest:#4f83cc; --cont:#0f8b7d; --cap:#e8ecf1; --warn:#c27c0e; --bad:#c53030; --ok:#23844c; --other:#b7c0cb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header { background:#17212e; color:#fff; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:600; letter-spacing:.2px; }
header p { margin:0; color:#aab6c5; font-size:12px; }
main { max-width:1200px; margin:0 auto; padding:20px 24px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px 20px; margin:0 0 18px; }
h2 { font-size:17px; margin:0 0 12px; font-weight:600; }
h3 { font-size:15px; margin:0 0 8px; font-weight:600; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:12px; background:none; border:0; padding:0; }
.kpi { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
.kpi .n { font-size:26px; font-weight:650; }
.kpi .l { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.5px; }
.kpi .s { color:var(--muted); font-size:12px; }
ul.findings { margin:0; padding-left:20px; } ul.findings li { margin:3px 0; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(460px,1fr)); gap:18px; margin:0 0 18px; align-items:start; }
figure { margin:0; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
figcaption { font-weight:600; margin-bottom:6px; }
svg.chart text { font-size:12px; fill:var(--ink); }
svg.chart text.value, svg.chart text.empty { fill:var(--muted); }
svg .track { fill:var(--cap); }
svg .capacity { fill:var(--cap); stroke:#c8d0da; }
svg .allocated { fill:var(--alloc); }
svg .defined { fill:var(--alloc); }
svg .hvalloc { fill:var(--guest); }
svg.chart { display:block; max-width:640px; }
#consolidation svg.chart { max-width:700px; margin:8px 0 4px; }
svg .guest { fill:var(--guest); }
svg .containers { fill:var(--cont); }
svg .running { fill:var(--cont); }
svg .other { fill:var(--other); }
svg .now { fill:var(--alloc); }
svg .after { fill:var(--cont); }
svg .usable { stroke:var(--warn); stroke-width:2; stroke-dasharray:4 3; }
svg .limit { stroke:var(--bad); stroke-width:2; }
svg.meter .track { fill:var(--cap); } svg.meter .fill { fill:var(--guest); } svg.meter .hot { fill:var(--warn); }
.legend { display:flex; flex-wrap:wrap; gap:14px; color:var(--muted); font-size:12px; margin-top:6px; }
.legend span::before { content:""; display:inline-block; width:11px; height:11px; border-radius:2px;
  margin-right:5px; vertical-align:-1px; background:var(--c); }
.legend .dash::before { height:0; border-top:2px dashed var(--warn); background:none; width:14px; vertical-align:3px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.4px; }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr:last-child td { border-bottom:0; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; background:#eef1f5; color:var(--muted); }
.badge.ok { background:#e3f4ea; color:var(--ok); } .badge.warn { background:#fbf0dc; color:var(--warn); }
.badge.bad { background:#fbe5e5; color:var(--bad); } .badge.freed { background:#fbf0dc; color:var(--warn); font-weight:600; }
.muted { color:var(--muted); }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; background:#f1f3f6; padding:1px 4px; border-radius:4px; }
.vm-detail { padding-top:12px; }
.vm-detail .meta { color:var(--muted); font-size:12px; margin:0 0 8px; }
.sentence { font-size:15px; background:#f7f9fb; border-left:4px solid var(--cont); padding:10px 14px; margin:0 0 12px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:0 0 24px; }
"""


def badge(value):
    if value is None:
        return '<span class="muted">-</span>'
    css = STATE_CLASSES.get(str(value), "")
    return '<span class="badge %s">%s</span>' % (css, esc(value))


def _legend(items):
    return '<div class="legend">%s</div>' % "".join(
        '<span class="%s" style="--c:var(--%s)">%s</span>' % (extra, var, esc(label)) for label, var, extra in items)


def _figure(title, chart, legend):
    return '<figure><figcaption>%s</figcaption>\n%s\n%s</figure>' % (esc(title), chart, legend)


def _kpi(label, value, sub):
    return '<div class="kpi"><div class="l">%s</div><div class="n">%s</div><div class="s">%s</div></div>' % (
        esc(label), esc(value), esc(sub))


def _charts(model):
    hv_rows = []
    for h in model["hypervisors"]:
        hv_rows.append({"label": h["hostname"] or h["uri"], "data": h["uri"],
                        "values": {"capacity": h["memory_mib"], "defined": h["memory_defined_mib"],
                                   "allocated": h["memory_allocated_mib"]},
                        "text": "%s / %s MiB (%s)" % (num(h["memory_allocated_mib"]), num(h["memory_mib"]),
                                                      "-" if h["memory_allocated_percent"] is None
                                                      else num(h["memory_allocated_percent"]) + "%")})
    hv_chart = svg.nested_bars("chart-hypervisor-memory", "Hypervisor memory: allocated to running VMs vs capacity",
                               hv_rows, [("capacity", "capacity", 1.0), ("defined", "defined", 1.0),
                                         ("allocated", "hvalloc", 1.0)], empty="no hypervisors")
    vm_rows = []
    for vm in model["vms"]:
        guest = vm["guest"] or {}
        text = ("%s / %s / %s MiB" % (num(vm["memory_mib"]), num(guest.get("memory_used_mib")),
                                      num(vm["container_memory_used_mib"]))
                if vm["inspected"] else "%s MiB, not inspected" % num(vm["memory_mib"]))
        vm_rows.append({"label": vm["name"], "data": vm["name"],
                        "values": {"allocated": vm["memory_mib"], "guest": guest.get("memory_used_mib"),
                                   "containers": vm["container_memory_used_mib"] if vm["inspected"] else None},
                        "text": text})
    vm_chart = svg.nested_bars("chart-vm-memory", "VM memory: allocated, used in the guest, used by containers",
                               vm_rows, [("allocated", "allocated", 1.0), ("guest", "guest", 0.62),
                                         ("containers", "containers", 0.3)], empty="no VMs")
    count_rows = []
    for vm in model["vms"]:
        if not vm["inspected"]:
            continue
        other = vm["container_count"] - vm["running_container_count"]
        count_rows.append({"label": vm["name"], "data": vm["name"],
                           "values": {"running": vm["running_container_count"], "other": other},
                           "text": ("%d running, %d other" % (vm["running_container_count"], other))
                           if vm["container_count"] else "no containers"})
    count_chart = svg.stacked_bars("chart-containers-per-vm", "Containers per inspected VM", count_rows,
                                   [("running", "running"), ("other", "other")], empty="no inspected VMs")
    cons = model["consolidation"]
    cons_rows = []
    for b in cons["vms"]:
        cons_rows.append({"label": b["vm"], "data": b["vm"],
                          "values": {"capacity": b["capacity_mib"], "now": b["current_mib"], "after": b["after_mib"],
                                     "usable": b["usable_mib"]},
                          "markers": [("usable", "usable")],
                          "text": "%s \u2192 %s of %s MiB%s" % (
                              num(b["current_mib"]), num(b["after_mib"]), num(b["usable_mib"]),
                              "" if b["kept"] else ", freed")})
    maximum = max([max(b["capacity_mib"], b["current_mib"], b["after_mib"]) for b in cons["vms"]] + [1])
    cons_chart = svg.nested_bars("chart-consolidation", "Container memory per VM now and after packing",
                                 cons_rows, [("capacity", "capacity", 1.0), ("now", "now", 0.8), ("after", "after", 0.4)],
                                 maximum=maximum, empty="no VM hosts containers")
    return {
        "hv": _figure("Hypervisor memory", hv_chart,
                      _legend([("capacity", "cap", ""), ("defined (all VMs)", "alloc", ""),
                               ("allocated (running VMs)", "guest", "")])),
        "vm": _figure("VM memory (MiB)", vm_chart,
                      _legend([("allocated by libvirt", "alloc", ""), ("used in guest", "guest", ""),
                               ("used by containers", "cont", "")])),
        "count": _figure("Containers per VM", count_chart,
                         _legend([("running", "cont", ""), ("stopped / other", "other", "")])),
        "cons": cons_chart + _legend([("VM capacity", "cap", ""), ("container memory now", "alloc", ""),
                                      ("after packing", "cont", ""), ("usable (capacity minus headroom)", "warn", "dash")]),
    }


def _hypervisor_table(model):
    rows = []
    for h in model["hypervisors"]:
        rows.append(
            '<tr class="hypervisor" data-uri="%s"><td><strong>%s</strong><br><code>%s</code></td><td>%s</td>'
            '<td class="n">%s</td><td class="n">%s</td><td class="n">%d / %d</td><td class="n">%s %s</td>'
            '<td class="n">%s / %s</td><td>%s</td></tr>' % (
                esc(h["uri"]), esc(h["hostname"] or "-"), esc(h["uri"]), esc(h["cpu_model"] or "-"), num(h["cpus"]),
                num(h["memory_mib"]), h["running_vm_count"], h["vm_count"], num(h["memory_allocated_mib"]),
                svg.meter(h["memory_allocated_mib"], h["memory_mib"],
                          "hot" if (h["memory_allocated_percent"] or 0) > 90 else "fill"),
                num(h["vcpus_allocated"]), num(h["cpus"]), esc(h["libvirt_version"] or "-")))
    return ('<table id="hypervisor-table"><thead><tr><th>Hypervisor</th><th>CPU model</th><th class="n">CPUs</th>'
            '<th class="n">Memory MiB</th><th class="n">VMs running / all</th><th class="n">Allocated MiB</th>'
            '<th class="n">vCPUs / CPUs</th><th>libvirt</th></tr></thead><tbody>%s</tbody></table>' % "\n".join(rows))


def _vm_table(model):
    rows = []
    for vm in model["vms"]:
        guest = vm["guest"] or {}
        if vm["inspected"]:
            used = "%s %s" % (num(guest.get("memory_used_mib")), svg.meter(guest.get("memory_used_mib"), vm["memory_mib"]))
            load = " ".join(num(x, 2) for x in guest.get("load") or []) or "-"
            conts = "%d <span class=\"muted\">(%d running)</span>" % (vm["container_count"], vm["running_container_count"])
            cmem = num(vm["container_memory_used_mib"])
            engine = esc((vm["engine"] or {}).get("version") or "-")
        else:
            used = '<span class="badge">not inspected</span>'
            load = conts = cmem = engine = '<span class="muted">-</span>'
        rows.append(
            '<tr class="vm" data-vm="%s"><td><strong>%s</strong><br><span class="muted">%s</span></td><td>%s</td>'
            '<td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>'
            '<td class="n">%s</td><td>%s</td><td class="n">%s</td></tr>' % (
                esc(vm["name"]), esc(vm["name"]), esc(vm["hypervisor"] or vm["uri"]), badge(vm["state"]),
                esc(vm["ip"] or "-"), num(vm["memory_mib"]), num(vm["vcpus"]), used, cmem, load, engine, conts))
    return ('<table id="vm-table"><thead><tr><th>VM</th><th>State</th><th>IP</th><th class="n">Memory MiB</th>'
            '<th class="n">vCPUs</th><th class="n">Guest used MiB</th><th class="n">Containers MiB</th>'
            '<th class="n">Load 1/5/15</th><th>Docker</th><th class="n">Containers</th></tr></thead>'
            '<tbody>%s</tbody></table>' % "\n".join(rows))


def _vm_details(model):
    parts = []
    for vm in model["vms"]:
        if not vm["inspected"]:
            continue
        guest = vm["guest"] or {}
        meta = "%s MiB allocated, %s of %s MiB used in the guest, %s vCPUs (nproc %s), Docker %s" % (
            num(vm["memory_mib"]), num(guest.get("memory_used_mib")), num(guest.get("memory_total_mib")),
            num(vm["vcpus"]), num(guest.get("nproc")), (vm["engine"] or {}).get("version") or "-")
        body = ['<section class="vm-detail" data-vm="%s"><h3>%s</h3><p class="meta">%s</p>'
                % (esc(vm["name"]), esc(vm["name"]), esc(meta))]
        if vm["inspection_error"]:
            body.append('<p class="inspection-error"><span class="badge bad">error</span> %s</p>' % esc(vm["inspection_error"]))
        if vm["containers"]:
            rows = []
            for c in vm["containers"]:
                rows.append(
                    '<tr class="container" data-container="%s"><td><strong>%s</strong></td><td><code>%s</code></td>'
                    '<td>%s</td><td>%s</td><td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>'
                    '<td class="n">%s</td></tr>' % (
                        esc(c["name"]), esc(c["name"]), esc(c["image"] or "-"), badge(c["state"]), badge(c["health"]),
                        esc(c["stack"] or "-"), num(c["memory_used_mib"]), num(c["memory_limit_mib"]),
                        num(c["cpu_percent"], 2), num(c["cpu_limit"], 2)))
            body.append('<table class="containers"><thead><tr><th>Container</th><th>Image</th><th>State</th>'
                        '<th>Health</th><th>Stack</th><th class="n">Mem used MiB</th><th class="n">Mem limit MiB</th>'
                        '<th class="n">CPU %%</th><th class="n">CPU limit</th></tr></thead><tbody>%s</tbody></table>'
                        % "\n".join(rows))
        else:
            body.append('<p class="muted no-containers">No containers on this VM.</p>')
        if vm["services"]:
            rows = []
            for s in vm["services"]:
                rows.append('<tr class="service" data-unit="%s"><td><code>%s</code></td><td>%s</td><td>%s</td>'
                            '<td class="n">%s</td><td><code>%s</code></td><td>%s</td></tr>' % (
                                esc(s["unit"]), esc(s["unit"]),
                                '<span class="badge ok">yes</span>' if s["migratable"] else '<span class="badge">no</span>',
                                esc(", ".join(s["ports"]) or "-"), num(s["memory_mib"]), esc(s["image"] or "-"),
                                esc("; ".join(s["reasons"]) or "-")))
            body.append('<h3>Services (vm_discover)</h3><table class="services"><thead><tr><th>Unit</th>'
                        '<th>Migratable</th><th>Ports</th><th class="n">Memory MiB</th><th>Proposed image</th>'
                        '<th>Why not</th></tr></thead><tbody>%s</tbody></table>' % "\n".join(rows))
        body.append('</section>')
        parts.append("\n".join(body))
    return "\n".join(parts) or '<p class="muted">No VM was inspected.</p>'


def _consolidation(model, chart):
    cons = model["consolidation"]
    out = ['<p class="sentence">%s</p>' % esc(cons["sentence"]), '<p class="muted">Rule: %s.</p>' % esc(cons["rule"])]
    if cons["vms"]:
        out.append(chart)
        rows = ['<tr class="bin" data-vm="%s"><td>%s</td><td class="n">%s</td><td>%s</td><td class="n">%s</td>'
                '<td class="n">%s</td><td class="n">%s</td><td>%s</td></tr>' % (
                    esc(b["vm"]), esc(b["vm"]), num(b["capacity_mib"]), esc(b["capacity_source"]), num(b["usable_mib"]),
                    num(b["current_mib"]), num(b["after_mib"]),
                    '<span class="badge ok">kept</span>' if b["kept"] else '<span class="badge freed">freed</span>')
                for b in cons["vms"]]
        out.append('<table id="consolidation-table"><thead><tr><th>VM</th><th class="n">Capacity MiB</th><th>Source</th>'
                   '<th class="n">Usable MiB</th><th class="n">Now MiB</th><th class="n">After MiB</th><th>Verdict</th>'
                   '</tr></thead><tbody>%s</tbody></table>' % "\n".join(rows))
        rows = ['<tr class="placement"><td>%s</td><td>%s</td><td>%s</td><td class="n">%s</td><td>%s</td></tr>' % (
            esc(p["container"]), esc(p["from_vm"]), esc(p["to_vm"]), num(p["size_mib"]),
            esc(p["reason"]) if not p["fits"] else ("moves" if p["moves"] else '<span class="muted">stays</span>'))
            for p in cons["placement"]]
        out.append('<h3 style="margin-top:14px">Placement</h3><table id="placement-table"><thead><tr><th>Container</th>'
                   '<th>From</th><th>To</th><th class="n">Size MiB</th><th>Note</th></tr></thead><tbody>%s</tbody></table>'
                   % "\n".join(rows))
    return "\n".join(out)


def _services(model):
    items = model["findings"]["migratable_services"]
    if not items:
        return ""
    rows = ['<tr class="migratable" data-vm="%s"><td>%s</td><td><code>%s</code></td><td><code>%s</code></td>'
            '<td>%s</td><td class="n">%s</td></tr>' % (
                esc(m["vm"]), esc(m["vm"]), esc(m["unit"]), esc(m["image"] or "-"), esc(", ".join(m["ports"]) or "-"),
                num(m["memory_mib"])) for m in items]
    return ('<section id="migratable"><h2>Services that could move into containers</h2><table><thead><tr><th>VM</th>'
            '<th>Unit</th><th>Proposed image</th><th>Ports</th><th class="n">Memory MiB</th></tr></thead>'
            '<tbody>%s</tbody></table><p class="muted">Proposed container specs are in the JSON report '
            '(environment values are never included).</p></section>' % "\n".join(rows))


def _rollouts(model):
    items = model.get("rollouts") or []
    if not items:
        return ""
    row = ('<tr class="rollout" data-service="%s" data-vm="%s"><td><code>%s</code></td><td>%s</td><td><code>%s</code>'
           '</td><td>%s</td><td>%s</td></tr>')
    rows = [row % (esc(r["service"]), esc(v["vm"]), esc(r["service"]), esc(v["vm"]), esc(v["image"] or "-"),
                   esc(v["slot"] or "-"), badge(v["health"])) for r in items for v in r["vms"]]
    mixed = "".join('<p class="mixed" data-service="%s"><code>%s</code> runs %d versions: %s.</p>' % (
        esc(r["service"]), esc(r["service"]), len(r["versions"]), esc("; ".join(
            "%s on %s" % (image, ", ".join(vms)) for image, vms in sorted(r["versions"].items()))))
        for r in items if len(r["versions"]) > 1)
    return ('<section id="rollouts"><h2>Rollouts</h2><table><thead><tr><th>Service</th><th>VM</th><th>Version</th>'
            '<th>Slot</th><th>Health</th></tr></thead><tbody>%s</tbody></table>%s</section>' % ("\n".join(rows), mixed))


def _not_inspected(model):
    items = model["findings"]["not_inspected"]
    if not items:
        return ""
    rows = ['<tr class="not-inspected" data-vm="%s"><td>%s</td><td>%s</td><td>%s</td></tr>'
            % (esc(n["vm"]), esc(n["vm"]), badge(n["state"]), esc(n["reason"])) for n in items]
    return ('<section id="not-inspected"><h2>Not inspected</h2><table><thead><tr><th>VM</th><th>State</th>'
            '<th>Reason</th></tr></thead><tbody>%s</tbody></table></section>' % "\n".join(rows))


def render_html(model):
    """The HTML page of a report model (a str)."""
    totals = model["totals"]
    hvl, vml, cl = totals["hypervisor_layer"], totals["vm_layer"], totals["container_layer"]
    cons = model["consolidation"]
    charts = _charts(model)
    kpis = "".join([
        _kpi("Hypervisors", num(hvl["count"]), "%s CPUs, %s MiB" % (num(hvl["cpus"]), num(hvl["memory_mib"]))),
        _kpi("VMs", num(vml["vm_count"]), "%s running, %s inspected" % (num(vml["running_count"]), num(vml["inspected_count"]))),
        _kpi("VM memory", "%s MiB" % num(vml["memory_allocated_mib"]),
             "allocated; guests use %s MiB" % num(vml["guest_memory_used_mib"])),
        _kpi("Containers", num(cl["container_count"]), "%s running" % num(cl["running_count"])),
        _kpi("Container memory", "%s MiB" % num(cl["memory_used_mib"]),
             "%s limited, %s unlimited" % (num(cl["limited_count"]), num(cl["unlimited_count"]))),
        _kpi("VMs that could be freed", num(len(cons["freed_vms"])),
             "%s MiB, %s vCPUs" % (num(cons["memory_freed_mib"]), num(cons["vcpus_freed"]))),
    ])
    findings = "".join("<li>%s</li>" % esc(line) for line in model["summary"])
    page = [
        '<!DOCTYPE html>',
        '<html lang="en">',
        '<head>',
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title>' % esc(model["title"]),
        '<style>%s</style>' % CSS,
        '</head>',
        '<body>',
        '<header><h1 id="title">%s</h1><p>hybridops.fleet report, schema <span id="schema">%s</span></p></header>'
        % (esc(model["title"]), esc(model["schema"])),
        '<main>',
        '<section class="kpis" id="kpis">%s</section>' % kpis,
        '<section id="findings"><h2>Findings</h2><ul class="findings">%s</ul></section>' % findings,
        '<div class="charts" id="charts">%s\n%s\n%s</div>' % (charts["hv"], charts["vm"], charts["count"]),
        '<section id="hypervisors"><h2>Hypervisors</h2>%s</section>' % _hypervisor_table(model),
        '<section id="vms"><h2>VMs</h2>%s</section>' % _vm_table(model),
        '<section id="consolidation"><h2>Consolidation</h2>%s</section>' % _consolidation(model, charts["cons"]),
        _services(model),
        _rollouts(model),
        render_plan_section(model["migration_plan"]) if model.get("migration_plan") else "",
        '<section id="containers"><h2>Containers by VM</h2>%s</section>' % _vm_details(model),
        _not_inspected(model),
        '</main>',
        '<footer>Generated by hybridops.fleet.fleet_report from collected facts. Self-contained: no script, '
        'no external resources.</footer>',
        '</body>',
        '</html>',
    ]
    return "\n".join(p for p in page if p) + "\n"
