"""The option matrix: every container option walked through create, equivalent spellings, change, rerun.

Cases are data (container_option_cases.py and container_option_cases_*.py). All cases run together:
each phase is ONE looped task, and the whole walk is one ansible-playbook run (five tasks), then every
case is checked here in Python:

    create -> rerun and every equivalent spelling report changed=false (identical diff, same container)
    -> the change in check mode predicts changed, the action (in place or recreate) and the differences
    -> the real change does exactly that (the same container ID when in place), its diff differs only in
    the changed keys, the engine shows the new value -> a rerun reports changed=false.

The same walk runs for the cases marked ``stack`` as members of one container_stack (one module call per
phase). The lab's engine has a production-like daemon.json (default log-opts, address pools, live-restore),
whose engine-filled values must never count as drift.
"""
import fnmatch
import glob
import hashlib
import importlib
import io
import json
import os
import sys
import tarfile

import container_option_cases as base
import docker
import lab
import pytest

# fixtures are imported so pytest finds them
from test_container_support import docker_client, dump, test_images  # noqa: F401 pylint: disable=unused-import

TEST_GROUP = "matrix"  # beside the host session: its objects carry prefixes of its own (conftest.py)

HERE = os.path.dirname(os.path.abspath(__file__))
STACK = base.MATRIX + "stack"
STACK_PREFIX = base.PREFIX + "os-"
# HYBRIDOPS_MATRIX_PORT: the first host port of a run (the stack run uses the next hundred)
MODULE_PORT = int(os.environ.get("HYBRIDOPS_MATRIX_PORT", "39080"))
STACK_PORT = MODULE_PORT + 100
# HYBRIDOPS_MATRIX_CASES: comma-separated case ids or patterns (fnmatch) to run; all by default
SELECTED = [p.strip() for p in os.environ.get("HYBRIDOPS_MATRIX_CASES", "").split(",") if p.strip()]


def all_cases(ctx):
    """The base cases plus those of every container_option_cases_*.py (each has ``cases(ctx)``)."""
    result = list(base.cases(ctx))
    for filename in sorted(glob.glob(os.path.join(HERE, "container_option_cases_*.py"))):
        result.extend(importlib.import_module(os.path.basename(filename)[:-3]).cases(ctx))
    ids = [c["id"] for c in result]
    assert len(ids) == len(set(ids)), "case ids must be unique: %s" % sorted(i for i in ids if ids.count(i) > 1)
    if SELECTED:
        result = [c for c in result if any(fnmatch.fnmatchcase(c["id"], p) for p in SELECTED)]
        assert result, "HYBRIDOPS_MATRIX_CASES=%s selects no case" % ",".join(SELECTED)
    return result


def remove_matrix(client):
    for item in client.api.containers(all=True):
        if any(n.lstrip("/").startswith((base.MATRIX, STACK_PREFIX)) for n in item["Names"]):
            try:
                client.api.remove_container(item["Id"], force=True, v=True)
            except docker.errors.NotFound:
                pass
    for net in client.api.networks():
        if net["Name"].startswith(base.MATRIX):
            client.api.remove_network(net["Id"])
    for vol in client.api.volumes().get("Volumes") or []:
        if vol["Name"].startswith(base.MATRIX):
            client.api.remove_volume(vol["Name"], force=True)


def relabelled_image(client, source, tag, architecture):
    """``source`` loaded again as ``tag`` with another architecture in its config (same layers, same programs).

    The engine runs it as it runs ``source``; only the platform it reports differs (the platform cases). Loading
    the same bytes again gives the same image ID, so reruns and parallel sessions agree on it.
    """
    with lab.held_lock("test-images"):
        data = b"".join(client.api.get_image(source))
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            members = dict((m.name, archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers())
            infos = archive.getmembers()
        manifest = json.loads(members["manifest.json"])
        config = json.loads(members[manifest[0]["Config"]])
        config["architecture"] = architecture
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        manifest = [dict(manifest[0], Config=config_name, RepoTags=[tag])]
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as archive:
            for info in infos:
                if info.name in ("manifest.json", "repositories") or info.name == manifest[0].get("Config"):
                    continue
                if info.name.endswith(".json") and info.name not in (config_name,) and "/" not in info.name:
                    continue    # the source's config
                archive.addfile(info, io.BytesIO(members[info.name]) if info.isfile() else None)
            for name, payload in ((config_name, config_bytes), ("manifest.json", json.dumps(manifest).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
        for _chunk in client.api.load_image(out.getvalue()):
            pass
    return client.api.inspect_image(tag)


@pytest.fixture(scope="module")
def matrix(docker_client, test_images, tmp_path_factory):
    client = docker_client
    remove_matrix(client)
    client.api.create_network(base.NET, driver="bridge")
    client.api.create_network(base.NET6, driver="bridge", enable_ipv6=True, ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet=base.NET6_PREFIX + "::/64")]))
    client.api.create_volume(base.VOLUME)
    bind_dir = str(tmp_path_factory.mktemp(base.MATRIX + "bind"))
    os.chmod(bind_dir, 0o755)
    env_dir = tmp_path_factory.mktemp(base.MATRIX + "env")
    env_files = []
    for index, text in enumerate(("# comment\nFROMFILE=1\n\nKEEP=x\n", "FROMFILE=2\nKEEP=x\n")):
        env_files.append(str(env_dir / ("app%d.env" % index)))
        with open(env_files[-1], "w") as handle:
            handle.write(text)
    # a running container other cases point at (network_mode container:NAME, volumes_from)
    target = base.MATRIX + "target"
    created = client.api.create_container(base.BOX, name=target, stop_signal="SIGKILL")
    client.api.start(created["Id"])
    arm = relabelled_image(client, base.BOX, base.BOX_ARM64, "arm64")
    ctx = {"bind_dir": bind_dir, "box_id": test_images[base.BOX]["Id"], "client": client, "env_files": env_files,
           "target": target, "target_id": created["Id"], "box_arm64_id": arm["Id"]}
    yield ctx
    remove_matrix(client)


def changed_keys(diff):
    before, after = diff.get("before") or {}, diff.get("after") or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def merged(c, name, extra=None):
    args = {"name": name, "image": c["image"]}
    args.update(c["create"])
    args.update(extra or {})
    return args


def changed(c, name):
    args = merged(c, name, c["change"])
    for key in c["remove"]:
        args.pop(key, None)
    return args


def looped(module, items, label="{{ item.name }}", **task):
    """One task over many items (a list, or a template naming one)."""
    task.update({module: "{{ item }}", "loop": items, "loop_control": {"label": label}, "diff": True})
    return task


class Problems(list):
    def add(self, cid, what, data=None):
        self.append("%s: %s%s" % (cid, what, "" if data is None else "\n    " + dump(data)[:1500].replace("\n", "")))


def check_walk(c, problems, created, sames, predicted, real, rerun, final):
    """The assertions of one case (module or stack member); problems are collected, not raised one by one."""
    cid = c["id"]
    if created.get("failed") or created.get("changed") is not True:
        problems.add(cid, "create did not report changed (or failed)", created)
        return
    first_id = created["id"]
    if c["engine"](created["container"]) != c["expect"][0]:
        problems.add(cid, "engine after create: %r, expected %r" % (c["engine"](created["container"]), c["expect"][0]))
    for index, same in enumerate(sames):
        if same.get("failed") or same.get("changed") is not False:
            problems.add(cid, "spelling %d is not a no-op" % index, same)
        elif same["diff"]["before"] != same["diff"]["after"]:
            problems.add(cid, "spelling %d: diff before != after" % index, same["diff"])
        elif same["id"] != first_id:
            problems.add(cid, "spelling %d: another container" % index)
    if predicted.get("failed") or predicted.get("changed") is not True or predicted.get("action") != c["action"]:
        problems.add(cid, "check mode predicted %s/%s, expected changed/%s" % (predicted.get("changed"), predicted.get(
            "action"), c["action"]), predicted)
        return
    options = sorted(d["option"] for d in predicted["differences"])
    if options != c["differences"]:
        problems.add(cid, "predicted differences %s, expected %s" % (options, c["differences"]), predicted["differences"])
    if changed_keys(predicted["diff"]) != c["diff_keys"]:
        problems.add(cid, "predicted diff differs in %s, expected %s" % (changed_keys(predicted["diff"]), c["diff_keys"]),
                     predicted["diff"])
    if real.get("failed") or real.get("changed") is not True or real.get("action") != c["action"]:
        problems.add(cid, "the change did %s/%s" % (real.get("changed"), real.get("action")), real)
        return
    if real["differences"] != predicted["differences"] or real["diff"] != predicted["diff"]:
        problems.add(cid, "the change differs from its check-mode prediction",
                     {"real": [real["differences"], real["diff"]], "predicted": [predicted["differences"], predicted["diff"]]})
    if (real["id"] == first_id) != c["in_place"]:
        kept = "stayed" if real["id"] == first_id else "changed"
        problems.add(cid, "in place expected %s, the container ID %s" % (c["in_place"], kept))
    if final is None or c["engine"](final) != c["expect"][1]:
        problems.add(cid, "engine after change: %r, expected %r" % (final and c["engine"](final), c["expect"][1]))
    if c["rerun_changed"]:
        if rerun.get("failed") or rerun.get("changed") is not True:
            problems.add(cid, "rerun after the change should change again (recreate: always)", rerun)
    elif rerun.get("failed") or rerun.get("changed") is not False:
        problems.add(cid, "rerun after the change is not a no-op", rerun)
    elif rerun["diff"]["before"] != rerun["diff"]["after"]:
        problems.add(cid, "rerun after the change: diff before != after", rerun["diff"])


def module_result(item):
    item = dict(item)
    item["id"] = (item.get("container") or {}).get("Id")
    return item


# the module walk runs its cases on several local hosts at once (Ansible forks): most of a walk is waiting
# for the engine (stops, starts), not CPU
HOSTS = ["matrix%d" % i for i in range(4)]


def write_inventory(directory):
    path = os.path.join(str(directory), "matrix.ini")
    with open(path, "w") as handle:
        line = "%s ansible_connection=local ansible_python_interpreter=%s\n"
        handle.write("[matrix]\n" + "".join(line % (h, sys.executable) for h in HOSTS))
    return path


def test_option_matrix_container(ansible, matrix, tmp_path):
    client = matrix["client"]
    cases = all_cases(dict(matrix, port=MODULE_PORT))
    names = dict((c["id"], base.MATRIX + c["id"]) for c in cases)
    host_of = dict((c["id"], HOSTS[i % len(HOSTS)]) for i, c in enumerate(cases))
    phases = {
        "create": lambda c: [merged(c, names[c["id"]])],
        "same": lambda c: [merged(c, names[c["id"]], s) for s in [{}] + c["same"]],
        "change": lambda c: [changed(c, names[c["id"]])],
    }
    items = dict((h, dict((phase, [i for c in cases if host_of[c["id"]] == h for i in make(c)])
                          for phase, make in phases.items())) for h in HOSTS)
    mine = "{{ matrix_items[inventory_hostname].%s }}"
    tasks = [
        looped("hybridops.fleet.container", mine % "create"),
        looped("hybridops.fleet.container", mine % "same"),
        looped("hybridops.fleet.container", mine % "change", check_mode=True),
        looped("hybridops.fleet.container", mine % "change"),
        looped("hybridops.fleet.container", mine % "change"),
    ]
    run = ansible.run_tasks(tasks, hosts="matrix", inventory=write_inventory(tmp_path),
                            play_vars={"matrix_items": items})
    by_name = {}
    for host in HOSTS:
        for phase in range(5):
            for result in run[host][phase].get("results") or []:
                by_name.setdefault(result["item"]["name"], [[] for _p in range(5)])[phase].append(module_result(result))
    problems = Problems()
    for c in cases:
        walk = by_name.get(names[c["id"]])
        if not walk:
            problems.add(c["id"], "no results (the task failed as a whole?)", run[host_of[c["id"]]])
            continue
        created, same, predicted, real, rerun = walk
        final = client.api.inspect_container(names[c["id"]])
        check_walk(c, problems, created[0], same[1:], predicted[0], real[0], rerun[0], final)
    # the loop items carry the secret (the test's input); the module results never do
    shown = json.dumps([dict((k, v) for k, v in r.items() if k != "item")
                        for walk in by_name.values() for phase in walk for r in phase])
    assert "om-secret-one" not in shown and "om-secret-two" not in shown
    failed = len(set(p.split(":")[0] for p in problems))
    assert not problems, "%d of %d cases failed:\n%s" % (failed, len(cases), "\n".join(problems))


def test_option_matrix_stack_members(ansible, matrix):
    client = matrix["client"]
    cases = [c for c in all_cases(dict(matrix, port=STACK_PORT)) if c["stack"]]
    if SELECTED and not cases:
        pytest.skip("no selected case runs as a stack member")
    assert cases
    names = dict((c["id"], STACK_PREFIX + c["id"]) for c in cases)
    rounds = max(len(c["same"]) for c in cases) + 1

    def stack(members):
        return {"name": STACK, "containers": members}

    def spelling(c, i):
        return merged(c, names[c["id"]], c["same"][i - 1] if 0 < i <= len(c["same"]) else {})

    first = stack([merged(c, names[c["id"]]) for c in cases])
    second = stack([changed(c, names[c["id"]]) for c in cases])
    tasks = [
        {"hybridops.fleet.container_stack": first, "diff": True},
        # the engine's view of the members right after the create (one docker inspect for all)
        {"ansible.builtin.command": {"argv": ["docker", "inspect"] + sorted(names.values())}, "changed_when": False},
        looped("hybridops.fleet.container_stack", [stack([spelling(c, i) for c in cases]) for i in range(rounds)],
               label="{{ item.name }}"),
        {"hybridops.fleet.container_stack": second, "diff": True, "check_mode": True},
        {"hybridops.fleet.container_stack": second, "diff": True},
        {"hybridops.fleet.container_stack": second, "diff": True},
    ]
    run = ansible.run_tasks(tasks)
    outcome = run["localhost"]
    first_inspect = dict((i["Name"].lstrip("/"), i) for i in json.loads(outcome.pop(1).get("stdout") or "[]"))
    same_runs = outcome[1]["results"]

    def member(result, c, diff=True):
        data = dict((result.get("containers") or {}).get(names[c["id"]]) or {})
        data["failed"] = result.get("failed") or data.get("status") not in (None, "ok")
        data["changed"] = names[c["id"]] in (result.get("changed_members") or [])
        if diff and "diff" in result:
            data["diff"] = dict((side, result["diff"][side]["containers"].get(names[c["id"]], {}))
                                for side in ("before", "after"))
        return data

    problems = Problems()
    for c in cases:
        created = member(outcome[0], c)
        created["container"] = first_inspect.get(names[c["id"]]) or {}
        # an unchanged member is left out of the stack diff: an empty before/after is an identical one
        sames = [member(same_runs[i], c) for i in range(1, len(c["same"]) + 1)]
        for result in sames + [member(outcome[4], c)]:
            result.setdefault("diff", {"before": {}, "after": {}})
        final = client.api.inspect_container(names[c["id"]])
        check_walk(c, problems, created, sames, member(outcome[2], c), member(outcome[3], c), member(outcome[4], c),
                   final)
    failed = len(set(p.split(":")[0] for p in problems))
    assert not problems, "%d of %d stack cases failed:\n%s" % (failed, len(cases), "\n".join(problems))
