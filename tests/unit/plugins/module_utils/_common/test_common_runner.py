"""finish and manager_func: the one policy by which both runners turn a manager's result into the module's answer."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import finish, manager_func


class Ended(Exception):
    pass


class FakeModule:
    def __init__(self, diff=False):
        self._diff = diff
        self.warned = []
        self.ended = None

    def warn(self, warning):
        self.warned.append(warning)

    def exit_json(self, **result):
        self.ended = ("exit", result)
        raise Ended()

    def fail_json(self, msg, **result):
        self.ended = ("fail", dict(result, msg=msg))
        raise Ended()


def finished(module, result):
    with pytest.raises(Ended):
        finish(module, result)
    return module.ended


DIFF = {"before": {"a": 1}, "after": {"a": 2}}


@pytest.mark.parametrize("diff_mode", [False, True])
def test_diff_only_in_diff_mode(diff_mode):
    outcome = finished(FakeModule(diff=diff_mode), {"changed": True, "diff": dict(DIFF)})
    assert outcome == ("exit", dict({"changed": True}, **({"diff": DIFF} if diff_mode else {})))


def test_warnings_go_through_module_warn():
    module = FakeModule()
    assert finished(module, {"changed": False, "warnings": ["w1", "w2"]}) == ("exit", {"changed": False})
    assert module.warned == ["w1", "w2"]


def test_a_failed_result_fails_with_everything_it_says():
    module = FakeModule(diff=True)
    outcome = finished(module, {"changed": True, "failed": True, "msg": "2 of 3 failed", "results": [1],
                                "diff": DIFF, "warnings": ["w"]})
    assert outcome == ("fail", {"changed": True, "failed": True, "msg": "2 of 3 failed", "results": [1], "diff": DIFF})
    assert module.warned == ["w"]


def test_a_failed_result_without_a_message_still_fails():
    assert finished(FakeModule(), {"changed": False, "failed": True})[0] == "fail"


def test_failed_false_exits():
    assert finished(FakeModule(), {"changed": False, "failed": False}) == ("exit", {"changed": False, "failed": False})


def test_manager_func_builds_the_manager_of_the_contract():
    seen = {}

    class Manager:
        def __init__(self, client, check_mode=False, diff=False, extra=None):
            seen.update(client=client, check_mode=check_mode, diff=diff, extra=extra)

        def run(self, params):
            return {"changed": False, "params": params}

    module = FakeModule(diff=True)
    module.check_mode = True
    module.params = {"name": "x"}
    assert manager_func(module, Manager, extra=1)("client") == {"changed": False, "params": {"name": "x"}}
    assert seen == {"client": "client", "check_mode": True, "diff": True, "extra": 1}
