"""Secret-bearing options are no_log in the argument spec itself, so AnsibleModule masks them in the
invocation it logs on the managed host while it is being constructed (too early for anything the
module could add to no_log_values afterwards)."""
import importlib
import os
import re

import pytest
from ansible.module_utils.basic import heuristic_log_sanitize, remove_values
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

MODULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))

# module -> option paths that carry secrets ("a.b" is suboption b of a, lists of dicts included)
SECRETS = {
    "container": ["secret_env"],
    "container_stack": ["containers.secret_env"],
    "container_image": ["registry_password", "build.args"],
    "libvirt_vm": ["cloud_init.user_data", "xml"],
}
# names that look secret but are not: paths of key files, public keys (no_log=False says it was decided)
LOOKS_SECRET = re.compile(r"pass|secret|token|auth|credential|user_data|(^|_)key$|api_?key|private", re.I)


class Captured(Exception):
    pass


def argument_spec_of(name, monkeypatch):
    """Run the module's main() with AnsibleModule replaced by a recorder (what validate-modules does)."""
    module = importlib.import_module("ansible_collections.hybridops.fleet.plugins.modules." + name)
    seen = {}

    def record(**kwargs):
        seen.update(kwargs)
        raise Captured()

    monkeypatch.setattr(module, "AnsibleModule", record)
    with pytest.raises(Captured):
        module.main()
    return seen


def walk(spec, prefix=""):
    for key, opts in spec.items():
        path = prefix + key
        yield path, opts
        if opts.get("options"):
            yield from walk(opts["options"], path + ".")


def test_every_module_is_checked():
    assert len(MODULES) == 13 and set(SECRETS) <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_secret_options_are_no_log_in_the_spec(name, monkeypatch):
    spec = dict(walk(argument_spec_of(name, monkeypatch)["argument_spec"]))
    for path in SECRETS.get(name, []):
        assert spec[path].get("no_log") is True, "%s: %s is not no_log" % (name, path)
    # a new option named like a secret must be declared one way or the other
    undecided = [p for p, o in spec.items() if LOOKS_SECRET.search(p.rsplit(".", 1)[-1]) and "no_log" not in o]
    assert undecided == [], "%s: decide no_log for %s" % (name, undecided)


def marker_params(path, marker):
    """Module parameters that put marker into the option at path (a dict value for dict options)."""
    head, rest = (path.split(".", 1) + [""])[:2]
    if not rest:
        return {head: marker}
    inner = marker_params(rest, marker)
    return {head: [inner] if head == "containers" else inner}


def test_marker_paths_put_the_value_where_expected():
    assert marker_params("containers.secret_env", {"K": "m"}) == {"containers": [{"secret_env": {"K": "m"}}]}


@pytest.mark.parametrize("name,path", [(m, p) for m, paths in sorted(SECRETS.items()) for p in paths])
@pytest.mark.parametrize("shape", ["str", "dict"])
def test_the_invocation_log_masks_the_secret(name, path, shape, monkeypatch):
    """The real validator AnsibleModule runs before _log_invocation; its no_log values mask the log line."""
    kwargs = argument_spec_of(name, monkeypatch)
    spec = kwargs["argument_spec"]
    opts = dict(walk(spec))[path]
    if opts.get("type") not in (shape, "raw"):
        pytest.skip("%s takes a %s only" % (path, opts.get("type")))
    marker = "hybridops-marker-%s-%s" % (name, path.replace(".", "-"))
    value = {"SECRET": marker} if shape == "dict" else marker
    params = marker_params(path, value)
    result = ArgumentSpecValidator(spec).validate(params)
    assert marker in result._no_log_values
    validated = result.validated_parameters
    # what _log_invocation writes (to syslog/journal) per top-level parameter, and the -vvv invocation dict
    plain = " ".join(str(validated[key]) for key in params)
    logged = " ".join(heuristic_log_sanitize(str(validated[key]), result._no_log_values) for key in params)
    assert marker in plain and marker not in logged
    assert marker not in repr(remove_values(validated, result._no_log_values))
