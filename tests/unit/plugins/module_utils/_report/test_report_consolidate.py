"""fleet_report consolidation: first-fit decreasing of max(used, limit) into VMs minus headroom."""
from ansible_collections.hybridops.fleet.plugins.module_utils._report.consolidate import consolidate, container_size


def c(name, used, limit=None, running=True, ports=()):
    return {"name": name, "memory_used_mib": used if running else None, "memory_limit_mib": limit,
            "running": running, "published_ports": list(ports)}


def vm(name, containers, total=1000.0, memory=1024, vcpus=1, inspected=True, services=()):
    return {"name": name, "inspected": inspected, "memory_mib": memory, "vcpus": vcpus,
            "guest": {"memory_total_mib": total} if inspected else None, "containers": containers,
            "services": [{"unit": s} for s in services]}


def test_size_is_max_of_used_and_limit():
    assert container_size(c("a", 100, 256)) == 256.0
    assert container_size(c("a", 300, 256)) == 300.0
    assert container_size(c("a", 100)) == 100.0
    assert container_size(c("a", None, None, running=False)) == 0.0


def test_everything_fits_on_one_vm():
    vms = [vm("a", [c("a1", 100)]), vm("b", [c("b1", 200)]), vm("c", [c("c1", 300, 350)], vcpus=2)]
    result = consolidate(vms, headroom_percent=20)
    assert result["total_container_memory_mib"] == 650.0
    assert [b["usable_mib"] for b in result["vms"]] == [800.0, 800.0, 800.0]
    assert result["vms_hosting_containers"] == ["a", "b", "c"]
    assert result["vms_needed"] == 1 and result["vms_kept"] == ["a"]
    assert result["freed_vms"] == ["b", "c"]
    assert result["memory_freed_mib"] == 2048 and result["vcpus_freed"] == 3
    assert [(p["container"], p["to_vm"]) for p in result["placement"]] == [("c1", "a"), ("b1", "a"), ("a1", "a")]
    assert [p["container"] for p in result["moves"]] == ["c1", "b1"]
    assert "need 650 MiB" in result["sentence"] and "needs 1 VM(s) (a)" in result["sentence"]
    assert "b, c could be freed (2,048 MiB and 3 vCPU(s) allocated)" in result["sentence"]


def test_nothing_can_be_freed():
    vms = [vm("a", [c("a1", 700)]), vm("b", [c("b1", 600)])]
    result = consolidate(vms, headroom_percent=20)
    assert result["vms_needed"] == 2 and result["freed_vms"] == [] and result["moves"] == []
    assert "no VM can be freed" in result["sentence"]


def test_container_larger_than_any_vm_stays_and_keeps_its_vm():
    vms = [vm("a", [c("huge", 900)]), vm("b", [c("b1", 100)]), vm("c", [c("c1", 100)])]
    result = consolidate(vms, headroom_percent=20)
    assert [p["container"] for p in result["unplaceable"]] == ["huge"]
    huge = result["unplaceable"][0]
    assert huge["to_vm"] == "a" and not huge["moves"] and "larger than any VM's usable capacity (800 MiB)" in huge["reason"]
    # nothing else is put on the VM the oversized container fills
    assert [p["to_vm"] for p in result["placement"] if p["container"] != "huge"] == ["b", "b"]
    assert result["vms_kept"] == ["a", "b"] and result["freed_vms"] == ["c"] and result["vms_needed"] == 2
    assert "huge (900 MiB) fit(s) on no VM" in result["sentence"]


def test_no_containers():
    result = consolidate([vm("a", []), vm("b", [], inspected=False)])
    assert result["container_count"] == 0 and result["vms_needed"] == 0 and result["freed_vms"] == []
    assert result["vms"] == [] and "nothing to consolidate" in result["sentence"]


def test_headroom_changes_the_answer():
    vms = [vm("a", [c("a1", 450)]), vm("b", [c("b1", 450)])]
    assert consolidate(vms, headroom_percent=0)["freed_vms"] == ["b"]   # 900 <= 1000
    assert consolidate(vms, headroom_percent=10)["freed_vms"] == ["b"]  # 900 <= 900 (boundary fits)
    tight = consolidate(vms, headroom_percent=20)                        # 900 > 800
    assert tight["freed_vms"] == [] and tight["vms_needed"] == 2


def test_vm_capacity_option_overrides_memtotal():
    vms = [vm("a", [c("a1", 300)], total=500), vm("b", [c("b1", 300)], total=500)]
    assert consolidate(vms, headroom_percent=20)["freed_vms"] == []
    result = consolidate(vms, capacity_mib=1000, headroom_percent=20)
    assert result["freed_vms"] == ["b"] and result["vms"][0]["capacity_source"] == "vm_capacity_mib"
    assert "20% headroom on 1,000 MiB each" in result["sentence"]


def test_limits_count_even_when_usage_is_low():
    vms = [vm("a", [c("a1", 10, 500)]), vm("b", [c("b1", 10, 500)])]
    result = consolidate(vms, headroom_percent=20)
    assert result["total_container_memory_mib"] == 1000.0 and result["freed_vms"] == []


def test_bins_largest_first_and_deterministic():
    vms = [vm("small", [c("s1", 100)], total=400), vm("big", [c("b1", 100)], total=2000),
           vm("mid", [c("m1", 100)], total=1000)]
    result = consolidate(vms, headroom_percent=0)
    assert result["vms_kept"] == ["big"] and result["freed_vms"] == ["mid", "small"]
    shuffled = consolidate(list(reversed(vms)), headroom_percent=0)
    assert shuffled == result


def test_freed_vm_lists_its_other_services():
    vms = [vm("a", [c("a1", 100)]), vm("b", [c("b1", 50)], services=["nginx.service"])]
    assert consolidate(vms)["freed"] == [{"vm": "b", "memory_mib": 1024, "vcpus": 1, "other_services": ["nginx.service"]}]


def test_memtotal_missing_falls_back_to_libvirt_memory():
    v = vm("a", [c("a1", 100)])
    v["guest"] = {"memory_total_mib": None}
    result = consolidate([v], headroom_percent=50)
    assert result["vms"][0]["capacity_source"] == "libvirt memory" and result["vms"][0]["usable_mib"] == 512.0


def test_same_published_port_or_name_never_share_a_vm():
    # web-b would fit on a by memory, but publishes 8080 like web-a; db-b has db-a's name
    vms = [vm("a", [c("web-a", 300, ports=["8080/tcp"]), c("db", 100)]),
           vm("b", [c("web-b", 200, ports=["8080/tcp"]), c("db", 50)]),
           vm("c", [c("cron", 100, ports=["9090/tcp"])])]
    result = consolidate(vms, headroom_percent=20)
    placed = dict(((p["container"], p["from_vm"]), p["to_vm"]) for p in result["placement"])
    assert placed == {("web-a", "a"): "a", ("web-b", "b"): "b", ("db", "a"): "a", ("db", "b"): "b",
                      ("cron", "c"): "a"}
    assert result["vms_kept"] == ["a", "b"] and result["freed_vms"] == ["c"]
    assert [p["published_ports"] for p in result["placement"] if p["container"] == "cron"] == [["9090/tcp"]]
    assert "never share a VM" in result["rule"]
    assert all("claims" not in p for p in result["placement"])


def test_clash_everywhere_keeps_the_container_home_and_says_why():
    # r (900) fills a, p overflows to its neighbour b; q has room only on b, where p now publishes 80
    vms = [vm("a", [c("p", 700, ports=["80/tcp"]), c("r", 900, ports=["90/tcp"])]),
           vm("b", [c("q", 200, ports=["80/tcp"])])]
    result = consolidate(vms, headroom_percent=0)
    q = [p for p in result["placement"] if p["container"] == "q"][0]
    assert not q["fits"] and q["to_vm"] == "b" and not q["moves"]
    assert q["reason"] == ("clashes on every VM with room: b (port 80/tcp); its own VM now also holds port 80/tcp "
                           "(p from a): that needs a rename or port change")


def test_fallback_home_taken_by_an_earlier_move_is_reported():
    # j (from a) overflows to b; b's own i then fits nowhere and goes home to b, where j holds port 90
    vms = [vm("a", [c("k", 700, ports=["80/tcp"]), c("j", 500, ports=["90/tcp"])]),
           vm("b", [c("i", 400, ports=["90/tcp"])], total=800.0)]
    result = consolidate(vms, headroom_percent=0)
    i = [p for p in result["placement"] if p["container"] == "i"][0]
    assert [(p["container"], p["to_vm"]) for p in result["placement"]] == [("k", "a"), ("j", "b"), ("i", "b")]
    assert not i["fits"] and i["reason"] == ("no VM has room left; its own VM now also holds port 90/tcp (j from a): "
                                             "that needs a rename or port change")
