"""The invocation AnsibleModule logs on the managed host holds no nested secret, whatever its characters."""
import importlib
import json

import pytest
from ansible.module_utils import basic

from ansible_collections.hybridops.fleet.plugins.module_utils._common.module import FleetModule, escaped_forms


class Captured(Exception):
    pass


def spec_of(name, monkeypatch):
    module = importlib.import_module("ansible_collections.hybridops.fleet.plugins.modules." + name)
    seen = {}

    def record(**kwargs):
        seen.update(kwargs)
        raise Captured()
    monkeypatch.setattr(module, "FleetModule", record)
    with pytest.raises(Captured):
        module.main()
    return seen


# secrets as they come: a PEM key (newlines), a password with a backslash or a quote, a cloud-config file
SECRETS = ["-----BEGIN KEY-----\nhybridops-esc-1\n-----END KEY-----\n", "pa\\ss-hybridops-esc-2", "it's-hybridops-esc-3",
           "tab\there-hybridops-esc-4"]
CASES = [
    ("container_stack", lambda s: {"name": "s1", "containers": [{"name": "m1", "image": "busybox",
                                                                 "secret_env": {"K": s}}]}),
    ("container_image", lambda s: {"name": "i1", "source": "build", "build": {"path": "/x", "args": {"TOKEN": s}}}),
    ("libvirt_vm", lambda s: {"name": "v1", "cloud_init": {"user_data": "#cloud-config\npassword: %s\n" % s}}),
    ("libvirt_vm", lambda s: {"name": "v1", "cloud_init": {"user_data": {"write_files": [{"content": s}]}}}),
]


def logged_invocation(cls, kwargs, params, monkeypatch):
    lines = []
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": params}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    monkeypatch.setattr(basic.AnsibleModule, "log", lambda self, msg, log_args=None: lines.append(msg))
    cls(**kwargs)
    assert lines and lines[0].startswith("Invoked with")
    return lines[0]


@pytest.mark.parametrize("name,make", CASES)
@pytest.mark.parametrize("secret", SECRETS)
def test_no_nested_secret_in_the_logged_invocation(name, make, secret, monkeypatch):
    kwargs = spec_of(name, monkeypatch)
    line = logged_invocation(FleetModule, kwargs, make(secret), monkeypatch)
    marker = secret.split("hybridops-esc-")[1][:1]
    assert "hybridops-esc-" + marker not in line, line
    assert ("name=%s" % make(secret)["name"]) in line  # the rest of the invocation is there


def test_plain_ansible_module_leaks_what_repr_escapes(monkeypatch):
    """Why FleetModule exists: AnsibleModule itself logs such a nested value in the clear."""
    kwargs = spec_of("container_stack", monkeypatch)
    line = logged_invocation(basic.AnsibleModule, kwargs, CASES[0][1](SECRETS[0]), monkeypatch)
    assert "hybridops-esc-1" in line


def test_escaped_forms():
    assert escaped_forms({"plain", "a\nb", "c\\d", 1}) == {"a\\nb", "c\\\\d"}
