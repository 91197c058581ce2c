"""diff helpers and error types shared by both layers."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import (
    changed_keys,
    changed_paths,
    make_diff,
    merge_dicts,
    prune_none,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
    fail_from_error,
)


def test_changed_paths_nested():
    before = {"a": 1, "b": {"c": 2, "d": [1, {"e": 3}]}, "gone": 1}
    after = {"a": 1, "b": {"c": 5, "d": [1, {"e": 4}]}, "new": 2}
    assert changed_paths(before, after) == ["b.c", "b.d[1].e", "gone", "new"]


def test_changed_paths_equal_and_list_length():
    assert changed_paths({"x": [1, 2]}, {"x": [1, 2]}) == []
    assert changed_paths({"x": [1]}, {"x": [1, 2]}) == ["x"]
    assert changed_paths(1, 2) == ["."]


def test_changed_keys():
    assert changed_keys({"a": 1, "b": 2}, {"a": 1, "b": 3}, ["a", "b", "c"]) == ["b"]


def test_make_diff_copies():
    before = {"l": [1]}
    diff = make_diff(before, None, before_header="x")
    before["l"].append(2)
    assert diff == {"before": {"l": [1]}, "after": {}, "before_header": "x"}


def test_prune_and_merge():
    assert prune_none({"a": None, "b": {"c": None, "d": 1}, "l": [{"x": None}]}) == {"b": {"d": 1}, "l": [{}]}
    assert merge_dicts({"a": {"b": 1, "c": 2}}, {"a": {"b": 3, "c": None}, "d": 4}) == {"a": {"b": 3, "c": 2}, "d": 4}


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
