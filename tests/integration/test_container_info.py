"""hybridops.fleet.container_info against the lab's real dockerd."""
# fixtures are imported so pytest finds them
from test_container_support import PREFIX, clean, docker_client, dump, run_module_file, test_images  # noqa: F401 pylint: disable=unused-import


def test_info_filters_health_details_stats(ansible, clean):
    stack = PREFIX + "infostack"
    results = ansible.run_tasks([
        {"hybridops.fleet.container_stack": {
            "name": stack, "volumes": [{"name": PREFIX + "infovol"}],
            "containers": [
                {"name": PREFIX + "info-web", "image": "hybridops-test/web:1", "state": "healthy", "memory": "48m"},
                {"name": PREFIX + "info-box", "image": "hybridops-test/box:1"},
            ]}},
        {"hybridops.fleet.container": {"name": PREFIX + "info-other", "image": "hybridops-test/box:1",
                                       "state": "present"}},
        {"hybridops.fleet.container_info": {"stack": stack, "details": True, "stats": True}},
        {"hybridops.fleet.container_info": {"name": [PREFIX + "info-other"], "gather": [
            "containers", "images", "networks", "volumes"]}},
        {"hybridops.fleet.container_info": {"name": [PREFIX + "info-other"], "all": False}},
    ])["localhost"]
    assert all(not r.get("failed") for r in results), dump(results)
    info = results[2]
    assert info["changed"] is False
    assert info["engine"]["api_version"] and info["engine"]["address"].startswith("unix://")
    by_name = dict((c["name"], c) for c in info["containers"])
    assert sorted(by_name) == [PREFIX + "info-box", PREFIX + "info-web"]
    web = by_name[PREFIX + "info-web"]
    assert web["health"] == "healthy" and web["running"] is True and web["stack"] == stack
    assert web["limits"]["memory_limit_bytes"] == 48 * 1024 * 1024
    assert web["usage"]["memory_bytes"] > 0 and web["usage"]["pids"] >= 1
    assert by_name[PREFIX + "info-box"]["health"] is None
    assert web["networks"]["bridge"]["ip"]

    everything = results[3]
    assert [c["name"] for c in everything["containers"]] == [PREFIX + "info-other"]
    assert everything["containers"][0]["running"] is False
    assert any("hybridops-test/web:1" in i["tags"] for i in everything["images"])
    assert any(n["name"] == "bridge" for n in everything["networks"])
    assert any(v["name"] == PREFIX + "infovol" for v in everything["volumes"])
    assert results[4]["containers"] == []


def test_info_with_details_and_stats_never_imports_the_sdk(ansible, clean, tmp_path):
    created = ansible.run_module("container", {"name": PREFIX + "info-plain", "image": "hybridops-test/web:1"})
    assert created["changed"] is True, dump(created)
    result, sdk = run_module_file(tmp_path, "container_info", {
        "name": [PREFIX + "info-plain"], "details": True, "stats": True,
        "gather": ["containers", "images", "networks", "volumes"]})
    assert not result.get("failed"), dump(result)
    [plain] = result["containers"]
    assert plain["running"] and plain["usage"]["memory_bytes"] > 0 and plain["limits"] is not None
    assert sdk == "[]"


def test_info_unreachable_engine(ansible, clean):
    result = ansible.run_module("container_info", {"docker_host": "unix:///run/hybridops-it-none.sock"})
    assert result.get("failed") is True and "unix:///run/hybridops-it-none.sock" in result["msg"]
