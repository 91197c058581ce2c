"""normalize_members: defaults, validation and the rolling default with fixed host ports."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.stack import normalize_members


def members(recreate, *containers):
    return normalize_members({"containers": list(containers), "recreate": recreate})


def test_rolling_default_skips_members_with_fixed_host_ports():
    result = members("rolling",
                     {"name": "api", "image": "hybridops/web:1"},
                     {"name": "web", "image": "hybridops/web:1", "ports": ["8080:8080"]},
                     {"name": "any", "image": "hybridops/web:1", "ports": ["8080"]})
    by_name = dict((m["name"], m["recreate"]) for m in result)
    assert by_name == {"api": "rolling", "web": "auto", "any": "rolling"}


def test_a_member_that_asks_for_rolling_keeps_it():
    result = members("auto", {"name": "web", "image": "hybridops/web:1", "ports": ["8080:8080"], "recreate": "rolling"})
    assert result[0]["recreate"] == "rolling"


def test_unknown_recreate_names_the_member_option():
    with pytest.raises(ValidationError) as info:
        members("auto", {"name": "web", "image": "hybridops/web:1", "recreate": "sometimes"})
    assert "containers[web].recreate" in str(info.value)
