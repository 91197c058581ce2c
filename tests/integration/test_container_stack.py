"""hybridops.fleet.container_stack against the lab's real dockerd (inside the lab namespace)."""
import json
import time

# fixtures are imported so pytest finds them
from test_container_support import (  # noqa: F401 pylint: disable=unused-import
    PREFIX,
    clean,
    container_ip,
    docker_client,
    dump,
    http_get,
    http_get_retry,
    inspect,
    run_module_file,
    test_images,
)

WEB1 = "hybridops-test/web:1"
WEB2 = "hybridops-test/web:2"
BOX = "hybridops-test/box:1"
STACK = PREFIX + "stack"
NET = PREFIX + "stacknet"
VOL = PREFIX + "stackvol"


def engine_events(client, since):
    """Container events of the engine since a time, in engine order."""
    return list(client.api.events(since=int(since) - 1, until=int(time.time()) + 1,
                                  filters={"type": "container"}, decode=True))


def first_event(events, name, action):
    """timeNano of the first event `action` of container `name` (fails when there is none)."""
    for event in events:
        if event.get("Action") == action and (event.get("Actor") or {}).get("Attributes", {}).get("name") == name:
            return event["timeNano"]
    raise AssertionError("no %r event for %s in %s" % (action, name, [(e.get("Action"), e.get("Actor", {}).get(
        "Attributes", {}).get("name")) for e in events]))


def members(web_image=WEB1, extra=None):
    result = [
        {"name": PREFIX + "db", "image": WEB1, "state": "healthy",
         "volumes": [VOL + ":/data"], "networks": [{"name": NET, "aliases": ["db"]}],
         "secret_env": {"DB_PASSWORD": "hybridops-stack-secret-42"}},
        {"name": PREFIX + "api", "image": WEB1, "state": "healthy", "depends_on": [PREFIX + "db"],
         "networks": [{"name": NET, "aliases": ["api"]}]},
        {"name": PREFIX + "front", "image": web_image, "depends_on": [PREFIX + "api"],
         "networks": [{"name": NET, "aliases": ["front"]}], "env": {"TIER": "front"}},
        {"name": PREFIX + "worker", "image": BOX, "networks": [NET]},
    ]
    return result + (extra or [])


def run(ansible, containers, **kwargs):
    args = {"name": STACK, "containers": containers, "networks": [{"name": NET}], "volumes": [{"name": VOL}]}
    for key in ("max_unavailable", "recreate", "state", "prune"):
        if key in kwargs:
            args[key] = kwargs.pop(key)
    return ansible.run_module("container_stack", args, **kwargs)


def names_in(client):
    return sorted(c["Names"][0].lstrip("/") for c in client.api.containers(all=True)
                  if c["Names"][0].lstrip("/").startswith(PREFIX))


def test_stack_check_create_idempotent_and_reachable(ansible, clean):
    client = clean
    predicted = run(ansible, members(), check=True, diff=True)
    assert predicted["changed"] is True, dump(predicted)
    assert sorted(predicted["changed_members"]) == sorted(m["name"] for m in members())
    assert predicted["networks_created"] == [NET] and predicted["volumes_created"] == [VOL]
    assert predicted["diff"]["after"]["containers"][PREFIX + "front"]["env"] == {"TIER": "front"}
    assert names_in(client) == []

    started = time.time()
    created = run(ansible, members(), diff=True)
    assert created["changed"] is True and created.get("failed") is not True, dump(created)
    assert sorted(created["changed_members"]) == sorted(predicted["changed_members"])
    for name, outcome in created["containers"].items():
        assert outcome["status"] == "ok" and outcome["running"] is True, (name, outcome)
        assert outcome["actions"] == predicted["containers"][name]["actions"]
    # every web member answers over the stack network
    for name in ("db", "api", "front"):
        data = inspect(client, PREFIX + name)
        assert http_get_retry("http://%s:8080/" % container_ip(data, NET)) == "web v1"
    # depends_on: each dependent was created after its dependency reported healthy (engine events)
    events = engine_events(client, started)
    assert first_event(events, PREFIX + "api", "create") > first_event(events, PREFIX + "db", "health_status: healthy")
    assert first_event(events, PREFIX + "front", "create") > first_event(events, PREFIX + "api", "health_status: healthy")
    assert "hybridops-stack-secret-42" not in json.dumps(created)
    assert "hybridops-stack-secret-42" not in ansible.last_stdout

    again = run(ansible, members(), diff=True)
    assert again["changed"] is False and again["changed_members"] == [], dump(again)
    assert again["diff"]["before"] == again["diff"]["after"]
    assert run(ansible, members(), check=True)["changed"] is False


def test_stack_update_prune_and_diff(ansible, clean):
    client = clean
    extra = [{"name": PREFIX + "extra", "image": BOX}]
    run(ansible, members(extra=extra))
    ids = dict((n, inspect(client, n)["Id"]) for n in names_in(client))
    changed = members()
    changed[2]["env"] = {"TIER": "front2"}
    predicted = run(ansible, changed, check=True, diff=True)
    assert predicted["changed_members"] == [PREFIX + "front"], dump(predicted)
    assert predicted["pruned"] == [PREFIX + "extra"]
    assert predicted["diff"]["before"]["containers"][PREFIX + "front"]["env"] == {"TIER": "front"}
    assert predicted["diff"]["after"]["containers"][PREFIX + "front"]["env"] == {"TIER": "front2"}
    assert predicted["diff"]["after"]["containers"][PREFIX + "extra"] == {}
    assert inspect(client, PREFIX + "extra") is not None

    result = run(ansible, changed)
    assert result["changed_members"] == [PREFIX + "front"] and result["pruned"] == [PREFIX + "extra"], dump(result)
    assert inspect(client, PREFIX + "extra") is None
    for name in ("db", "api", "worker"):
        assert inspect(client, PREFIX + name)["Id"] == ids[PREFIX + name]
    assert inspect(client, PREFIX + "front")["Id"] != ids[PREFIX + "front"]
    assert run(ansible, changed)["changed"] is False


def test_stack_partial_failure_names_members_and_rerun_converges(ansible, clean):
    client = clean
    # two members publish the same host port: the second start fails at the engine
    clash = [{"name": PREFIX + "p1", "image": WEB1, "ports": ["127.0.0.1:18181:8080"]},
             {"name": PREFIX + "p2", "image": WEB1, "ports": ["127.0.0.1:18181:8080"], "depends_on": [PREFIX + "p1"]},
             {"name": PREFIX + "p3", "image": BOX, "depends_on": [PREFIX + "p2"]},
             {"name": PREFIX + "ok", "image": BOX}]
    result = run(ansible, clash)
    assert result.get("failed") is True, dump(result)
    assert result["failed_members"] == [PREFIX + "p2"]
    assert result["skipped_members"] == [PREFIX + "p3"]
    assert sorted(result["changed_members"]) == sorted([PREFIX + "p1", PREFIX + "ok"])
    assert PREFIX + "p2" in result["msg"] and "skipped" in result["msg"] and "rerun" in result["msg"]
    assert "18181" in result["containers"][PREFIX + "p2"]["error"] or "allocated" in result["containers"][PREFIX + "p2"]["error"]
    assert inspect(client, PREFIX + "p3") is None
    fixed = [dict(m) for m in clash]
    fixed[1]["ports"] = ["127.0.0.1:18182:8080"]
    rerun = run(ansible, fixed)
    assert rerun.get("failed") is not True, dump(rerun)
    assert sorted(rerun["changed_members"]) == sorted([PREFIX + "p2", PREFIX + "p3"])
    assert run(ansible, fixed)["changed"] is False


def test_stack_rolling_update_with_max_unavailable(ansible, clean):
    client = clean
    roll = [{"name": PREFIX + "r%d" % i, "image": WEB1, "state": "healthy",
             "networks": [{"name": NET, "aliases": ["svc"]}]} for i in range(3)]
    run(ansible, roll, recreate="rolling")
    old = dict((m["name"], inspect(client, m["name"])["Id"]) for m in roll)
    updated = [dict(m, image=WEB2) for m in roll]
    result = run(ansible, updated, recreate="rolling", max_unavailable=1)
    assert result.get("failed") is not True, dump(result)
    assert sorted(result["changed_members"]) == sorted(old)
    for name, outcome in result["containers"].items():
        assert outcome["action"] == "rolling"
        data = inspect(client, name)
        assert data["Id"] != old[name]
        assert http_get("http://%s:8080/" % container_ip(data, NET)) == "web v2"
    assert not [n for n in names_in(client) if n.endswith("-hybridops-next")]


def test_stack_bad_member_fails_naming_it_and_changes_nothing(ansible, clean):
    bad = members()
    bad[1]["restart_policy"] = "sometimes"
    result = run(ansible, bad)
    assert result.get("failed") is True
    assert "containers[%s].restart_policy" % bad[1]["name"] in result["msg"] and "unless-stopped" in result["msg"]
    assert names_in(clean) == []
    bad = members()
    bad[0]["depends_on"] = [PREFIX + "nobody"]
    result = run(ansible, bad)
    assert "containers[%s].depends_on" % bad[0]["name"] in result["msg"]
    assert names_in(clean) == []


def test_stack_absent(ansible, clean):
    run(ansible, members())
    predicted = run(ansible, [], state="absent", check=True)
    assert predicted["changed"] is True and len(predicted["pruned"]) == 4
    assert len(names_in(clean)) == 4
    removed = run(ansible, [], state="absent")
    assert sorted(removed["pruned"]) == sorted(m["name"] for m in members())
    assert names_in(clean) == []
    assert NET in removed["networks_removed"]
    assert run(ansible, [], state="absent")["changed"] is False


def test_stack_on_a_unix_engine_never_imports_the_sdk(ansible, clean, tmp_path):
    stack = [{"name": PREFIX + "worker", "image": BOX, "networks": [NET]},
             {"name": PREFIX + "solo", "image": WEB1, "env": {"TIER": "solo"}}]
    created = run(ansible, stack)
    assert created["changed"] is True and created.get("failed") is not True, dump(created)
    args = {"name": STACK, "containers": stack, "networks": [{"name": NET}], "volumes": [{"name": VOL}]}
    result, sdk = run_module_file(tmp_path, "container_stack", args)
    assert result["changed"] is False and result.get("failed") is not True, dump(result)
    assert sorted(result["containers"]) == sorted(m["name"] for m in stack)
    assert sdk == "[]"
    # nor does a change (a recreate: create, stop, rename, start, remove), which goes over the socket too
    stack[1]["env"] = {"TIER": "changed"}
    result, sdk = run_module_file(tmp_path, "container_stack", args)
    assert result["changed"] is True and result["changed_members"] == [PREFIX + "solo"], dump(result)
    assert sdk == "[]"
