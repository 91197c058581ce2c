"""Secret-bearing options are no_log in the argument spec itself, so AnsibleModule masks them in the
invocation it logs on the managed host while it is being constructed (too early for anything the
module could add to no_log_values afterwards)."""
import importlib
import json
import os
import re

import pytest
from ansible.module_utils import basic

MODULES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(f[:-3] for f in os.listdir(MODULES_DIR) if f.endswith(".py") and not f.startswith("_"))

# module -> option paths that carry secrets ("a.b" is suboption b of a, lists of dicts included)
SECRETS = {
    "container": ["secret_env"],
    "container_stack": ["containers.secret_env"],
    "container_rollout": ["container.secret_env"],
    "container_image": ["registry_password", "build.args"],
    "libvirt_vm": ["cloud_init.user_data", "xml"],
    "libvirt_vms": ["vms.cloud_init.user_data", "vms.xml"],
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

    monkeypatch.setattr(module, "FleetModule" if hasattr(module, "FleetModule") else "AnsibleModule", record)
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
    assert len(MODULES) == 15 and set(SECRETS) <= set(MODULES)


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
    return {head: [inner] if head in ("containers", "vms") else inner}


def test_marker_paths_put_the_value_where_expected():
    assert marker_params("containers.secret_env", {"K": "m"}) == {"containers": [{"secret_env": {"K": "m"}}]}


# the least each module needs to get through AnsibleModule's own checks (required, required_if/together)
BASE = {
    "container": {"name": "c1", "image": "busybox"},
    "container_stack": {"name": "s1"},
    "container_rollout": {"name": "r1", "image": "busybox", "port": 80},
    "container_image": {"name": "i1", "build": {"path": "/nonexistent"}},
    "libvirt_vm": {"name": "v1"},
    "libvirt_vms": {"vms": [{"name": "v1"}]},
}


def merged(base, extra):
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        elif isinstance(value, list) and isinstance(out.get(key), list) and len(value) == len(out[key]) == 1:
            out[key] = [merged(out[key][0], value[0])]  # the one item of a list of dicts (vms)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("name,path", [(m, p) for m, paths in sorted(SECRETS.items()) for p in paths])
@pytest.mark.parametrize("shape", ["str", "dict"])
def test_the_invocation_log_masks_the_secret(name, path, shape, monkeypatch):
    """A real AnsibleModule, built with the module's own arguments: right after construction (when it has
    already logged its invocation) the marker is among its no_log values, so the invocation line
    (heuristic_log_sanitize per parameter, as _log_invocation does) and the returned invocation
    (remove_values, as exit_json does) hold no marker."""
    kwargs = argument_spec_of(name, monkeypatch)
    opts = dict(walk(kwargs["argument_spec"]))[path]
    if opts.get("type") not in (shape, "raw"):
        pytest.skip("%s takes a %s only" % (path, opts.get("type")))
    marker = "hybridops-marker-%s-%s" % (name, path.replace(".", "-"))
    params = merged(BASE[name], marker_params(path, {"SECRET": marker} if shape == "dict" else marker))
    if path == "registry_password":
        params["registry_username"] = "u"
    # _ansible_no_log keeps this test's own run out of the machine's syslog; validation is the same
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps(
        {"ANSIBLE_MODULE_ARGS": dict(params, _ansible_no_log=True)}).encode())
    # ansible-core 2.19+ reads the serialization profile from here; 2.18 has none
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    module = basic.AnsibleModule(**kwargs)
    assert marker in module.no_log_values
    plain = " ".join(str(module.params[key]) for key in params)
    logged = " ".join(basic.heuristic_log_sanitize(str(module.params[key]), module.no_log_values) for key in params)
    assert marker in plain and marker not in logged
    assert marker not in repr(basic.remove_values(module.params, module.no_log_values))
