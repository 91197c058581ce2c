"""container_stack vs a loop of community.docker.docker_container vs the raw Docker SDK.

For N containers on one engine, three phases: create (and start), no-op rerun,
remove. Each phase runs as one ansible-playbook; the figure compared is the
time of the measured task inside the play (what the task costs in any
playbook), and the whole playbook's wall-clock time is reported beside it.
Medians of --reps repetitions. The floor is the raw Docker SDK with a thread pool (the
same low-level calls, no Ansible); "one module start-up" is an ansible-playbook
run of one container_stack task that has nothing to do.

Run it with the bench-only venv that has PyPI's `ansible` package (it bundles
community.docker), never the project venv:

    python3 -m venv bench/.venv && bench/.venv/bin/pip install ansible docker
    DOCKER_HOST=unix:///run/hybridops-lab/docker.sock bench/.venv/bin/python bench/container_stack_bench.py

Results are printed as a table and written to bench/results/ as JSON.
"""
import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import docker

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PREFIX = "hybridops-bench-"
STACK = "hybridops-bench"
IMAGE = "hybridops-bench/box:2"


def ensure_image(client):
    """A tiny busybox image built locally (no registry): FROM scratch + static busybox."""
    try:
        return client.api.inspect_image(IMAGE)["Id"]
    except docker.errors.ImageNotFound:
        pass
    rootfs = io.BytesIO()
    with tarfile.open(fileobj=rootfs, mode="w") as tar:
        tar.add("/bin/busybox", arcname="bin/busybox")
        for applet in ("sh", "sleep"):
            info = tarfile.TarInfo("bin/" + applet)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        # a process that exits on SIGTERM, like a well-behaved service (a bare `sleep` as PID 1
        # ignores it and every stop would wait for the kill timeout)
        dockerfile = b'FROM scratch\nADD rootfs.tar /\nCMD ["sh", "-c", "trap \'exit 0\' TERM; sleep 86400 & wait"]\n'
        for name, data in (("Dockerfile", dockerfile),
                           ("rootfs.tar", rootfs.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    for chunk in client.api.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, tag=IMAGE,
                                  rm=True, decode=True):
        if "error" in chunk:
            raise SystemExit("building %s failed: %s" % (IMAGE, chunk["error"]))
    return client.api.inspect_image(IMAGE)["Id"]


def cleanup(client):
    items = [c for c in client.api.containers(all=True)
             if any(n.lstrip("/").startswith(PREFIX) for n in c["Names"])]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: client.api.remove_container(c["Id"], force=True), items))


def names(n):
    return ["%s%03d" % (PREFIX, i) for i in range(n)]


def member(name):
    return {"name": name, "image": IMAGE, "env": {"ROLE": "bench"}, "labels": {"bench": "yes"},
            "restart_policy": "no"}


class Runner:
    def __init__(self, args):
        self.args = args
        self.workdir = tempfile.mkdtemp(prefix="hybridops-bench-")
        self.count = 0
        self.loads = []
        bindir = os.path.dirname(os.path.abspath(sys.executable))
        self.playbook_bin = os.path.join(bindir, "ansible-playbook")
        self.env = dict(os.environ,
                        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
                        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
                        ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_FORKS="1")

    def play(self, task):
        """Run one measured task in an ansible-playbook on localhost.

        Returns (task seconds, playbook wall seconds, changed). The task time is taken
        inside the play (timestamps before and after the task), so it is the cost
        of the task in any playbook; the wall time adds ansible-playbook's start-up.
        """
        self.count += 1
        path = os.path.join(self.workdir, "play%03d.yml" % self.count)
        task = dict(task, register="r")
        tasks = [{"ansible.builtin.set_fact": {"t0": "{{ now().timestamp() }}"}},
                 task,
                 {"ansible.builtin.debug": {"msg": "ELAPSED={{ now().timestamp() - (t0 | float) }} CHANGED={{ r.changed }}"}}]
        with open(path, "w") as handle:
            json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], handle)
        start = time.monotonic()
        proc = subprocess.run([self.playbook_bin, "-i", "localhost,", "-c", "local", path], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        wall = time.monotonic() - start
        self.loads.append(os.getloadavg()[0])
        if proc.returncode != 0:
            raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
        match = re.search(r"ELAPSED=([0-9.]+) CHANGED=(True|False)", proc.stdout)
        return float(match.group(1)), wall, match.group(2) == "True"

    # ------------------------------------------------------------------ ours
    def ours(self, n, phase):
        if phase == "remove":
            task = {"hybridops.fleet.container_stack": {"name": STACK, "state": "absent"}}
        else:
            task = {"hybridops.fleet.container_stack": {"name": STACK, "containers": [member(x) for x in names(n)],
                                                        "max_workers": self.args.workers}}
        return self.play(task)

    def startup(self):
        """One module start-up: a container_stack task with nothing to do."""
        return self.play({"hybridops.fleet.container_stack": {"name": STACK + "-empty", "containers": []}})

    # ------------------------------------------------------------------ peer
    def peer(self, n, phase):
        if phase == "remove":
            args = {"name": "{{ item }}", "state": "absent"}
        else:
            args = {"name": "{{ item }}", "image": IMAGE, "env": {"ROLE": "bench"}, "labels": {"bench": "yes"},
                    "restart_policy": "no", "state": "started"}
        return self.play({"community.docker.docker_container": args, "loop": names(n)})


# ---------------------------------------------------------------------- raw SDK floor

def raw(client, n, phase, workers):
    api = client.api
    start = time.monotonic()
    if phase == "create":
        def create(name):
            body = {"Image": IMAGE, "Env": ["ROLE=bench"], "Labels": {"bench": "yes"}, "HostConfig": {}}
            cid = api.create_container_from_config(body, name)["Id"]
            api.start(cid)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(create, names(n)))
    elif phase == "noop":
        listing = api.containers(all=True)
        ids = [c["Id"] for c in listing if any(x.lstrip("/").startswith(PREFIX) for x in c["Names"])]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(api.inspect_container, ids))
        api.inspect_image(IMAGE)
    else:
        listing = api.containers(all=True)
        ids = [c["Id"] for c in listing if any(x.lstrip("/").startswith(PREFIX) for x in c["Names"])]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda cid: api.remove_container(cid, force=True), ids))
    return time.monotonic() - start


def median(values):
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--peer-reps", type=int, default=None, help="reps for the (slow) peer loop; default --reps")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    client = docker.DockerClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
                                 version="auto")
    ensure_image(client)
    runner = Runner(args)
    phases = ("create", "noop", "remove")
    results = {"meta": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(),
                        "cpus": os.cpu_count(), "engine": client.version().get("Version"),
                        "sdk": docker.__version__, "workers": args.workers, "reps": args.reps,
                        "python": platform.python_version(), "load_start": round(os.getloadavg()[0], 2)},
               "startup": [], "sizes": {}}
    cleanup(client)
    for _rep in range(args.reps):
        task, wall, _changed = runner.startup()
        results["startup"].append({"task": task, "wall": wall})
    for n in args.sizes:
        data = {"ours": dict((p, []) for p in phases), "peer": dict((p, []) for p in phases),
                "raw": dict((p, []) for p in phases), "changed": {}}
        for _rep in range(args.reps):
            cleanup(client)
            for phase in phases:
                task, wall, changed = runner.ours(n, phase)
                data["ours"][phase].append({"task": task, "wall": wall})
                data["changed"]["ours_" + phase] = changed
            cleanup(client)
            for phase in phases:
                data["raw"][phase].append(raw(client, n, phase, args.workers))
        if not args.skip_peer:
            for _rep in range(args.peer_reps or args.reps):
                cleanup(client)
                for phase in phases:
                    task, wall, changed = runner.peer(n, phase)
                    data["peer"][phase].append({"task": task, "wall": wall})
                    data["changed"]["peer_" + phase] = changed
        cleanup(client)
        results["sizes"][str(n)] = data

    def med(items, key):
        return median([item[key] for item in items])

    startup = med(results["startup"], "task")
    startup_wall = med(results["startup"], "wall")
    rows = []
    for n, data in results["sizes"].items():
        for phase in phases:
            ours = med(data["ours"][phase], "task")
            peer = med(data["peer"][phase], "task") if data["peer"][phase] else None
            floor = median(data["raw"][phase])
            rows.append({"n": int(n), "phase": phase, "ours_task_s": ours, "peer_task_s": peer,
                         "ours_wall_s": med(data["ours"][phase], "wall"),
                         "peer_wall_s": med(data["peer"][phase], "wall") if peer else None,
                         "raw_sdk_s": floor, "startup_s": startup,
                         "peer_over_ours": (peer / ours) if peer else None,
                         "ours_over_floor": ours / (floor + startup)})
    results["table"] = rows
    results["meta"]["load_end"] = round(os.getloadavg()[0], 2)
    results["meta"]["load_median"] = round(median(runner.loads), 2) if runner.loads else None
    try:
        from _harness import versions  # pylint: disable=import-outside-toplevel
        results["meta"].update(versions())
    except Exception:  # pylint: disable=broad-except
        pass
    print("one module start-up (no-op container_stack task): %.2fs task, %.2fs whole playbook"
          % (startup, startup_wall))
    print("task = time of the task inside the play; wall = whole ansible-playbook run (adds ~%.1fs start-up)"
          % (startup_wall - startup))
    header = ("N", "phase", "ours task", "peer task", "peer/ours", "raw SDK", "ours/(raw+start)", "ours wall",
              "peer wall")
    print("%4s %-7s %10s %10s %10s %9s %17s %10s %10s" % header)

    def fmt(value, pattern="%.2f"):
        return pattern % value if value is not None else "-"
    for row in rows:
        print("%4d %-7s %10s %10s %10s %9s %17s %10s %10s" % (
            row["n"], row["phase"], fmt(row["ours_task_s"]), fmt(row["peer_task_s"]),
            fmt(row["peer_over_ours"], "%.1fx"), fmt(row["raw_sdk_s"]), fmt(row["ours_over_floor"]),
            fmt(row["ours_wall_s"]), fmt(row["peer_wall_s"])))
    for n, data in results["sizes"].items():
        print("changed flags N=%s: %s" % (n, data["changed"]))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "container_stack_%s.json" % time.strftime("%Y%m%dT%H%M%S"))
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    print("wrote %s" % path)


if __name__ == "__main__":
    main()
