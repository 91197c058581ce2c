"""ContainerManager lifecycle: by name alone, restart: true, auto-removed containers being replaced."""
import pytest
from docker import errors as docker_errors
from docker_fake_engine import FakeClient, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container as cmod
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import ContainerManager

BOX = make_image("box:1", cmd=["sleep", "1000"])


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(cmod, "POLL_INTERVAL", 0)
    fake = FakeClient()
    fake.api.add_image(BOX)

    def restart(ref, timeout=10):
        fake.api._record("restart", fake.api._find(ref)["Name"].lstrip("/"))
    fake.api.restart = restart
    return fake


def spec(**kwargs):
    return dict({"name": "c1", "image": "box:1", "state": "started"}, **kwargs)


def test_stop_and_start_by_name_alone(client):
    ContainerManager(client).run(spec())
    predicted = ContainerManager(client, check_mode=True, diff=True).run({"name": "c1", "state": "stopped"})
    assert (predicted["changed"], predicted["actions"]) == (True, ["stop"])
    assert predicted["diff"]["before"]["running"] is True and predicted["diff"]["after"]["running"] is False
    stopped = ContainerManager(client, diff=True).run({"name": "c1", "state": "stopped"})
    assert stopped["actions"] == ["stop"] and stopped["diff"] == predicted["diff"]
    assert ContainerManager(client).run({"name": "c1", "state": "stopped"})["changed"] is False
    assert ContainerManager(client).run({"name": "c1", "state": "started"})["actions"] == ["start"]


def test_by_name_alone_needs_an_existing_container(client):
    with pytest.raises(ValidationError) as err:
        ContainerManager(client).run({"name": "missing", "state": "started"})
    assert err.value.option == "image" and "does not exist" in err.value.msg
    assert client.api.mutations() == []


def test_restart_only_when_nothing_else_happens(client):
    created = ContainerManager(client).run(spec(restart=True))
    assert created["actions"] == ["create", "start"]
    predicted = ContainerManager(client, check_mode=True, diff=True).run(spec(restart=True))
    assert (predicted["changed"], predicted["action"], predicted["actions"]) == (True, "none", ["restart"])
    assert predicted["diff"]["after"]["restarted"] is True
    before = len(client.api.mutations())
    real = ContainerManager(client).run(spec(restart=True))
    assert real["actions"] == ["restart"] and client.api.mutations()[before:] == [("restart", "c1")]
    assert ContainerManager(client).run(spec())["changed"] is False
    # a stopped container is started, not restarted
    ContainerManager(client).run(spec(state="stopped"))
    assert ContainerManager(client).run(spec(restart=True))["actions"] == ["start"]


def test_replacing_an_auto_removed_container_waits_for_the_engine(client):
    ContainerManager(client).run(spec(auto_remove=True))
    api = client.api
    plain_remove = api.remove_container

    def remove_in_progress(ref, force=False, v=False):
        # what the engine answers for an auto_remove container it is already removing after the stop
        plain_remove(ref, force=force, v=v)
        raise docker_errors.APIError("409 Client Error", explanation="removal of container %s is already in progress" % ref)
    api.remove_container = remove_in_progress
    result = ContainerManager(client).run(spec(auto_remove=False))
    assert result["action"] == "recreate" and result["container"]["HostConfig"].get("AutoRemove") in (None, False)
