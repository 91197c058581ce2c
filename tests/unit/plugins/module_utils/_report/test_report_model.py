"""fleet_report model: /proc parsing, facts -> model, validation."""
import copy

import pytest
import report_facts as facts

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._report import model as m

DEBIAN_MEMINFO = """MemTotal:        1008012 kB
MemFree:          521340 kB
MemAvailable:     745880 kB
Buffers:           19572 kB
Cached:           250924 kB
SwapCached:            0 kB
Active:           170996 kB
HugePages_Total:       0
HugePages_Free:        0
Hugepagesize:       2048 kB
"""


def test_parse_meminfo_fields_in_kb():
    fields = m.parse_meminfo(DEBIAN_MEMINFO)
    assert fields["MemTotal"] == 1008012
    assert fields["MemAvailable"] == 745880
    assert fields["HugePages_Total"] == 0


def test_meminfo_summary_used_is_total_minus_available():
    summary = m.meminfo_summary(DEBIAN_MEMINFO)
    assert summary == {"total_mib": 984.4, "available_mib": 728.4, "used_mib": 256.0, "used_percent": 26.0}


def test_meminfo_without_memavailable_uses_free_buffers_cached():
    text = "MemTotal: 1024000 kB\nMemFree: 512000 kB\nBuffers: 0 kB\nCached: 102400 kB\n"
    assert m.meminfo_summary(text)["used_mib"] == 400.0


@pytest.mark.parametrize("text", [None, "", "garbage\n", "MemTotal: x kB\n", "MemTotal: 0 kB\n"])
def test_meminfo_unusable_is_none(text):
    assert m.meminfo_summary(text) is None


def test_parse_loadavg():
    assert m.parse_loadavg("0.52 0.31 0.20 1/123 456\n") == [0.52, 0.31, 0.2]
    assert m.parse_loadavg(None) is None
    assert m.parse_loadavg("a b c") is None


def test_container_entry_units_and_limits():
    entry = m.container_entry(facts.container("api", 180, limit_mib=256, cpus=0.5, health="healthy", stack="shop"))
    assert entry["memory_used_mib"] == 180.0
    assert entry["memory_limit_mib"] == 256.0
    assert entry["cpu_limit"] == 0.5 and entry["nano_cpus"] == 500000000
    assert entry["health"] == "healthy" and entry["stack"] == "shop" and entry["running"]
    # the cgroup limit of usage (host memory when unlimited) is not a container limit
    unlimited = m.container_entry(facts.container("w", 10))
    assert unlimited["memory_limit_mib"] is None and unlimited["nano_cpus"] is None
    stopped = m.container_entry(facts.container("job", 0, state="exited"))
    assert stopped["memory_used_mib"] is None and stopped["cpu_percent"] is None and not stopped["running"]


def test_published_ports_are_the_host_side_of_container_info_ports():
    assert m.published_ports(["0.0.0.0:8080:80/tcp", ":::8080:80/tcp", "127.0.0.1:53:53/udp", "9000/tcp",
                              "10.0.0.5:8443:443"]) == ["53/udp", "8080/tcp", "8443/tcp"]
    assert m.published_ports(None) == []
    entry = m.container_entry(facts.container("w", 10, ports=("0.0.0.0:8081:80/tcp", "6379/tcp")))
    assert entry["published_ports"] == ["8081/tcp"]


def test_container_entry_never_carries_env_or_labels():
    item = facts.container("api", 10)
    item["env"] = ["PASSWORD=hunter2"]
    item["config"] = {"Env": ["PASSWORD=hunter2"]}
    assert "hunter2" not in repr(m.container_entry(item))


def test_build_report_shape_and_order():
    report = m.build_report(facts.fleet())
    assert report["schema"] == "hybridops.fleet/report/v1"
    assert sorted(report) == ["consolidation", "findings", "hypervisors", "migration_plan", "rollouts", "schema", "summary",
                              "title", "totals", "vms"]
    assert report["rollouts"] == []  # no container of container_rollout in this fleet
    assert [v["name"] for v in report["vms"]] == ["db1", "legacy1", "old1", "web1", "web2"]
    assert [h["hostname"] for h in report["hypervisors"]] == ["hv1", "hv2"]
    hv1 = report["hypervisors"][0]
    assert hv1["vms"] == ["db1", "web1", "web2"]
    assert hv1["memory_allocated_mib"] == 4096 and hv1["vcpus_allocated"] == 5
    assert hv1["memory_allocated_percent"] == 25.8 and hv1["vcpus_allocated_percent"] == 62.5
    assert "extra_key" not in hv1
    hv2 = report["hypervisors"][1]
    assert hv2["running_vm_count"] == 1 and hv2["memory_defined_mib"] == 1024 and hv2["memory_allocated_mib"] == 512


def test_vm_entries():
    vms = dict((v["name"], v) for v in m.build_report(facts.fleet())["vms"])
    web1 = vms["web1"]
    assert web1["inspected"] and web1["memory_mib"] == 1024 and web1["vcpus"] == 2
    assert web1["guest"]["memory_used_mib"] == 520.0 and web1["guest"]["memory_total_mib"] == 984.0
    assert web1["guest"]["load"] == [0.52, 0.31, 0.2] and web1["guest"]["load_per_cpu"] == 0.52
    assert web1["engine"]["version"] == "20.10.24+dfsg1"
    assert [c["name"] for c in web1["containers"]] == ["api", "old-job", "worker"]
    assert web1["container_count"] == 3 and web1["running_container_count"] == 2
    assert web1["container_memory_used_mib"] == 300.0 and web1["container_memory_limit_mib"] == 256.0
    assert vms["legacy1"]["inspected"] is False and "No route to host" in vms["legacy1"]["not_inspected_reason"]
    assert vms["old1"]["not_inspected_reason"] == "VM is stopped" and vms["old1"]["containers"] == []
    assert vms["db1"]["container_count"] == 0


def test_vm_absent_from_guests_is_not_inspected():
    params = facts.fleet()
    params["guests"] = {}
    report = m.build_report(params)
    assert not any(v["inspected"] for v in report["vms"])
    assert report["vms"][0]["not_inspected_reason"] == "no facts gathered inside the VM"
    assert report["consolidation"]["container_count"] == 0


def test_services_from_discovery_without_env_values():
    report = m.build_report(facts.fleet())
    db1 = [v for v in report["vms"] if v["name"] == "db1"][0]
    assert [s["unit"] for s in db1["services"]] == ["hostile-agent.service", "postgresql@15-main.service"]
    pg = db1["services"][1]
    assert pg["migratable"] and pg["ports"] == ["5432/tcp"] and pg["memory_mib"] == 48.0
    assert pg["image"] == "postgres:15"
    assert "env" not in pg["container_spec"] and pg["container_spec"]["env_keys"] == ["PGDATA"]
    assert "/data" not in repr(report) and "PGPASSWORD" not in repr(report)
    assert report["findings"]["migratable_services"][0]["unit"] == "postgresql@15-main.service"
    assert report["findings"]["vms_with_migratable_services"] == ["db1"]


def test_findings_and_totals():
    report = m.build_report(facts.fleet())
    findings, totals = report["findings"], report["totals"]
    assert findings["vms_without_containers"] == ["db1"]
    assert [n["vm"] for n in findings["not_inspected"]] == ["legacy1", "old1"]
    assert [u["container"] for u in findings["unhealthy_containers"]] == [facts.HOSTILE]
    assert findings["containers_per_vm"] == [{"vm": "db1", "count": 0, "running": 0},
                                             {"vm": "web1", "count": 3, "running": 2},
                                             {"vm": "web2", "count": 2, "running": 2}]
    assert totals["vm_layer"]["memory_allocated_mib"] == 4608
    assert totals["vm_layer"]["inspected_memory_allocated_mib"] == 4096
    assert totals["vm_layer"]["guest_memory_used_mib"] == 1070.0
    assert totals["container_layer"] == {"container_count": 5, "running_count": 4, "memory_used_mib": 400.0,
                                         "memory_limit_mib": 320.0, "limited_count": 2, "unlimited_count": 3,
                                         "share_of_guest_used_percent": 37.4}
    assert totals["hypervisor_layer"]["memory_mib"] == 23808


def test_vm_on_unknown_uri_gets_a_capacity_less_hypervisor():
    params = facts.fleet()
    params["vms"].append(facts.vm("lost", uri="qemu+ssh://hv9/system"))
    report = m.build_report(params)
    hv9 = [h for h in report["hypervisors"] if h["uri"] == "qemu+ssh://hv9/system"][0]
    assert hv9["memory_mib"] is None and hv9["vms"] == ["lost"] and hv9["memory_allocated_percent"] is None


@pytest.mark.parametrize("change, option", [
    ({"headroom_percent": 95}, "headroom_percent"),
    ({"headroom_percent": -1}, "headroom_percent"),
    ({"vm_capacity_mib": 0}, "vm_capacity_mib"),
    ({"vms": "web1"}, "vms"),
    ({"vms": [{"memory": 1}]}, "vms[0].name"),
    ({"vms": [{"name": "web1", "memory": "lots"}]}, "vms[web1].memory"),
    ({"vms": [{"name": "web1", "vcpus": -1}]}, "vms[web1].vcpus"),
    ({"vms": [{"name": "web1", "tags": "web,db"}]}, "vms[web1].tags"),
    ({"hypervisors": [{"hostname": "hv1"}]}, "hypervisors[0].uri"),
    ({"hypervisors": [{"uri": "qemu:///system", "cpus": "many"}]}, "hypervisors[0].cpus"),
    ({"hypervisors": [{"uri": "qemu:///system", "memory_mib": -5}]}, "hypervisors[0].memory_mib"),
    ({"hypervisors": [{"uri": "qemu:///system", "cpus": True}]}, "hypervisors[0].cpus"),
    ({"guests": {"web1": "up"}}, "guests[web1]"),
    ({"guests": {"web1": {"reachable": True, "nproc": "many"}}}, "guests[web1].nproc"),
    ({"guests": {"web1": {"reachable": True, "containers": "web"}}}, "guests[web1].containers"),
    ({"guests": {"web1": {"reachable": True, "meminfo": 5}}}, "guests[web1].meminfo"),
    ({"guests": {"web1": {"reachable": True, "loadavg": [1, 2, 3]}}}, "guests[web1].loadavg"),
    ({"guests": {"web1": {"reachable": True, "discovery": "none"}}}, "guests[web1].discovery"),
])
def test_bad_input_names_the_option(change, option):
    params = copy.deepcopy(facts.fleet())
    params.update(change)
    with pytest.raises(ValidationError) as info:
        m.build_report(params)
    assert info.value.option == option
    assert "accepted" in str(info.value)


def test_engine_failure_is_reported_but_the_vm_is_inspected():
    params = facts.fleet()
    params["guests"]["db1"].update({"error": "Cannot connect to the Docker daemon", "engine": None, "containers": []})
    params["guests"]["ghost"] = {"reachable": True}
    report = m.build_report(params)
    db1 = [v for v in report["vms"] if v["name"] == "db1"][0]
    assert db1["inspected"] and db1["inspection_error"] == "Cannot connect to the Docker daemon" and db1["engine"] is None
    assert report["findings"]["inspection_errors"] == [{"vm": "db1", "error": "Cannot connect to the Docker daemon"}]
    assert report["findings"]["guests_without_vm"] == ["ghost"]
    assert any("Partly inspected: db1" in line for line in report["summary"])


def test_meminfo_followed_by_loadavg_line():
    """The role reads /proc/meminfo and /proc/loadavg in one command: the loadavg line is ignored."""
    assert m.meminfo_summary(DEBIAN_MEMINFO + "0.52 0.31 0.20 1/123 456\n")["used_mib"] == 256.0


def test_unreachable_hypervisors_are_findings_and_said_in_the_summary():
    params = facts.fleet()
    assert m.build_report(params)["findings"]["unreachable_hypervisors"] == []
    assert not any("did not answer" in line for line in m.build_report(params)["summary"])
    params["unreachable_hypervisors"] = [{"uri": "qemu+ssh://root@hv3/system", "option": "uris[2]",
                                          "error": "cannot connect: No route to host"}]
    report = m.build_report(params)
    assert report["findings"]["unreachable_hypervisors"] == [
        {"uri": "qemu+ssh://root@hv3/system", "error": "cannot connect: No route to host"}]
    assert ("Hypervisors that did not answer (their VMs are not in this report): qemu+ssh://root@hv3/system "
            "(cannot connect: No route to host).") in report["summary"]
    assert [h["hostname"] for h in report["hypervisors"]] == ["hv1", "hv2"]  # not a hypervisor of the report


@pytest.mark.parametrize("bad", [[{"error": "x"}], [{"uri": 3}], ["qemu:///system"]])
def test_unreachable_hypervisors_need_a_uri(bad):
    params = dict(facts.fleet(), unreachable_hypervisors=bad)
    with pytest.raises(ValidationError) as info:
        m.build_report(params)
    assert str(info.value).startswith("unreachable_hypervisors[0].uri: ")


def test_migration_plan_of_the_discovered_vms():
    """The report carries the estate plan of its VMs' discovery (the same model migrate_plan.yml writes)."""
    report = m.build_report(facts.fleet())
    plan = report["migration_plan"]
    assert plan["schema"] == "hybridops.fleet/migration-plan/v1"
    vms = dict((v["vm"], v) for v in plan["vms"])
    assert vms["db1"]["movable"] == ["postgresql@15-main.service"]
    assert vms["db1"]["blocked"] == [{"unit": "hostile-agent.service", "blockers": ["uses CAP_NET_ADMIN"]}]
    assert vms["db1"]["addresses"] == ["192.168.122.13"] and vms["db1"]["memory_mib"] == 2048
    assert not vms["legacy1"]["inspected"] and "No route to host" in vms["legacy1"]["not_inspected_reason"]
    assert [w["hosts"] for w in plan["waves"]] == [["db1"]]
    assert plan["waves"][0]["commands"] == [
        "ansible-playbook hybridops.fleet.migrate -l db1 -e migrate_service=postgresql@15-main.service"]
    # no VM with a discovery result: no plan
    fleet = facts.fleet()
    fleet["guests"]["db1"]["discovery"] = None
    assert m.build_report(fleet)["migration_plan"] is None
