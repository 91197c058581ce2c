"""The proposed specs are valid input for hybridops.fleet.container: checked with its own argspec and validator."""
import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from discover_replay import ReplayReader, load, replay_run, replay_which

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import discover

container = pytest.importorskip("ansible_collections.hybridops.fleet.plugins.module_utils._docker.container")
container_spec = pytest.importorskip("ansible_collections.hybridops.fleet.plugins.module_utils._docker.container_spec")

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "debian12-guest.json")


def _proposals():
    capture = load(FIXTURE)
    result = discover({"services": ["hybridops-web", "sshd"]}, replay_run(capture), ReplayReader(capture),
                      replay_which(capture))
    return [svc["container_spec"] for svc in result["services"].values()]


@pytest.mark.parametrize("spec", _proposals(), ids=lambda s: s["name"])
def test_proposal_matches_container_module(spec):
    argspec = container.CONTAINER_SPEC_ARGS
    assert set(spec) <= set(argspec), set(spec) - set(argspec)
    for mount in spec["mounts"]:
        assert set(mount) <= set(argspec["mounts"]["options"])
    assert set(spec.get("healthcheck", {})) <= set(argspec["healthcheck"]["options"])
    validated = ArgumentSpecValidator(argspec).validate(spec)
    assert not validated.error_messages, validated.error_messages
    desired = container_spec.normalize_spec(spec)
    assert desired["name"] == spec["name"]


def test_limits_are_valid_container_options():
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover.spec import propose_container_spec
    proposal = propose_container_spec({
        "unit": "app.service", "binary": "/usr/bin/python3.11", "exec_start": ["/usr/bin/python3", "app.py"],
        "listen": [{"proto": "tcp", "family": 4, "address": "0.0.0.0", "port": 8000}],
        "memory_max": 268435456, "cpu_quota": 0.5, "uid": 1000, "gid": 1000})
    validated = ArgumentSpecValidator(container.CONTAINER_SPEC_ARGS).validate(proposal)
    assert not validated.error_messages, validated.error_messages
    desired = container_spec.normalize_spec(proposal)
    assert desired["memory"] == 268435456
