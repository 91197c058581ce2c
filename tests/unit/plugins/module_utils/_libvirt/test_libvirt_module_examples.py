"""Every task in the EXAMPLES of the libvirt modules passes the module's own argument spec,
and every documented option exists in the spec (and the other way round)."""
import importlib

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

MODULES = ["libvirt_vm", "libvirt_vm_info", "libvirt_volume", "libvirt_network", "libvirt_snapshot"]
TASK_KEYS = {"name", "loop", "register", "until", "retries", "delay", "async", "poll", "when", "loop_control"}


class CapturedSpec(Exception):
    def __init__(self, kwargs):
        super().__init__("spec")
        self.kwargs = kwargs


def module_spec(name, monkeypatch):
    mod = importlib.import_module("ansible_collections.hybridops.fleet.plugins.modules." + name)

    def fake_module(**kwargs):
        raise CapturedSpec(kwargs)
    monkeypatch.setattr(mod, "FleetModule" if hasattr(mod, "FleetModule") else "AnsibleModule", fake_module)
    with pytest.raises(CapturedSpec) as info:
        mod.main()
    return mod, info.value.kwargs


def _examples(mod, fqcn):
    for task in yaml.safe_load(mod.EXAMPLES):
        if fqcn in task:
            assert set(task) - {fqcn} <= TASK_KEYS, task
            yield task[fqcn]


@pytest.mark.parametrize("name", MODULES)
def test_examples_pass_argument_spec(name, monkeypatch):
    mod, kwargs = module_spec(name, monkeypatch)
    examples = list(_examples(mod, "hybridops.fleet." + name))
    assert examples, "no examples for %s" % name
    validator = ArgumentSpecValidator(kwargs["argument_spec"], required_if=kwargs.get("required_if"))
    for args in examples:
        result = validator.validate(dict(args))
        assert not result.error_messages, (args, result.error_messages)


@pytest.mark.parametrize("name", MODULES)
def test_documented_options_match_spec(name, monkeypatch):
    mod, kwargs = module_spec(name, monkeypatch)
    doc = yaml.safe_load(mod.DOCUMENTATION)
    documented = set(doc["options"])
    for fragment in doc.get("extends_documentation_fragment") or []:
        frag = importlib.import_module("ansible_collections.hybridops.fleet.plugins.doc_fragments." + fragment.split(".")[-1])
        documented |= set(yaml.safe_load(frag.ModuleDocFragment.DOCUMENTATION).get("options") or {})
    assert documented == set(kwargs["argument_spec"])
