"""Volume ownership: what the collection did not create is removed or recreated only with force."""
import pytest
from docker_fake_engine import FakeClient

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import EngineVolumeManager, owned_volume


@pytest.fixture
def client():
    return FakeClient()


def test_a_created_volume_carries_the_ownership_label_and_check_mode_predicts_it(client):
    predicted = EngineVolumeManager(client, check_mode=True).run({"name": "v1", "state": "present", "labels": {"a": "b"}})
    created = EngineVolumeManager(client).run({"name": "v1", "state": "present", "labels": {"a": "b"}})
    assert created["volume"]["labels"] == {"a": "b", cs.LABEL_MANAGED: "true"}
    assert predicted["volume"]["labels"] == created["volume"]["labels"]
    assert client.api.inspect_volume("v1")["Labels"][cs.LABEL_MANAGED] == "true"
    assert EngineVolumeManager(client).run({"name": "v1", "state": "absent"})["actions"] == ["remove"]


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_foreign_volume_is_not_removed_without_force(client, check_mode):
    client.api.create_volume("foreign", labels={"owner": "someone-else"})
    before = list(client.api.calls)
    with pytest.raises(ValidationError) as info:
        EngineVolumeManager(client, check_mode=check_mode).run({"name": "foreign", "state": "absent"})
    assert info.value.option == "force"
    assert "not created by hybridops.fleet" in str(info.value) and "force: true" in info.value.accepted
    assert client.api.mutations() == [c for c in before
                                      if c[0] not in ("inspect_image", "inspect_container", "containers")]
    removed = EngineVolumeManager(client, check_mode=check_mode).run({"name": "foreign", "state": "absent",
                                                                      "force": True})
    assert removed["changed"] is True and removed["actions"] == ["remove"]


def test_a_stack_volume_counts_as_owned(client):
    client.api.create_volume("stackvol", labels={cs.LABEL_STACK: "s1"})
    assert EngineVolumeManager(client).run({"name": "stackvol", "state": "absent"})["changed"] is True


@pytest.mark.parametrize("labels,owned", [(None, False), ({}, False), ({"x": "1"}, False),
                                          ({cs.LABEL_MANAGED: "true"}, True), ({cs.LABEL_STACK: "s"}, True)])
def test_owned_volume(labels, owned):
    assert owned_volume(labels) is owned
