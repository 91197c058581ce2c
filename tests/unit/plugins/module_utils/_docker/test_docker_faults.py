"""The engine going away in the middle of a change: the error says what failed first and what is left."""
import pytest
from docker import errors as docker_errors
from docker_fake_engine import FakeClient, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container as cmod
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import ContainerManager, RolloutFailed

HEALTH = {"Test": ["CMD", "true"], "Interval": 10 ** 9}


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(cmod, "POLL_INTERVAL", 0)
    fake = FakeClient()
    for tag in ("web:1", "web:2"):
        fake.api.add_image(make_image(tag, cmd=["httpd", tag], healthcheck=HEALTH))
    return fake


def test_engine_lost_while_the_replacement_waits_for_health(client, monkeypatch):
    manager = ContainerManager(client)
    manager.run({"name": "c1", "image": "web:1", "state": "started"})
    old = client.api.inspect_container("c1")["Id"]
    real_start = client.api.start
    gone = []

    def start(ref):
        real_start(ref)
        gone.append(True)  # the engine dies right after the replacement started

    def refused(*_args, **_kwargs):
        if gone:
            raise ConnectionError("connection refused")
        return real_inspect(*_args, **_kwargs)
    real_inspect = client.api.inspect_container
    monkeypatch.setattr(client.api, "start", start)
    monkeypatch.setattr(client.api, "inspect_container", refused)
    monkeypatch.setattr(client.api, "remove_container", lambda *a, **k: refused())
    with pytest.raises(RolloutFailed) as info:
        manager.run({"name": "c1", "image": "web:2", "state": "started", "recreate": "rolling"})
    msg = str(info.value)
    # the first failure, then the failed clean-up, what the next run does, and that the old one is untouched
    assert msg.startswith("rolling replace of c1 failed: the new container did not become healthy (")
    assert "connection refused" in msg and "Removing it failed too" in msg
    assert "the next run removes c1-hybridops-next" in msg and old[:12] in msg and "was not touched" in msg
    assert info.value.details["rolled_back"] is False
    gone.clear()
    assert client.api.inspect_container("c1")["Id"] == old


@pytest.mark.parametrize("params", [
    {"image": "web:2", "state": "started", "recreate": "rolling"},  # the old one stopped: a plain recreate
    {"image": "web:1", "state": "stopped"},                          # nothing else to do
    {"state": "absent"},
])
def test_a_leftover_replacement_is_removed_by_the_next_run_whatever_it_does(client, params):
    manager = ContainerManager(client)
    manager.run({"name": "c1", "image": "web:1", "state": "stopped"})
    client.api.create_container_from_config({"Image": "web:2"}, name="c1-hybridops-next")  # a cut-short rollout's
    predicted = ContainerManager(client, check_mode=True).run(dict(params, name="c1"))
    assert predicted["changed"] is True and predicted["removed_leftover"] == "c1-hybridops-next"
    assert client.api.inspect_container("c1-hybridops-next")
    done = manager.run(dict(params, name="c1"))
    assert done["changed"] is True and done["removed_leftover"] == "c1-hybridops-next"
    with pytest.raises(docker_errors.NotFound):
        client.api.inspect_container("c1-hybridops-next")
    assert "removed_leftover" not in manager.run(dict(params, name="c1"))
    assert manager.run(dict(params, name="c1"))["changed"] is False
