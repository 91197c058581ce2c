"""ContainerManager and StackManager against the in-memory fake engine."""
import pytest
from docker import errors as docker_errors
from docker_fake_engine import FakeClient, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container as cmod, container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import ContainerManager, RolloutFailed
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.stack import StackManager, order_members

WEB = make_image("web:1", cmd=["httpd"], healthcheck={"Test": ["CMD", "true"], "Interval": 10 ** 9})
WEB2 = make_image("web:2", cmd=["httpd", "-v"], healthcheck={"Test": ["CMD", "true"], "Interval": 10 ** 9})
BOX = make_image("box:1", cmd=["sleep", "1000"])


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(cmod, "POLL_INTERVAL", 0)
    fake = FakeClient()
    for image in (WEB, WEB2, BOX):
        fake.api.add_image(image)
    return fake


def spec(name="c1", **kwargs):
    base = {"name": name, "image": "web:1", "state": "started"}
    base.update(kwargs)
    return base


# ---------------------------------------------------------------- ContainerManager

def test_check_mode_predicts_and_changes_nothing(client):
    predicted = ContainerManager(client, check_mode=True).run(spec())
    assert predicted["changed"] is True and predicted["actions"] == ["create", "start"]
    assert client.api.mutations() == []
    real = ContainerManager(client).run(spec())
    assert real["actions"] == predicted["actions"]
    again = ContainerManager(client).run(spec())
    assert again["changed"] is False and again["action"] == "none"


def test_recreate_and_update_paths(client):
    manager = ContainerManager(client)
    manager.run(spec(memory="64m"))
    cid = client.api.inspect_container("c1")["Id"]
    updated = manager.run(spec(memory="128m", restart_policy="always"))
    assert updated["action"] == "update"
    assert client.api.inspect_container("c1")["Id"] == cid
    assert client.api.inspect_container("c1")["HostConfig"]["Memory"] == 128 * 1024 ** 2
    recreated = manager.run(spec(memory="128m", restart_policy="always", env={"A": "1"}))
    assert recreated["action"] == "recreate" and recreated["actions"] == ["recreate", "start"]
    assert client.api.inspect_container("c1")["Id"] != cid


def test_unknown_image_without_source_fails_before_any_mutation(client):
    with pytest.raises(ValidationError) as info:
        ContainerManager(client).run(spec(image="nope:1", pull="never"))
    assert info.value.option == "image" and "container_image" in str(info.value)
    with pytest.raises(ValidationError) as info:
        ContainerManager(client).run(spec(image="nope:1"))
    assert "pulling it failed" in str(info.value) and "no such host" in str(info.value)
    assert [c for c in client.api.mutations() if c[0] != "pull"] == []


def test_rolling_success_swaps_after_health(client):
    manager = ContainerManager(client)
    manager.run(spec(recreate="rolling"))
    old = client.api.inspect_container("c1")["Id"]
    result = manager.run(spec(image="web:2", recreate="rolling"))
    assert result["action"] == "rolling"
    new = client.api.inspect_container("c1")
    assert new["Id"] != old and new["Name"] == "/c1"
    events = [e for e in client.api.events if e[0] in ("start", "remove")]
    # the replacement started (under its temporary name) before the old one was removed
    assert events[-2:] == [("start", "c1-hybridops-next"), ("remove", "c1")]


def test_rolling_failure_keeps_old(client):
    manager = ContainerManager(client)
    manager.run(spec(recreate="rolling"))
    old = client.api.inspect_container("c1")["Id"]
    client.api.unhealthy.add("c1")
    with pytest.raises(RolloutFailed) as info:
        manager.run(spec(image="web:2", recreate="rolling"))
    assert "still running" in str(info.value)
    assert info.value.details["rolled_back"] is True
    assert client.api.inspect_container("c1")["Id"] == old
    assert client.api.inspect_container("c1")["State"]["Running"] is True
    with pytest.raises(docker_errors.NotFound):
        client.api.inspect_container("c1-hybridops-next")


def test_rolling_with_fixed_host_port_is_refused(client):
    with pytest.raises(ValidationError) as info:
        ContainerManager(client).run(spec(recreate="rolling", ports=["8080:80"]))
    assert info.value.option == "recreate"
    assert client.api.mutations() == []


# ---------------------------------------------------------------- StackManager

def stack(members, **kwargs):
    params = {"name": "s1", "state": "present", "containers": members, "prune": True, "networks": [],
              "volumes": [], "max_workers": 4}
    params.update(kwargs)
    return params


MEMBERS = [
    {"name": "db", "image": "box:1", "state": "healthy"},
    {"name": "api", "image": "web:1", "depends_on": ["db"]},
    {"name": "web", "image": "web:1", "depends_on": ["api"], "env": {"X": "1"}},
    {"name": "worker", "image": "box:1"},
]


def test_stack_converges_in_dependency_order_and_is_idempotent(client):
    result = StackManager(client, max_workers=4).run(stack(MEMBERS))
    assert sorted(result["changed_members"]) == ["api", "db", "web", "worker"]
    assert result["failed_members"] == []
    starts = [e[1] for e in client.api.events if e[0] == "start"]
    creates = [e[1] for e in client.api.events if e[0] == "create"]
    assert starts.index("db") < creates.index("api")
    assert starts.index("api") < creates.index("web")
    for name in ("db", "api", "web", "worker"):
        labels = client.api.inspect_container(name)["Config"]["Labels"]
        assert labels[cs.LABEL_STACK] == "s1" and labels[cs.LABEL_MEMBER] == name
    before = len(client.api.mutations())
    again = StackManager(client, diff=True).run(stack(MEMBERS))
    assert again["changed"] is False and again["changed_members"] == []
    assert len(client.api.mutations()) == before
    assert again["diff"]["before"] == again["diff"]["after"]


def test_stack_check_mode_and_diff(client):
    predicted = StackManager(client, check_mode=True, diff=True).run(stack(MEMBERS, networks=[{"name": "n1"}]))
    assert client.api.mutations() == []
    assert sorted(predicted["changed_members"]) == ["api", "db", "web", "worker"]
    assert predicted["networks_created"] == ["n1"]
    assert predicted["diff"]["after"]["containers"]["web"]["env"] == {"X": "1"}
    assert predicted["diff"]["before"]["containers"]["web"] == {}
    StackManager(client).run(stack(MEMBERS, networks=[{"name": "n1"}]))
    changed = [dict(m) for m in MEMBERS]
    changed[2]["env"] = {"X": "2"}
    predicted = StackManager(client, check_mode=True, diff=True).run(stack(changed, networks=[{"name": "n1"}]))
    assert predicted["changed_members"] == ["web"]
    assert predicted["containers"]["web"]["action"] == "recreate"
    assert predicted["diff"]["before"]["containers"]["web"]["env"] == {"X": "1"}
    assert predicted["diff"]["after"]["containers"]["web"]["env"] == {"X": "2"}
    assert list(predicted["diff"]["after"]["containers"]) == ["web"]


def test_stack_prunes_undeclared_labelled_members_only(client):
    StackManager(client).run(stack(MEMBERS))
    ContainerManager(client).run(spec("outsider"))  # not in the stack: never pruned
    result = StackManager(client).run(stack(MEMBERS[:2]))
    assert sorted(result["pruned"]) == ["web", "worker"]
    names = sorted(c["Names"][0].lstrip("/") for c in client.api.containers(all=True))
    assert names == ["api", "db", "outsider"]
    kept = StackManager(client).run(stack(MEMBERS[:1], prune=False))
    assert kept["pruned"] == []


def test_stack_partial_failure_reports_and_rerun_converges(client):
    client.api.fail_start.add("api")
    result = StackManager(client).run(stack(MEMBERS))
    assert result["failed_members"] == ["api"]
    assert result["skipped_members"] == ["web"]
    assert "api failed" in result["containers"]["web"]["error"]
    assert "driver failed" in result["containers"]["api"]["error"]
    assert sorted(result["changed_members"]) == ["db", "worker"]
    # the run as a whole is a failure (the runner fails the task with this message and the whole result)
    assert result["failed"] is True
    assert result["msg"].startswith("stack s1: 1 member(s) failed (api: ")
    assert "skipped because a dependency failed: web; changed: db, worker; unchanged: none." in result["msg"]
    client.api.fail_start.clear()
    rerun = StackManager(client).run(stack(MEMBERS))
    assert rerun["failed_members"] == [] and sorted(rerun["changed_members"]) == ["api", "web"]
    assert "failed" not in rerun and "msg" not in rerun
    assert StackManager(client).run(stack(MEMBERS))["changed"] is False


def test_stack_validation_before_any_change(client):
    bad = [dict(MEMBERS[0]), {"name": "xx", "image": "web:1", "ports": ["nope"]}]
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(stack(bad))
    assert info.value.option == "containers[xx].ports[0]"
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(stack([{"name": "xx", "image": "web:1", "colour": "red"}]))
    assert info.value.option == "containers[0].colour"
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(stack([{"name": "xx", "image": "nope:1", "pull": "never"}]))
    assert "containers[xx].image" in str(info.value)
    assert client.api.mutations() == []


def test_depends_on_validation():
    assert order_members([{"name": "a", "depends_on": ["b"]}, {"name": "b"}]) == ["b", "a"]
    with pytest.raises(ValidationError) as info:
        order_members([{"name": "a", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}])
    assert "cycle" in str(info.value)
    with pytest.raises(ValidationError) as info:
        order_members([{"name": "a", "depends_on": ["zzz"]}])
    assert info.value.option == "containers[a].depends_on"


def test_max_unavailable_bounds_concurrent_replacements(client):
    members = [{"name": "m%d" % i, "image": "box:1"} for i in range(6)]
    StackManager(client, max_workers=6).run(stack(members))
    active = {"now": 0, "peak": 0}
    real_remove = client.api.remove_container

    def tracking_remove(ref, **kwargs):
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
        import time
        time.sleep(0.05)
        real_remove(ref, **kwargs)
        active["now"] -= 1
    client.api.remove_container = tracking_remove
    changed = [dict(m, env={"V": "2"}) for m in members]
    result = StackManager(client, max_workers=6).run(stack(changed, max_workers=6, max_unavailable=1))
    assert sorted(result["changed_members"]) == sorted(m["name"] for m in members)
    assert active["peak"] == 1


def test_stack_absent_removes_labelled(client):
    StackManager(client).run(stack(MEMBERS, networks=[{"name": "n1"}]))
    result = StackManager(client).run({"name": "s1", "state": "absent"})
    assert sorted(result["pruned"]) == ["api", "db", "web", "worker"]
    assert client.api.containers(all=True) == []


def test_unknown_network_fails_before_any_change(client):
    with pytest.raises(ValidationError) as info:
        ContainerManager(client).run(spec(networks=["nonet"]))
    assert info.value.option == "networks" and "nonet" in str(info.value)
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(stack([{"name": "aa", "image": "box:1"},
                                        {"name": "bb", "image": "box:1", "networks": ["nonet"]}]))
    assert info.value.option == "containers[bb].networks"
    assert client.api.mutations() == []
    # a network declared by the stack is fine (created first; in check mode it does not exist yet)
    predicted = StackManager(client, check_mode=True).run(
        stack([{"name": "bb", "image": "box:1", "networks": ["n1"]}], networks=[{"name": "n1"}]))
    assert predicted["networks_created"] == ["n1"] and client.api.mutations() == []


def test_network_and_volume_managers(client):
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import (
        EngineNetworkManager,
        EngineVolumeManager,
    )
    predicted = EngineNetworkManager(client, check_mode=True).run({"name": "n2", "state": "present"})
    assert predicted["changed"] is True and predicted["actions"] == ["create"]
    assert client.api.mutations() == []
    assert EngineNetworkManager(client).run({"name": "n2", "state": "present"})["changed"] is True
    assert EngineNetworkManager(client).run({"name": "n2", "state": "present"})["changed"] is False
    with pytest.raises(ValidationError) as info:
        EngineNetworkManager(client).run({"name": "n2", "state": "present", "driver": "macvlan"})
    assert info.value.option == "driver" and "force" in str(info.value)
    assert EngineVolumeManager(client).run({"name": "v1", "state": "present"})["changed"] is True
    assert EngineVolumeManager(client).run({"name": "v1", "state": "present"})["changed"] is False
    assert EngineVolumeManager(client, check_mode=True).run({"name": "v1", "state": "absent"})["changed"] is True
    assert EngineVolumeManager(client).run({"name": "v1", "state": "absent"})["actions"] == ["remove"]


@pytest.mark.parametrize("kind,params,option", [
    ("network", {"driver": "brdige"}, "driver"),
    ("network", {"labels": {"team": ["a"]}}, "labels.team"),
    ("network", {"options": {"mtu": {"x": 1}}}, "options.mtu"),
    ("volume", {"driver": "locla"}, "driver"),
    ("volume", {"driver_opts": {"o": None}}, "driver_opts.o"),
    ("volume", {"labels": "team=a"}, "labels"),
])
def test_network_and_volume_options_checked_before_any_change(client, kind, params, option):
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import (
        EngineNetworkManager,
        EngineVolumeManager,
    )
    manager = {"network": EngineNetworkManager, "volume": EngineVolumeManager}[kind](client)
    with pytest.raises(ValidationError) as info:
        manager.run(dict({"name": "x1", "state": "present", "force": True}, **params))
    assert info.value.option == option and info.value.accepted
    assert client.api.mutations() == []


def test_unexpected_error_in_a_member_is_reported_not_hung(client):
    manager = StackManager(client)
    real_apply = manager.containers.apply

    def apply(plan, wait_timeout=120):
        if plan["name"] == "worker":
            raise RuntimeError("sdk surprise")
        return real_apply(plan, wait_timeout=wait_timeout)
    manager.containers.apply = apply
    result = manager.run(stack(MEMBERS))
    assert result["failed_members"] == ["worker"]
    assert "RuntimeError: sdk surprise" in result["containers"]["worker"]["error"]
    assert sorted(result["changed_members"]) == ["api", "db", "web"]


# ---------------------------------------------------------------- hostile member input

@pytest.mark.parametrize("bad,option,accepted", [
    ([{"name": "xx", "image": "web:1"}, {"name": "/xx", "image": "web:1"}], "containers[1].name", "distinct"),
    ([{"name": 5, "image": "web:1"}], "containers[0].name", "letters, digits"),
    ([{"name": "w", "image": "web:1"}], "containers[0].name", "2 or more"),
    ([{"name": "web", "image": "web:1", "stop_timeout": "abc"}], "containers[web].stop_timeout", ">= 0"),
    ([{"name": "web", "image": "web:1", "restart_policy": "on-failure", "restart_retries": "x"}],
     "containers[web].restart_retries", ">= 0"),
    ([{"name": "web", "image": "web:1", "wait_timeout": "soon"}], "containers[web].wait_timeout", ">= 0"),
    ([{"name": "web", "image": "web:1"}, {"name": "api", "image": "web:1", "depends_on": "web"}],
     "containers[api].depends_on", "list of member names"),
    ([{"name": "web", "image": "web:1", "ports": ["8080:80", "127.0.0.256:18082:80"]}],
     "containers[web].ports[1]", "IPv4"),
    ([{"name": "web", "image": "web:1", "ports": ["-5:80"]}], "containers[web].ports[0]", "HOST_PORT"),
    ([{"name": "web", "image": "web:1", "pids_limit": -5}], "containers[web].pids_limit", "unlimited"),
    ([{"name": "web", "image": "web:1", "hostname": "web\nevil"}], "containers[web].hostname", "DNS name"),
    ([{"name": "web", "image": "web:1", "env": {"A=B": "1"}}], "containers[web].env", "'='"),
])
def test_stack_hostile_member_fails_before_prune(client, bad, option, accepted):
    # an undeclared labelled container exists: pruning it would be the first change
    StackManager(client).run(stack([{"name": "old", "image": "box:1"}]))
    before = len(client.api.mutations())
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(stack(bad))
    assert info.value.option == option and accepted in str(info.value)
    assert len(client.api.mutations()) == before
    assert [c["Names"][0] for c in client.api.containers(all=True)] == ["/old"]


@pytest.mark.parametrize("params,option", [
    ({"max_unavailable": -1}, "max_unavailable"),
    ({"max_unavailable": 0}, "max_unavailable"),
    ({"max_workers": 0}, "max_workers"),
    ({"networks": [{"name": "ok-net"}, {"name": "bad\nnet"}]}, "networks[1].name"),
    ({"networks": [{"name": "-net"}]}, "networks[0].name"),
    ({"volumes": [{"name": "v<1>"}]}, "volumes[0].name"),
])
def test_stack_hostile_stack_options_fail_before_any_change(client, params, option):
    StackManager(client).run(stack([{"name": "old", "image": "box:1"}]))
    before = len(client.api.mutations())
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(dict(stack([{"name": "web", "image": "web:1"}]), **params))
    assert info.value.option == option
    assert len(client.api.mutations()) == before


def test_stack_members_named_with_and_without_slash_depend_on_each_other(client):
    result = StackManager(client).run(stack([{"name": "/db", "image": "box:1"},
                                             {"name": "api", "image": "box:1", "depends_on": ["/db"]}]))
    assert sorted(result["changed_members"]) == ["api", "db"]


@pytest.mark.parametrize("params,option", [
    ({"name": "bad\nnet"}, "name"),
    ({"name": "-net"}, "name"),
    ({"name": "<net>&'\""}, "name"),
    ({"name": "n3", "subnet": "172.30.0.1/24"}, "subnet"),
    ({"name": "n3", "subnet": "172.30.0.0"}, "subnet"),
    ({"name": "n3", "subnet": "172.30.0.0/24", "gateway": "172.31.0.1"}, "gateway"),
    ({"name": "n3", "subnet": "172.30.0.0/24", "gateway": "172.30.0.256"}, "gateway"),
    ({"name": "n3", "gateway": "172.30.0.1"}, "gateway"),
])
def test_network_hostile_input_fails_before_the_engine_is_asked(client, params, option):
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import EngineNetworkManager
    with pytest.raises(ValidationError) as info:
        EngineNetworkManager(client).run(dict(params, state="present"))
    assert info.value.option == option and info.value.accepted
    assert client.api.calls == []


@pytest.mark.parametrize("name", ["bad\nvol", "-vol", "v<1>", "a/b", ""])
def test_volume_hostile_names_fail_before_the_engine_is_asked(client, name):
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import EngineVolumeManager
    with pytest.raises(ValidationError) as info:
        EngineVolumeManager(client).run({"name": name, "state": "present"})
    assert info.value.option == "name"
    assert client.api.calls == []
