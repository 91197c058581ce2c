"""fleet_report renderers: escaping, self-contained HTML, determinism, Markdown tables."""
import copy
import json
import random
import re
from html.parser import HTMLParser

import report_facts as facts

from ansible_collections.hybridops.fleet.plugins.module_utils._report.model import build_report
from ansible_collections.hybridops.fleet.plugins.module_utils._report.render_html import render_html
from ansible_collections.hybridops.fleet.plugins.module_utils._report.render_markdown import render_markdown
from ansible_collections.hybridops.fleet.plugins.module_utils._report.runner import render_json


class Collector(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.tags = []
        self.texts = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texts.append(data)


def parse(page):
    collector = Collector()
    collector.feed(page)
    return collector


def test_html_has_charts_and_rows():
    page = render_html(build_report(facts.fleet()))
    parsed = parse(page)
    ids = [a.get("id") for t, a in parsed.tags if t == "svg"]
    for chart in ("chart-hypervisor-memory", "chart-vm-memory", "chart-containers-per-vm", "chart-consolidation"):
        assert chart in ids
    rows = [a["data-vm"] for t, a in parsed.tags if t == "tr" and "vm" in (a.get("class") or "").split()]
    assert rows == ["db1", "legacy1", "old1", "web1", "web2"]
    containers = [a["data-container"] for t, a in parsed.tags if t == "tr" and a.get("class") == "container"]
    assert containers == ["api", "old-job", "worker", facts.HOSTILE, "cache"]
    assert page.startswith("<!DOCTYPE html>")


def test_html_escapes_hostile_names():
    params = facts.fleet()
    params["title"] = "<img src=x onerror=alert(1)>"
    params["vms"][0]["name"] = params["vms"][0]["name"]  # web1
    params["guests"]["web1"]["containers"][0]["image"] = '"><svg onload=alert(2)>'
    page = render_html(build_report(params))
    assert "<script" not in page.lower()
    assert "<img" not in page and "onload=" not in page.replace("onload=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt;" in page
    parsed = parse(page)
    assert not [t for t, a in parsed.tags if t in ("script", "img", "iframe", "object", "embed", "link")]
    # the hostile name arrives intact as text and as an attribute value
    assert facts.HOSTILE in "".join(parsed.texts)
    assert any(a.get("data-container") == facts.HOSTILE for t, a in parsed.tags)


def test_html_is_self_contained():
    params = facts.fleet()
    params["guests"]["db1"]["discovery"] = None  # the fixture's service text is free of "http" then
    page = render_html(build_report(params))
    assert "http" not in page
    page = render_html(build_report(facts.fleet()))
    for needle in ("http://", "https://", "src=", "href=", "url(", "@import", "<script", "<link", "xmlns"):
        assert needle not in page, needle


def test_renderers_are_deterministic_and_order_independent():
    params = facts.fleet()
    first = [f(build_report(params)) for f in (render_json, render_markdown, render_html)]
    shuffled = copy.deepcopy(params)
    rng = random.Random(7)
    rng.shuffle(shuffled["vms"])
    rng.shuffle(shuffled["hypervisors"])
    for guest in shuffled["guests"].values():
        if guest.get("containers"):
            rng.shuffle(guest["containers"])
    shuffled["guests"] = dict(reversed(list(shuffled["guests"].items())))
    second = [f(build_report(shuffled)) for f in (render_json, render_markdown, render_html)]
    assert first == second


def test_json_round_trips_and_has_no_timestamp():
    text = render_json(build_report(facts.fleet()))
    model = json.loads(text)
    assert model["schema"] == "hybridops.fleet/report/v1"
    assert "generated_at" not in text and not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", text.replace(
        "2026-11-27T08:00:00", ""))


def test_markdown_tables_and_escaping():
    text = render_markdown(build_report(facts.fleet()))
    assert text.startswith("# Lab fleet\n")
    assert "## Consolidation" in text and "web2 could be freed" in text
    assert "| web1 | hv1 | running | 192.168.122.11 | 1,024 | 2 | 520 | 300 |" in text
    hostile_rows = [line for line in text.splitlines() if "alert" in line and line.startswith("| ")]
    assert hostile_rows
    for line in hostile_rows:
        # escaped pipes do not add columns; no raw tag
        assert "<script>" not in line
        cells = re.split(r"(?<!\\)\|", line)
        assert len(cells) in (7, 11)  # placement (5 cells) or container table (9 cells) plus the two ends


def test_empty_fleet_renders():
    model = build_report({"hypervisors": [], "vms": [], "guests": {}})
    page = render_html(model)
    assert 'id="chart-vm-memory"' in page and "no VMs" in page
    assert "nothing to consolidate" in render_markdown(model)


def test_rollouts_section_says_which_vm_serves_which_version():
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker import rollout
    from ansible_collections.hybridops.fleet.plugins.module_utils._report import model as report_model

    # the report reads container_rollout's labels without importing the container layer: the same names
    assert (report_model.ROLLOUT_LABEL, report_model.ROLLOUT_SLOT_LABEL, report_model.ROLLOUT_IMAGE_LABEL) == (
        rollout.ROLLOUT_LABEL, rollout.SLOT_LABEL, rollout.IMAGE_LABEL)
    params = copy.deepcopy(facts.fleet())

    def served(name, image, slot, state="running"):
        item = facts.container(name, 30, state=state, health="healthy", image="hybridops-rollout/web:abc")
        item["labels"] = {rollout.ROLLOUT_LABEL: "web", rollout.SLOT_LABEL: slot, rollout.IMAGE_LABEL: image}
        return item

    params["guests"]["web1"]["containers"] += [served("web-green", "shop/web:2", "green"),
                                               served("web-blue", "shop/web:1", "blue", state="exited")]
    params["guests"]["web2"]["containers"].append(served("web-blue", "shop/web:1", "blue"))
    model = build_report(params)
    assert model["rollouts"] == [{"service": "web", "versions": {"shop/web:2": ["web1"], "shop/web:1": ["web2"]},
                                  "vms": [{"vm": "web1", "image": "shop/web:2", "slot": "green", "health": "healthy"},
                                          {"vm": "web2", "image": "shop/web:1", "slot": "blue", "health": "healthy"}]}]
    markdown = render_markdown(model)
    assert "## Rollouts" in markdown and "| web | web1 | shop/web:2 | green | healthy |" in markdown, markdown
    assert "web runs 2 versions: shop/web:1 on web2; shop/web:2 on web1." in markdown
    page = render_html(model)
    rows = [attrs for tag, attrs in parse(page).tags if tag == "tr" and attrs.get("class") == "rollout"]
    assert [(r["data-service"], r["data-vm"]) for r in rows] == [("web", "web1"), ("web", "web2")]
    assert 'class="mixed"' in page
    # a fleet without rollouts has no such section
    assert "Rollouts" not in render_markdown(build_report(copy.deepcopy(facts.fleet())))


def test_migration_plan_section():
    report = build_report(facts.fleet())
    page = render_html(report)
    assert page.count('<section id="migration-plan">') == 1
    assert '<tr class="plan-service" data-vm="db1" data-unit="postgresql@15-main.service">' in page
    assert '<code class="wave-command" data-wave="1">' in page
    assert "## Migration plan" in render_markdown(report)
    fleet = facts.fleet()
    fleet["guests"]["db1"]["discovery"] = None
    assert 'id="migration-plan"' not in render_html(build_report(fleet))
