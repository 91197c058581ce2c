"""fleet_report module: changed only when bytes differ, check mode, diff mode, atomic writes, failures."""
import json
import os
import stat
import subprocess
import sys

import pytest
import report_facts as facts
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._report.runner import run_report

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", ".."))


def listing(path):
    return sorted(os.listdir(str(path))) if os.path.isdir(str(path)) else None


def test_second_run_is_unchanged(tmp_path):
    dest = tmp_path / "out"
    first = run_report(facts.params(dest))
    assert first["changed"] and listing(dest) == ["fleet-report.html", "fleet-report.json", "fleet-report.md"]
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o700
    for path in first["files"].values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    mtimes = dict((p, os.stat(p).st_mtime_ns) for p in first["files"].values())
    second = run_report(facts.params(dest))
    assert not second["changed"] and second["changed_files"] == []
    assert mtimes == dict((p, os.stat(p).st_mtime_ns) for p in second["files"].values())
    assert json.loads((dest / "fleet-report.json").read_text()) == first["report"]


def test_reports_are_private_and_a_loose_mode_is_fixed(tmp_path):
    dest = tmp_path / "shared"
    dest.mkdir(mode=0o755)
    os.chmod(str(dest), 0o755)
    first = run_report(facts.params(dest))
    # an existing directory keeps its mode (it may be shared on purpose); the files are 0600
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o755
    md = str(dest / "fleet-report.md")
    assert stat.S_IMODE(os.stat(md).st_mode) == 0o600
    os.chmod(md, 0o644)
    predicted = run_report(facts.params(dest), check_mode=True)
    assert predicted["changed"] and predicted["changed_files"] == [md]
    assert stat.S_IMODE(os.stat(md).st_mode) == 0o644
    inode = os.stat(md).st_ino
    fixed = run_report(facts.params(dest))
    assert fixed["changed"] and fixed["changed_files"] == [md] and fixed["report"] == first["report"]
    assert stat.S_IMODE(os.stat(md).st_mode) == 0o600 and os.stat(md).st_ino == inode
    assert not run_report(facts.params(dest))["changed"]


def test_missing_dest_is_private_and_its_parents_are_not_made(tmp_path):
    dest = tmp_path / "a"
    run_report(facts.params(dest))
    assert stat.S_IMODE(os.stat(str(dest)).st_mode) == 0o700
    for nested in (tmp_path / "b" / "c", str(tmp_path / "b" / ".." / "c")):  # mkdir, not mkdir -p
        with pytest.raises(ValidationError) as info:
            run_report(facts.params(nested))
        assert info.value.option == "dest" and "parent" in str(info.value)
    assert sorted(os.listdir(str(tmp_path))) == ["a"]


def test_failed_write_removes_the_directory_it_made(tmp_path, monkeypatch):
    from ansible_collections.hybridops.fleet.plugins.module_utils._report import runner

    def refuse(path, data, mode=0o600):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(runner, "write_atomic", refuse)
    with pytest.raises(ValidationError) as info:
        run_report(facts.params(tmp_path / "new"))
    assert info.value.option == "dest" and "No space left" in str(info.value)
    assert os.listdir(str(tmp_path)) == []


def test_only_the_differing_file_is_rewritten(tmp_path):
    run_report(facts.params(tmp_path))
    (tmp_path / "fleet-report.md").write_text("edited by hand\n")
    result = run_report(facts.params(tmp_path))
    assert result["changed"] and result["changed_files"] == [str(tmp_path / "fleet-report.md")]
    assert not run_report(facts.params(tmp_path))["changed"]


def test_new_facts_change_the_report(tmp_path):
    run_report(facts.params(tmp_path))
    params = facts.params(tmp_path)
    params["vms"][0]["memory"] = 2048
    assert run_report(params)["changed"]


def test_check_mode_writes_nothing_and_predicts(tmp_path):
    dest = tmp_path / "out"
    result = run_report(facts.params(dest), check_mode=True)
    assert result["changed"] and listing(dest) is None
    assert result["files"]["html"] == str(dest / "fleet-report.html")
    run_report(facts.params(dest))
    assert not run_report(facts.params(dest), check_mode=True)["changed"]
    params = facts.params(dest)
    params["title"] = "Other"
    before = (dest / "fleet-report.json").read_bytes()
    assert run_report(params, check_mode=True)["changed"]
    assert (dest / "fleet-report.json").read_bytes() == before
    assert listing(dest) == ["fleet-report.html", "fleet-report.json", "fleet-report.md"]  # no temp files


def test_diff_mode_before_is_the_existing_model(tmp_path):
    first = run_report(facts.params(tmp_path), diff_mode=True)
    assert first["diff"]["before"] == {} and first["diff"]["after"]["schema"] == "hybridops.fleet/report/v1"
    params = facts.params(tmp_path)
    params["title"] = "Renamed"
    second = run_report(params, diff_mode=True, check_mode=True)
    assert second["diff"]["before"]["title"] == "Lab fleet" and second["diff"]["after"]["title"] == "Renamed"


def test_formats_and_basename(tmp_path):
    result = run_report(facts.params(tmp_path, formats=["html"], basename="fleet"))
    assert result["files"] == {"html": str(tmp_path / "fleet.html")} and listing(tmp_path) == ["fleet.html"]


@pytest.mark.parametrize("change, option", [
    ({"formats": ["pdf"]}, "formats"),
    ({"basename": "../x"}, "basename"),
    ({"headroom_percent": 91}, "headroom_percent"),
    ({"vms": [{"name": "a", "memory": "lots"}]}, "vms[a].memory"),
    ({"basename": ""}, "basename"),
    ({"basename": "fleet\nreport"}, "basename"),
    ({"basename": "-rf"}, "basename"),
])
def test_bad_input_writes_nothing(tmp_path, change, option):
    dest = tmp_path / "out"
    with pytest.raises(ValidationError) as info:
        run_report(facts.params(dest, **change))
    assert info.value.option == option and listing(dest) is None


def test_dest_that_is_a_file_fails(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError) as info:
        run_report(facts.params(tmp_path / "file"))
    assert info.value.option == "dest"


def test_dest_under_a_file_fails(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError) as info:
        run_report(facts.params(tmp_path / "file" / "sub"))
    assert info.value.option == "dest" and info.value.accepted


def run_module(args, check=False, diff=False):
    """Run plugins/modules/fleet_report.py as Ansible would (args file), return its JSON result."""
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = diff
    args_file = os.path.join(str(args["dest"]) + ".args.json")
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.hybridops.fleet.plugins.modules.fleet_report",
                           args_file], capture_output=True, text=True, env=env, timeout=120, check=False)
    return json.loads(proc.stdout)


def module_args(dest, **extra):
    args = facts.fleet()
    args["dest"] = str(dest)
    args.update(extra)
    return args


def test_module_idempotent_check_and_diff(tmp_path):
    dest = tmp_path / "report"
    checked = run_module(module_args(dest), check=True)
    assert checked["changed"] and not dest.exists() and not checked.get("failed")
    first = run_module(module_args(dest), diff=True)
    assert first["changed"] and first["diff"]["before"] == {} and sorted(first["files"]) == ["html", "json", "markdown"]
    second = run_module(module_args(dest))
    assert not second["changed"] and second["report"] == first["report"]
    assert not run_module(module_args(dest), check=True)["changed"]


def test_module_bad_input_fails_naming_the_option(tmp_path):
    result = run_module(module_args(tmp_path / "x", headroom_percent=99))
    assert result["failed"] and "headroom_percent" in result["msg"] and "0 to 90" in result["msg"]
    result = run_module(module_args(tmp_path / "x", formats=["pdf"]))
    assert result["failed"] and "formats" in result["msg"] and "json" in result["msg"]
    assert not (tmp_path / "x").exists()


def test_documentation_matches_argument_spec(monkeypatch):
    import importlib
    mod = importlib.import_module("ansible_collections.hybridops.fleet.plugins.modules.fleet_report")
    captured = {}

    class Stop(Exception):
        pass

    def fake(**kwargs):
        captured.update(kwargs)
        raise Stop()
    monkeypatch.setattr(mod, "AnsibleModule", fake)
    with pytest.raises(Stop):
        mod.main()
    doc = yaml.safe_load(mod.DOCUMENTATION)["options"]
    spec = captured["argument_spec"]
    assert set(doc) == set(spec)
    for name, option in spec.items():
        assert doc[name].get("type") == option.get("type"), name
        assert doc[name].get("default") == option.get("default"), name
        assert bool(doc[name].get("required")) == bool(option.get("required")), name
    assert captured["supports_check_mode"] is True
    examples = [t["hybridops.fleet.fleet_report"] for t in yaml.safe_load(mod.EXAMPLES) if "hybridops.fleet.fleet_report" in t]
    assert len(examples) == 2
    validator = ArgumentSpecValidator(spec)
    empty = {"list": [], "dict": {}, "str": "x", "path": "/x", "int": 1}
    for args in examples:
        # a templated value is checked for its type only after templating: stand in an empty one
        args = dict((k, empty[spec[k]["type"]] if isinstance(v, str) and "{{" in v else v) for k, v in args.items())
        assert not validator.validate(args).error_messages, args
