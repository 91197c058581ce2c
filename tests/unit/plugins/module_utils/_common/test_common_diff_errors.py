"""diff helpers and error types shared by both layers."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import keep_diff, make_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
    fail_from_error,
)


def test_make_diff_copies():
    before = {"l": [1]}
    diff = make_diff(before, None)
    before["l"].append(2)
    assert diff == {"before": {"l": [1]}, "after": {}}


def test_keep_diff_only_when_wanted():
    assert keep_diff({"changed": True, "diff": {"before": {}, "after": {}}}, False) == {"changed": True}
    assert keep_diff({"changed": True, "diff": {"before": {}, "after": {}}}, True) == {
        "changed": True, "diff": {"before": {}, "after": {}}}
    assert keep_diff({"changed": False}, False) == {"changed": False}


def test_validation_error_message_names_option_and_accepted():
    exc = ValidationError("memory", "'x' is not a size", accepted="512MiB, 2GiB")
    assert str(exc) == "memory: 'x' is not a size (accepted: 512MiB, 2GiB)"
    assert exc.details["option"] == "memory"
    assert isinstance(exc, FleetError)


class FakeModule:
    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise SystemExit(1)


def test_fail_from_error_keeps_details():
    module = FakeModule()
    with pytest.raises(SystemExit):
        fail_from_error(module, BackendError("libvirt said no", code=7), vm="x")
    assert module.failed == {"msg": "libvirt said no", "code": 7, "vm": "x"}
