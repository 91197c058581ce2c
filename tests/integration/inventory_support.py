"""Helpers for the tests that read ansible-inventory's output."""
import json
import os
import subprocess


def plain(value):
    """ansible-inventory --list writes values from plugins as {"__ansible_unsafe": value}: the values themselves."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def ansible_inventory(path, *extra, expect_ok=True, with_stderr=False):
    """``ansible-inventory -i PATH --list`` with only this collection's plugin enabled and a failing source an
    error (not the default warning), so its message is what stderr shows: the plain data, or with
    ``expect_ok=False`` the error text (the run must fail); ``with_stderr``: (data, stderr), for warnings."""
    env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="hybridops.fleet.libvirt", ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
               ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true")
    proc = subprocess.run(["ansible-inventory", "-i", str(path), "--list"] + list(extra), capture_output=True,
                          text=True, check=False, env=env, stdin=subprocess.DEVNULL)
    if not expect_ok:
        assert proc.returncode != 0, proc.stdout
        return proc.stderr
    assert proc.returncode == 0, proc.stderr
    data = plain(json.loads(proc.stdout))
    return (data, proc.stderr) if with_stderr else data
