"""The estate migration plan (plan.build_plan) over discovery results replayed from the lab guest's capture.

One real discovery (fixtures/debian12-guest.json: hybridops-web.service on port 8080) is the template of
an estate: web1 runs it and talks to db1's port 5432, db1 runs a database service, solo1 runs a web
service of its own, legacy1 runs a service that holds a host device (blocked), down1 was not reached.
"""
import copy
import html.parser
import json
import os
import sys

import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._report import plan as plan_mod
from ansible_collections.hybridops.fleet.plugins.module_utils._report.plan_render import (
    render_plan_html,
    render_plan_markdown,
    render_plan_section,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DISCOVER = os.path.join(HERE, "..", "_discover")
sys.path.insert(0, DISCOVER)
from discover_replay import ReplayReader, load, replay_run, replay_which  # noqa: E402

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import discover  # noqa: E402

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def template():
    capture = load(os.path.join(DISCOVER, "fixtures", "debian12-guest.json"))
    return discover({}, replay_run(capture), ReplayReader(capture), replay_which(capture))


def _vm(template, address, memory_mib=1024, units=None):
    """A discovery result like the template's, on another host: its services renamed/re-ported."""
    result = copy.deepcopy(template)
    result["host"]["addresses"] = [address]
    result["host"]["memory_total_bytes"] = memory_mib * MIB
    web = result["services"].pop("hybridops-web.service")
    for unit, port, extra in units or []:
        svc = copy.deepcopy(web)
        svc["unit"] = unit
        svc["listen"] = [{"proto": "tcp", "family": 4, "address": "0.0.0.0", "port": port}]
        svc["container_spec"]["name"] = unit.replace(".service", "")
        svc["container_spec"]["ports"] = ["%d:%d/tcp" % (port, port)]
        svc["memory_bytes"] = 64 * MIB
        svc["connections"] = []
        svc.update(extra)
        result["services"][unit] = svc
    return result


@pytest.fixture()
def estate(template):
    web1 = _vm(template, "192.168.122.11", units=[("shop-web.service", 8080, {
        "connections": [{"direction": "out", "proto": "tcp", "address": "192.168.122.12", "port": 5432},
                        {"direction": "out", "proto": "tcp", "address": "203.0.113.7", "port": 443},
                        {"direction": "in", "proto": "tcp", "address": "192.168.122.1", "port": 8080},
                        {"direction": "out", "proto": "tcp", "address": "127.0.0.1", "port": 8080}]})])
    db1 = _vm(template, "192.168.122.12", units=[("shop-db.service", 5432, {
        "memory_bytes": 200 * MIB,
        "connections": [{"direction": "in", "proto": "tcp", "address": "::ffff:192.168.122.11", "port": 5432}]})])
    # the server side of web1's connection is normalised by discovery; here it is given raw to be tolerant
    db1["services"]["shop-db.service"]["connections"][0]["address"] = "192.168.122.11"
    solo1 = _vm(template, "192.168.122.13", units=[("wiki.service", 8081, {})])
    legacy1 = _vm(template, "192.168.122.14", memory_mib=2048, units=[("modem.service", 9000, {
        "migratable": False, "reasons": ["holds host device /dev/ttyS0 open"],
        "connections": [{"direction": "out", "proto": "tcp", "address": "192.168.122.12", "port": 5432}]})])
    return {
        "web1": {"vm": "web1", "discovery": web1, "memory_mib": 512},
        "db1": {"vm": "db1", "discovery": db1, "memory_mib": 768},
        "solo1": {"vm": "solo1", "discovery": solo1, "memory_mib": 512},
        "legacy1": {"vm": "legacy1", "discovery": legacy1, "memory_mib": 2048},
        "down1": {"vm": "down1", "discovery": None, "error": "unreachable: ssh timed out"},
    }


def test_template_is_the_real_capture(template):
    web = template["services"]["hybridops-web.service"]
    assert web["migratable"] and web["container_spec"]["image"] == "python:3.11-slim"


def test_per_vm_verdicts(estate):
    plan = plan_mod.build_plan(estate)
    vms = dict((v["host"], v) for v in plan["vms"])
    assert list(vms) == ["db1", "down1", "legacy1", "solo1", "web1"]
    assert vms["web1"]["movable"] == ["shop-web.service"] and vms["web1"]["whole_vm"]
    assert vms["legacy1"]["movable"] == [] and vms["legacy1"]["blocked"] == [
        {"unit": "modem.service", "blockers": ["holds host device /dev/ttyS0 open"]}]
    assert not vms["down1"]["inspected"] and vms["down1"]["not_inspected_reason"] == "unreachable: ssh timed out"
    web = vms["web1"]["services"][0]
    assert web["image"] == "python:3.11-slim" and web["ports"] == ["8080/tcp"] and web["memory_mib"] == 64.0
    assert web["depends_on"] == [{"host": "db1", "vm": "db1", "unit": "shop-db.service", "port": 5432}]
    assert web["external"] == [{"address": "203.0.113.7", "port": 443}]
    db = vms["db1"]["services"][0]
    assert {u["host"] for u in db["used_by"]} == {"web1", "legacy1"}
    assert plan["totals"]["movable_count"] == 3 and plan["totals"]["blocked_count"] == 1
    # ssh (core) is reported as excluded, not as a service to move
    assert [e["unit"] for e in vms["web1"]["excluded"]] == ["ssh.service", "systemd-networkd.service"]


def test_dependencies_seen_from_both_ends_are_one(estate):
    plan = plan_mod.build_plan(estate)
    assert plan["dependencies"] == [
        {"from_host": "legacy1", "from_unit": "modem.service", "to_host": "db1", "to_unit": "shop-db.service",
         "port": 5432, "seen_from": "client"},
        {"from_host": "web1", "from_unit": "shop-web.service", "to_host": "db1", "to_unit": "shop-db.service",
         "port": 5432, "seen_from": "client"},
    ]
    # seen only from the server (web1's discovery missed the connection): still a link
    only_server = copy.deepcopy(estate)
    only_server["web1"]["discovery"]["services"]["shop-web.service"]["connections"] = []
    deps = plan_mod.build_plan(only_server)["dependencies"]
    assert {"from_host": "web1", "from_unit": None, "to_host": "db1", "to_unit": "shop-db.service", "port": 5432,
            "seen_from": "server"} in deps
    assert [w["hosts"] for w in plan_mod.build_plan(only_server, wave_size=2)["waves"]] == [["solo1"], ["db1", "web1"]]


def test_waves_keep_talking_vms_together(estate):
    plan = plan_mod.build_plan(estate, wave_size=2, inventory="inventory/lab.yml", fleet_hosts="lab_vms")
    assert [w["hosts"] for w in plan["waves"]] == [["solo1"], ["db1", "web1"]]
    wave = plan["waves"][1]
    assert [(d["from_host"], d["to_host"]) for d in wave["links"]] == [("web1", "db1")]
    # the database first: its clients keep reaching the same port across the cut-over
    assert wave["commands"] == [
        "ansible-playbook -i inventory/lab.yml hybridops.fleet.migrate -l db1 -e migrate_service=shop-db.service "
        "-e fleet_hosts=lab_vms",
        "ansible-playbook -i inventory/lab.yml hybridops.fleet.migrate -l web1 -e migrate_service=shop-web.service "
        "-e fleet_hosts=lab_vms",
    ]
    assert wave["command"] == " && ".join(wave["commands"])
    vms = dict((v["host"], v) for v in plan["vms"])
    assert vms["legacy1"]["wave"] is None and vms["down1"]["wave"] is None and vms["solo1"]["wave"] == 1
    # a blocked client (legacy1 -> db1) does not pull its VM into a wave
    assert all("legacy1" not in w["hosts"] for w in plan["waves"])
    # default wave size: the small components share one wave, never split
    assert [w["hosts"] for w in plan_mod.build_plan(estate)["waves"]] == [["db1", "solo1", "web1"]]
    assert [w["hosts"] for w in plan_mod.build_plan(estate, wave_size=1)["waves"]] == [["solo1"], ["db1", "web1"]]


def test_memory_freed_by_retiring_whole_vms(estate):
    plan = plan_mod.build_plan(estate, headroom_percent=20)
    # legacy1 stays (blocked service): 2048 MiB x 0.8 - 64 MiB of its own = 1574.4 MiB of room.
    # Candidates smallest first: solo1 (64), web1 (64), db1 (200): all fit on legacy1.
    assert [r["vm"] for r in plan["retire"]] == ["db1", "solo1", "web1"]
    assert plan["totals"]["memory_freed_mib"] == 512 + 512 + 768
    assert [(p["container"], p["to_host"]) for p in plan["placement"]] == [
        ("wiki", "legacy1"), ("shop-web", "legacy1"), ("shop-db", "legacy1")]
    # without a VM that stays, the first candidate stays and receives the others
    small = dict((h, v) for h, v in estate.items() if h in ("web1", "solo1"))
    plan = plan_mod.build_plan(small)
    assert [r["vm"] for r in plan["retire"]] == ["web1"]
    assert plan["placement"] == [{"container": "shop-web", "unit": "shop-web.service", "from_host": "web1",
                                  "to_host": "solo1", "size_mib": 64.0}]


def test_an_engine_host_with_nothing_to_move_receives_containers(template):
    hosts = {
        "web": {"discovery": _vm(template, "10.0.0.1", units=[("web-a.service", 8080, {})]), "memory_mib": 512},
        "engine": {"discovery": _vm(template, "10.0.0.2", units=[]), "memory_mib": 1024},
    }
    plan = plan_mod.build_plan(hosts)
    assert [r["vm"] for r in plan["retire"]] == ["web"] and plan["placement"][0]["to_host"] == "engine"
    assert plan["waves"][0]["hosts"] == ["web"]


def test_same_port_never_shares_a_vm(estate, template):
    clash = {
        "a": {"discovery": _vm(template, "10.0.0.1", units=[("web-a.service", 8080, {})]), "memory_mib": 512},
        "b": {"discovery": _vm(template, "10.0.0.2", units=[("web-b.service", 8080, {})]), "memory_mib": 512},
    }
    plan = plan_mod.build_plan(clash)
    assert plan["retire"] == [] and plan["totals"]["memory_freed_mib"] == 0
    assert "No VM can be retired" in " ".join(plan["summary"])


def test_bad_input():
    with pytest.raises(TypeError):
        plan_mod.build_plan([])
    with pytest.raises(ValueError, match="wave_size"):
        plan_mod.build_plan({}, wave_size=0)
    with pytest.raises(ValueError, match="headroom"):
        plan_mod.build_plan({}, headroom_percent=95)
    empty = plan_mod.build_plan({"x": None, "y": {"discovery": {"failed": True}}})
    assert [v["inspected"] for v in empty["vms"]] == [False, False] and empty["waves"] == []


def test_commands_are_shell_quoted(estate):
    odd = {"web 1;rm": copy.deepcopy(estate["solo1"])}
    plan = plan_mod.build_plan(odd, extra_args=["--become-password-file", "/x y"])
    assert plan["waves"][0]["commands"] == [
        "ansible-playbook hybridops.fleet.migrate -l 'web 1;rm' -e migrate_service=wiki.service "
        "--become-password-file '/x y'"]


def test_plan_is_json_and_deterministic(estate):
    first = json.dumps(plan_mod.build_plan(estate), sort_keys=True)
    assert first == json.dumps(plan_mod.build_plan(copy.deepcopy(estate)), sort_keys=True)


class _Collect(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_renderings(estate):
    estate["solo1"]["vm"] = "<b>solo</b>"
    plan = plan_mod.build_plan(estate, wave_size=2)
    text = render_plan_markdown(plan)
    assert "## Waves" in text and "### Wave 2: db1, web1" in text
    assert "ansible-playbook hybridops.fleet.migrate -l db1 -e migrate_service=shop-db.service" in text
    assert "holds host device /dev/ttyS0 open" in text and "\\<b\\>solo\\</b\\>" in text
    section = render_plan_section(plan)
    assert "<b>solo" not in section and "&lt;b&gt;solo&lt;/b&gt;" in section
    parser = _Collect()
    parser.feed(render_plan_html(plan))
    rows = [a for t, a in parser.tags if t == "tr" and a.get("class") == "plan-service"]
    assert {(r["data-vm"], r["data-unit"]) for r in rows} == {
        ("web1", "shop-web.service"), ("db1", "shop-db.service"), ("<b>solo</b>", "wiki.service"),
        ("legacy1", "modem.service")}
    assert [a["data-wave"] for t, a in parser.tags if t == "tr" and a.get("class") == "wave"] == ["1", "2"]
    page = render_plan_html(plan)
    assert "<script" not in page and "http://" not in page and "https://" not in page
