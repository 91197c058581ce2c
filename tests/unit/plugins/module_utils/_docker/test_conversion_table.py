"""The community.docker conversion table in docs/containers.md is true of the argument specs."""
import os
import re

from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import (
    CONTAINER_RUN_ARGS,
    CONTAINER_SPEC_ARGS,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.stack import MEMBER_SPEC

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "docs", "containers.md")
ROW = re.compile(r"^\| `([a-z_]+)` \| (same|renamed: `([a-z_]+)`|not supported) \|")
# container options that stack members do not take (the stack's own state/ordering options decide them)
NOT_MEMBER = set()


def table():
    with open(DOC) as handle:
        text = handle.read()
    section = text.split("## Converting community.docker tasks", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, "listed twice: %s" % match.group(1)
            rows[match.group(1)] = match.group(3) or (match.group(1) if match.group(2) == "same" else None)
    return rows


def module_options():
    return set(CONTAINER_SPEC_ARGS) | set(CONTAINER_RUN_ARGS)


def test_table_lists_community_docker_options():
    rows = table()
    # a sample of community.docker's options; the table must be the whole list, not a few rows
    assert len(rows) >= 100
    for name in ("auto_remove", "published_ports", "network_mode", "volumes_from", "working_dir"):
        assert name in rows


def test_same_and_renamed_options_exist_in_the_container_module():
    missing = sorted("%s -> %s" % (cd, ours) for cd, ours in table().items() if ours and ours not in module_options())
    assert not missing


def test_same_and_renamed_options_exist_in_stack_members():
    members = set(MEMBER_SPEC)
    missing = sorted(ours for ours in table().values() if ours and ours not in members and ours not in NOT_MEMBER)
    assert not missing


def test_options_with_a_community_docker_name_are_listed_as_same():
    """An option of ours that carries a community.docker name is that option (not 'not supported')."""
    rows = table()
    wrong = sorted(name for name in module_options() if name in rows and rows[name] != name
                   and name not in rows.values())
    assert not wrong
