"""Bad-input matrix of the modules that work on the host itself: vm_discover (run against this machine) and
fleet_report (writes files).

Every case is a task of ONE playbook run per module. Before the runs the report directory holds a report and a
file of the user's; each case must fail naming its option (with its path, ``vms[web1].memory``) and what is
accepted, and the files a case could touch (the report directory's tree, the parents a bad ``dest`` names, the
unit directories of systemd), inspected after the module's run, must be exactly as before. The figures go to
tests/output/bad-input/host.json.
"""
import os

import bad_input
import pytest
from bad_input import ANSIBLE_CHOICES, ANSIBLE_TYPE

TEST_GROUP = "matrix"  # beside the host session: its objects carry prefixes of its own (conftest.py)

ROOT = "/tmp/hybridops-it-mat-host"
DEST = ROOT + "/reports"
HV = {"uri": "test:///default", "hostname": "hv1", "cpus": 4, "memory_mib": 8192}
VM = {"name": "web1", "uri": "test:///default", "state": "running", "memory": 512, "vcpus": 1, "tags": ["web"]}


def report(**over):
    return dict({"hypervisors": [HV], "vms": [VM], "dest": DEST, "formats": ["json"]}, **over)


def vm(**over):
    return report(vms=[dict(VM, **over)])


def hv(**over):
    return report(hypervisors=[dict(HV, **over)])


def guest(**over):
    return report(guests={"web1": dict({"reachable": True, "error": None, "containers": []}, **over)})


CASES = {
    "vm_discover": [
        ("services-newline", {"services": ["nginx\nreboot"]}, "services[0]"),
        ("services-path", {"services": ["../../etc/passwd"]}, "services[0]"),
        ("services-markup", {"services": ["<x>&'\""]}, "services[0]"),
        ("services-space", {"services": ["ng inx"]}, "services[0]"),
        ("services-empty", {"services": [""]}, "services[0]"),
        ("services-unicode", {"services": ["ngin\u00e9x"]}, "services[0]"),
        ("services-too-long", {"services": ["a" * 300]}, "services[0]"),
        ("services-glob", {"services": ["ngin*"]}, "services[0]"),
        ("services-semicolon", {"services": ["nginx;reboot"]}, "services[0]"),
        ("services-command-substitution", {"services": ["$(id)"]}, "services[0]"),
        ("services-second-bad", {"services": ["ssh", "bad name"]}, "services[1]"),
        ("services-dict", {"services": {"nginx": 1}}, ANSIBLE_TYPE + "services"),
        ("services-suffix-only", {"services": [".service"]}, "services[0]"),
        ("services-nul", {"services": ["nginx\x00x"]}, "services[0]"),
        ("include-all-not-bool", {"include_all": "often"}, ANSIBLE_TYPE + "include_all"),
        ("propose-not-bool", {"propose": "maybe"}, ANSIBLE_TYPE + "propose"),
    ],
    "fleet_report": [
        ("hypervisors-string", report(hypervisors="test:///default"), ANSIBLE_TYPE + "hypervisors"),
        ("hypervisor-without-uri", hv(uri=None), "hypervisors[0].uri"),
        ("hypervisor-cpus-word", hv(cpus="four"), "hypervisors[0].cpus"),
        ("hypervisor-cpus-bool", hv(cpus=True), "hypervisors[0].cpus"),
        ("hypervisor-memory-negative", hv(memory_mib=-5), "hypervisors[0].memory_mib"),
        ("vm-without-name", report(vms=[VM, dict(VM, name="")]), "vms[1].name"),
        ("vm-memory-word", vm(memory="lots"), "vms[web1].memory"),
        ("vm-vcpus-negative", vm(vcpus=-1), "vms[web1].vcpus"),
        ("vm-tags-string", vm(tags="web,db"), "vms[web1].tags"),
        ("guest-not-dict", report(guests={"web1": "up"}), "guests[web1]"),
        ("guest-nproc-word", guest(nproc="many"), "guests[web1].nproc"),
        ("guest-containers-string", guest(containers="web"), "guests[web1].containers"),
        ("guest-meminfo-number", guest(meminfo=5), "guests[web1].meminfo"),
        ("guest-loadavg-list", guest(loadavg=[1, 2, 3]), "guests[web1].loadavg"),
        ("headroom-negative", report(headroom_percent=-1), "headroom_percent"),
        ("headroom-95", report(headroom_percent=95), "headroom_percent"),
        ("capacity-zero", report(vm_capacity_mib=0), "vm_capacity_mib"),
        ("formats-typo", report(formats=["pdf"]), ANSIBLE_CHOICES + "formats"),
        ("formats-empty", report(formats=[]), "formats"),
        ("basename-slash", report(basename="a/b"), "basename"),
        ("basename-dotdot", report(basename=".."), "basename"),
        ("basename-empty", report(basename=""), "basename"),
        ("basename-newline", report(basename="fleet\nreport"), "basename"),
        ("basename-leading-dash", report(basename="-rf"), "basename"),
        ("dest-is-a-file", report(dest=DEST + "/notes.txt"), "dest"),
        ("dest-under-a-file", report(dest=DEST + "/notes.txt/sub"), "dest"),
        ("dest-parent-missing", report(dest=ROOT + "/missing/deeper/reports"), "dest"),
        ("dest-dotdot-through-missing", report(dest=ROOT + "/missing/../out"), "dest"),
        ("dest-unwritable", report(dest="/proc/self/hybridops-it-mat"), "dest"),
        ("dest-empty", report(dest=""), "dest"),
    ],
}


def tree(root):
    """(path, mode, size, mtime) of everything under root."""
    entries = []
    for base, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(base, name)
            st = os.lstat(path)
            entries.append((os.path.relpath(path, root), st.st_mode, st.st_size, st.st_mtime_ns))
    return sorted(entries)


def host_state():
    """What a bad input must not change: the report directory's tree (and its parent's), the places a bad dest
    points at, and systemd's unit directories (vm_discover only reads)."""
    units = {}
    for directory in ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system"):
        units[directory] = tree(directory) if os.path.isdir(directory) else None
    return {"root": tree(ROOT), "units": units,
            "elsewhere": [os.path.exists(p) for p in ("/proc/self/hybridops-it-mat", "fleet\nreport.json")]}


def remove_new(before):
    """Remove what a case added under ROOT."""
    known = set(e[0] for e in before["root"])
    for base, dirs, files in os.walk(ROOT, topdown=False):
        for name in files + dirs:
            path = os.path.join(base, name)
            if os.path.relpath(path, ROOT) not in known:
                (os.rmdir if name in dirs else os.unlink)(path)


@pytest.fixture(scope="module")
def matrix(ansible, tmp_path_factory):
    os.makedirs(DEST, mode=0o700, exist_ok=True)
    with open(DEST + "/notes.txt", "w") as handle:
        handle.write("the user's own file\n")
    baseline = ansible.run_tasks([{"hybridops.fleet.fleet_report": report()}])["localhost"][0]
    assert not baseline.get("failed"), baseline
    before = host_state()
    assert [e[0] for e in before["root"]] == ["reports", "reports/fleet-report.json", "reports/notes.txt"]
    results, per_module = {}, {}
    for module, cases in CASES.items():
        tasks = [{"name": case_id, "hybridops.fleet." + module: args} for case_id, args, _option in cases]
        module_results = ansible.run_tasks(tasks)["localhost"]
        after = host_state()
        results[module] = (module_results, after)
        left = bad_input.attribute(
            cases, lambda case, module=module: ansible.run_tasks([{"hybridops.fleet." + module: case[1]}]),
            host_state, before, after, lambda: remove_new(before))
        per_module[module] = bad_input.figures(cases, module_results, left)
    bad_input.write("host", per_module)
    yield before, results
    for base, dirs, files in os.walk(ROOT, topdown=False):
        for name in files:
            os.unlink(os.path.join(base, name))
        for name in dirs:
            os.rmdir(os.path.join(base, name))
    os.rmdir(ROOT)


@pytest.mark.parametrize("module,index", [(m, i) for m in CASES for i in range(len(CASES[m]))],
                         ids=["%s-%s" % (m, c[0]) for m in CASES for c in CASES[m]])
def test_bad_input_names_the_option_and_changes_nothing(matrix, module, index):
    before, results = matrix
    case_results, after = results[module]
    _case_id, _args, option = CASES[module][index]
    result = case_results[index]
    assert result.get("failed") is True, result
    assert bad_input.traceback_of(result) is None, result
    assert bad_input.clear(result, option), result
    assert after == before
