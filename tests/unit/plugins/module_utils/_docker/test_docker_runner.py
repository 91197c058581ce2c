"""run_with_client: the glue every container* module's main() goes through."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import runner


class Exited(Exception):
    pass


class FakeModule:
    def __init__(self, params=None, diff=False):
        self.params = params or {"docker_host": "unix:///run/test.sock"}
        self._diff = diff
        self.exited = None

    def exit_json(self, **result):
        self.exited = ("exit", result)
        raise Exited()

    def fail_json(self, **result):
        self.exited = ("fail", result)
        raise Exited()


@pytest.fixture
def connected(monkeypatch):
    calls = []

    def connect(params, pool_size=None):
        calls.append((params, pool_size))
        return "client"
    monkeypatch.setattr(runner, "connect", connect)
    return calls


def run(module, func, **kwargs):
    with pytest.raises(Exited):
        runner.run_with_client(module, func, **kwargs)
    return module.exited


def test_result_without_diff_outside_diff_mode(connected):
    module = FakeModule()
    seen = []
    outcome = run(module, lambda client: seen.append(client) or {"changed": True, "diff": {"before": {}, "after": {"a": 1}}})
    assert outcome == ("exit", {"changed": True})
    assert seen == ["client"] and connected == [(module.params, None)]


def test_diff_kept_in_diff_mode(connected):
    diff = {"before": {"a": 1}, "after": {}}
    assert run(FakeModule(diff=True), lambda client: {"changed": True, "diff": diff}) == (
        "exit", {"changed": True, "diff": diff})


def test_result_that_has_no_diff(connected):
    assert run(FakeModule(diff=True), lambda client: {"changed": False, "items": []}) == (
        "exit", {"changed": False, "items": []})


def test_pool_size_reaches_connect(connected):
    run(FakeModule(), lambda client: {"changed": False}, pool_size=12)
    assert connected[0][1] == 12


def test_fleet_error_fails_with_its_details_and_unchanged(connected):
    def func(client):
        raise ValidationError("driver", "cannot change in place", differences=[{"option": "driver"}])
    assert run(FakeModule(), func) == ("fail", {"msg": "driver: cannot change in place", "changed": False,
                                                "option": "driver", "differences": [{"option": "driver"}]})


def test_connect_error_fails_naming_the_address(monkeypatch):
    def connect(params, pool_size=None):
        raise BackendError("cannot reach the Docker engine at unix:///x: refused", docker_host="unix:///x")
    monkeypatch.setattr(runner, "connect", connect)
    assert run(FakeModule(), lambda client: {}) == (
        "fail", {"msg": "cannot reach the Docker engine at unix:///x: refused", "changed": False, "docker_host": "unix:///x"})


def test_a_failed_result_fails_with_the_whole_result(connected):
    result = {"changed": True, "failed": True, "msg": "a failed", "failed_members": ["a"], "diff": {"before": {}, "after": {}}}
    outcome = run(FakeModule(), lambda client: dict(result))
    assert outcome == ("fail", {"msg": "a failed", "changed": True, "failed": True, "failed_members": ["a"]})
    assert run(FakeModule(), lambda client: {"changed": False, "failed_members": []}) == (
        "exit", {"changed": False, "failed_members": []})


def test_missing_sdk(monkeypatch):
    monkeypatch.setattr(runner, "HAS_DOCKER", False)
    monkeypatch.setattr(runner, "DOCKER_IMPORT_ERROR", "Traceback: no module docker")
    kind, result = run(FakeModule(), lambda client: {})
    assert kind == "fail" and result["exception"] == "Traceback: no module docker"
    assert "docker (Docker SDK for Python >= 5.0.3)" in result["msg"]


def test_timeout_below_one_fails_before_connecting(monkeypatch):
    monkeypatch.setattr(runner, "connect", lambda params, pool_size=None: pytest.fail("connected"))
    module = FakeModule({"docker_host": "unix:///run/test.sock", "timeout": 0})
    with pytest.raises(Exited):
        runner.run_with_client(module, lambda client: {"changed": False})
    assert module.exited[0] == "fail" and module.exited[1]["msg"].startswith("timeout: ")


def test_unexpected_exception_is_a_message(monkeypatch):
    monkeypatch.setattr(runner, "connect", lambda params, pool_size=None: "client")
    module = FakeModule()
    module._name = "hybridops.fleet.container_image"

    def boom(client):
        raise KeyError("Config")
    with pytest.raises(Exited):
        runner.run_with_client(module, boom)
    assert module.exited[0] == "fail" and "KeyError" in module.exited[1]["msg"]
    assert "container_image" in module.exited[1]["msg"]
