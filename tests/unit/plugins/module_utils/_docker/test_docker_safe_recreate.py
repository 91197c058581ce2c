"""Recreates that never lose the working container, leftovers of killed runs, interrupted stacks (fake engine)."""
import pytest
from docker_fake_engine import FakeClient, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container as cmod
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import (
    NEW_MARK,
    OLD_MARK,
    ContainerManager,
    ReplaceFailed,
    leftovers,
    temporary_name,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.stack import StackManager, interrupted_message

BOX = make_image("box:1", cmd=["sleep", "1000"])


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(cmod, "POLL_INTERVAL", 0)
    guard.reset()
    fake = FakeClient()
    fake.api.add_image(BOX)
    yield fake
    guard.reset()


def spec(name="c1", **kwargs):
    base = {"name": name, "image": "box:1", "state": "started"}
    base.update(kwargs)
    return base


def names(client):
    return sorted(c["Names"][0].lstrip("/") for c in client.api.containers(all=True))


def test_temporary_names_are_valid_and_distinct():
    first, second = temporary_name("web", NEW_MARK), temporary_name("web", NEW_MARK)
    assert first != second and first.startswith("web.hybridops-new-") and len(first) == len("web.hybridops-new-") + 6
    assert leftovers("web", ["/" + first]) == ([], [first])


def test_leftovers_match_only_this_containers_temporaries():
    listing = ["/web", "/web.hybridops-new-0a1b2c", "/web.hybridops-old-ffffff", "/web-hybridops-next",
               "/web2.hybridops-new-0a1b2c", "/web.hybridops-new-zzzzzz", "/web.hybridops-new-0a1b2c3", "/webx"]
    assert leftovers("web", listing) == (["web.hybridops-old-ffffff"], ["web-hybridops-next", "web.hybridops-new-0a1b2c"])
    assert leftovers("web2", listing) == ([], ["web2.hybridops-new-0a1b2c"])


def test_recreate_creates_the_replacement_before_touching_the_old_one(client):
    manager = ContainerManager(client)
    manager.run(spec(ports=["8080:8080"]))
    old = client.api.inspect_container("c1")["Id"]
    del client.api.events[:]
    result = manager.run(spec(ports=["8080:8080"], env={"A": "1"}))
    assert result["actions"] == ["recreate", "start"] and result["recreated"] is True
    ops = [(op, name.split(".hybridops-")[0] + (".new" if NEW_MARK in name else ".old" if OLD_MARK in name else ""))
           for op, name in client.api.events]
    # created beside, then the old one stops (fixed host port), steps aside, the new one takes the name and starts
    assert ops == [("create", "c1.new"), ("stop", "c1"), ("rename", "c1.old"), ("rename", "c1"), ("start", "c1"),
                   ("remove", "c1.old")]
    assert client.api.inspect_container("c1")["Id"] != old and names(client) == ["c1"]
    assert client.api.removed_with_volumes[-1] is True  # the old container's anonymous volumes go with it


def test_keep_volumes_keeps_the_old_containers_anonymous_volumes(client):
    manager = ContainerManager(client)
    manager.run(spec())
    manager.run(spec(env={"A": "1"}, keep_volumes=True))
    assert client.api.removed_with_volumes[-1] is False


def test_a_replacement_the_engine_refuses_leaves_the_old_container_running(client):
    manager = ContainerManager(client)
    manager.run(spec())
    old = client.api.inspect_container("c1")["Id"]
    client.api.refuse_create = lambda name, body: (
        "error gathering device information while adding custom device \"/dev/nope\": no such file or directory"
        if NEW_MARK in name else None)
    with pytest.raises(ReplaceFailed) as info:
        manager.run(spec(env={"A": "1"}))
    message = str(info.value)
    assert "the engine refused the replacement container" in message and "/dev/nope" in message
    assert "the old container %s is still running" % old[:12] in message
    assert info.value.details["rolled_back"] is True
    data = client.api.inspect_container("c1")
    assert data["Id"] == old and data["State"]["Running"] and names(client) == ["c1"]
    assert not [e for e in client.api.events if e[0] == "stop"]


def test_a_replacement_that_cannot_start_gives_the_old_container_back(client):
    manager = ContainerManager(client)
    manager.run(spec(ports=["8080:8080"]))
    old = client.api.inspect_container("c1")["Id"]
    client.api.refuse_start = lambda data: ("Bind for 0.0.0.0:9090 failed: port is already allocated"
                                            if data["Id"] != old else None)
    with pytest.raises(ReplaceFailed) as info:
        manager.run(spec(ports=["9090:8080"]))
    message = str(info.value)
    assert "could not be started" in message and "port is already allocated" in message
    assert "brought back: renamed back to c1, running" in message
    data = client.api.inspect_container("c1")
    assert data["Id"] == old and data["State"]["Running"] and names(client) == ["c1"]


def test_a_stopped_container_is_recreated_stopped(client):
    manager = ContainerManager(client)
    manager.run(spec(state="stopped"))
    result = manager.run(spec(state="stopped", env={"A": "1"}))
    assert result["actions"] == ["recreate"]
    assert not client.api.inspect_container("c1")["State"]["Running"] and names(client) == ["c1"]


def test_the_next_run_cleans_up_after_a_killed_run(client):
    manager = ContainerManager(client)
    manager.run(spec())
    old = client.api.inspect_container("c1")["Id"]
    # killed after the old one was parked, before the new one took the name
    client.api.stop("c1")
    client.api.rename("c1", "c1.hybridops-old-123abc")
    client.api.create_container_from_config({"Image": "box:1"}, "c1.hybridops-new-456def")
    result = manager.run(spec())
    assert result["recovered"] == ["removed leftover c1.hybridops-new-456def",
                                   "renamed leftover c1.hybridops-old-123abc back to c1"]
    assert names(client) == ["c1"] and client.api.inspect_container("c1")["Id"] == old
    assert client.api.inspect_container("c1")["State"]["Running"]
    # the name is taken: a parked old container and a rolling temporary are just removed
    client.api.create_container_from_config({"Image": "box:1"}, "c1.hybridops-old-aaaaaa")
    client.api.create_container_from_config({"Image": "box:1"}, "c1-hybridops-next")
    again = manager.run(spec())
    assert sorted(again["recovered"]) == ["removed leftover c1-hybridops-next", "removed leftover c1.hybridops-old-aaaaaa"]
    assert names(client) == ["c1"]
    assert ContainerManager(client).run(spec())["changed"] is False


def test_check_mode_predicts_the_clean_up_and_leaves_leftovers_alone(client):
    client.api.create_container_from_config({"Image": "box:1"}, "c1.hybridops-new-456def")
    del client.api.calls[:]
    result = ContainerManager(client, check_mode=True).run(spec())
    assert result["recovered"] == ["removed leftover c1.hybridops-new-456def"] and result["changed"] is True
    assert client.api.mutations() == []


MEMBERS = [
    {"name": "db", "image": "box:1"},
    {"name": "api", "image": "box:1", "depends_on": ["db"]},
    {"name": "web", "image": "box:1", "depends_on": ["api"]},
]


def test_an_interrupted_stack_starts_nothing_new_and_says_what_was_done(client, monkeypatch):
    real_apply = ContainerManager.apply

    def apply_then_signal(self, plan, wait_timeout=120):
        outcome = real_apply(self, plan, wait_timeout)
        guard.request_stop("SIGTERM")  # the signal arrives while db is being converged
        return outcome
    monkeypatch.setattr(ContainerManager, "apply", apply_then_signal)
    result = StackManager(client).run({"name": "s1", "containers": MEMBERS})
    assert result["interrupted"] == "SIGTERM"
    assert result["changed_members"] == ["db"] and sorted(result["skipped_members"]) == ["api", "web"]
    assert "interrupted by SIGTERM" in result["containers"]["api"]["error"]
    assert names(client) == ["db"]
    message = interrupted_message(result)
    assert result["failed"] is True and result["msg"] == message
    assert "interrupted by SIGTERM" in message and "changed: db" in message and "not started: api, web" in message
    monkeypatch.setattr(ContainerManager, "apply", real_apply)
    guard.reset()
    rerun = StackManager(client).run({"name": "s1", "containers": MEMBERS})
    assert sorted(rerun["changed_members"]) == ["api", "web"] and "interrupted" not in rerun


def test_a_stack_recovers_its_members_leftovers(client):
    StackManager(client).run({"name": "s1", "containers": MEMBERS})
    client.api.create_container_from_config({"Image": "box:1"}, "api.hybridops-new-0a0a0a")
    result = StackManager(client).run({"name": "s1", "containers": MEMBERS})
    assert result["recovered"] == ["removed leftover api.hybridops-new-0a0a0a"] and result["changed"] is True
    assert names(client) == ["api", "db", "web"]


def test_a_signal_during_a_health_wait_ends_it(client):
    manager = ContainerManager(client)
    manager.run(spec())
    guard.request_stop("SIGINT")
    with pytest.raises(guard.Interrupted) as info:
        # no healthcheck and require_health: the wait would poll until the timeout
        manager.wait_healthy("c1", 3600, require_health=True)
    assert "interrupted by SIGINT while waiting for c1 to become healthy" in str(info.value)


def test_a_forced_network_recreate_reconnects_its_containers(client):
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import EngineNetworkManager
    EngineNetworkManager(client).run({"name": "n1", "state": "present"})
    ContainerManager(client).run(spec(networks=[{"name": "n1", "aliases": ["db"]}]))
    result = EngineNetworkManager(client).run({"name": "n1", "state": "present", "internal": True, "force": True})
    assert result["actions"] == ["recreate"] and client.api.inspect_network("n1")["Internal"] is True
    endpoint = client.api.inspect_container("c1")["NetworkSettings"]["Networks"]["n1"]
    assert "db" in endpoint["Aliases"]
    # the engine refuses the new network: the old one is made again and the container goes back to it
    client.api.refuse_network = lambda name, kwargs: "invalid subnet" if kwargs["ipam"] else None
    with pytest.raises(Exception) as info:
        EngineNetworkManager(client).run({"name": "n1", "state": "present", "internal": True, "subnet": "10.9.0.0/24",
                                          "force": True})
    message = str(info.value)
    assert "the engine refused the new network (" in message and "invalid subnet" in message
    assert "the old network was made again with its settings and its 1 container(s) reconnected" in message
    assert client.api.inspect_network("n1")["Internal"] is True
    assert list(client.api.inspect_network("n1")["Containers"]) == [client.api.inspect_container("c1")["Id"]]


def test_stack_networks_go_through_the_network_manager(client):
    from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
    members = [{"name": "db", "image": "box:1", "networks": [{"name": "sn"}]}]
    params = {"name": "s1", "containers": members,
              "networks": [{"name": "sn", "subnet": "10.8.0.0/24", "gateway": "10.8.0.1"}], "volumes": [{"name": "sv"}]}
    result = StackManager(client).run(params)
    assert result["networks_created"] == ["sn"] and result["volumes_created"] == ["sv"]
    assert client.api.inspect_network("sn")["IPAM"]["Config"] == [{"Subnet": "10.8.0.0/24", "Gateway": "10.8.0.1"}]
    assert client.api.inspect_network("sn")["Labels"]["hybridops.fleet.stack"] == "s1"
    assert StackManager(client).run(params)["changed"] is False
    with pytest.raises(ValidationError) as info:
        StackManager(client).run(dict(params, networks=[{"name": "sn", "internal": True}]))
    assert info.value.option == "networks[0].internal" and "force: true" in str(info.value)
    assert "container_network" in str(info.value)
