"""The documented options of container and of container_stack members agree with the option table."""
import importlib

import pytest
import yaml

from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container as cm, stack
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import table

DOC_KEYS = ("type", "elements", "choices", "no_log", "aliases", "required", "default")


def _doc(module):
    mod = importlib.import_module("ansible_collections.hybridops.fleet.plugins.modules.%s" % module)
    return yaml.safe_load(mod.DOCUMENTATION)


def _shape(spec):
    """The argument-spec facts the docs must state, recursively (no_log is not a doc key: checked apart)."""
    result = {}
    for name, arg in spec.items():
        item = dict((k, arg[k]) for k in ("type", "elements", "choices", "required", "default") if arg.get(k) not in (None, False))
        item["aliases"] = sorted(arg.get("aliases") or [])
        if arg.get("options"):
            item["suboptions"] = _shape(arg["options"])
        result[name] = item
    return result


def _doc_shape(options):
    result = {}
    for name, doc in options.items():
        item = dict((k, doc[k]) for k in ("type", "elements", "choices", "required", "default") if doc.get(k) not in (None, False))
        item["aliases"] = sorted(doc.get("aliases") or [])
        if doc.get("suboptions"):
            item["suboptions"] = _doc_shape(doc["suboptions"])
        result[name] = item
    return result


def test_container_docs_document_every_table_option_with_its_argspec():
    documented = _doc("container")["options"]
    table_spec = table.argument_spec()
    shape = _shape(table_spec)
    docs = _doc_shape(dict((k, v) for k, v in documented.items() if k in table_spec))
    missing = sorted(set(table_spec) - set(documented))
    assert missing == []
    for name in sorted(shape):
        assert docs[name] == shape[name], name


def test_every_documented_container_option_is_in_an_argument_spec():
    documented = set(_doc("container")["options"])
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
    known = set(table.argument_spec()) | set(cm.CONTAINER_RUN_ARGS) | set(DOCKER_COMMON_ARGS)
    assert documented - known == set()


def test_secret_options_are_no_log_in_the_table_and_named_secret_in_the_docs():
    secret = sorted(row.name for row in table.OPTIONS if row.arg.get("no_log"))
    assert secret == ["secret_env"]
    documented = _doc("container")["options"]
    for name in secret:
        assert "secret" in " ".join(documented[name]["description"] if isinstance(documented[name]["description"], list)
                                    else [documented[name]["description"]]).lower()


def test_stack_member_suboptions_are_the_table_plus_member_keys():
    member_docs = _doc("container_stack")["options"]["containers"]["suboptions"]
    assert set(member_docs) == set(stack.MEMBER_SPEC) == set(table.SPEC_KEYS) | {
        "state", "recreate", "pull", "wait_timeout", "keep_volumes", "restart", "depends_on", "force_kill", "kill_signal"}
    # members are typed raw (normalize_members checks the table's type and names containers[NAME].OPTION)
    assert set(d["type"] for d in member_docs.values()) == {"raw"}
    for name, arg in stack.MEMBER_SPEC.items():
        assert arg["type"] == "raw"
        assert bool(arg.get("no_log")) == bool(table.BY_NAME[name].arg.get("no_log") if name in table.BY_NAME else False), name


@pytest.mark.parametrize("row", table.OPTIONS, ids=lambda r: r.name)
def test_every_row_is_consistent(row):
    assert row.comparison in row.comparisons
    assert row.arg.get("type") in ("str", "int", "bool", "float", "list", "dict", "raw")
    if row.update_body is not None:
        assert row.compared, "an option updated in place must be compared"
