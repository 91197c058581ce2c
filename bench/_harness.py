"""Shared helpers of the libvirt, inventory and guest benchmarks (bench/*_bench.py).

A measured step is one ansible-playbook run on localhost whose measured tasks
sit between two timestamps taken inside the play, so the figure is what those
tasks cost in any playbook (ansible-playbook's own start-up is reported beside
it as the wall time). Both sides run under the same ansible-core and the same
Python: the interpreter running the bench (the bench venv's).
"""
import atexit
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PREFIX = "hybridops-bench-"
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
# the lab harness (tests/lab/lab.py) owns the namespace helpers
from lab import in_netns, netns_path  # noqa: E402  pylint: disable=wrong-import-position


def reexec_in_netns(uri):
    """Re-run this command inside the lab's network namespace (where libvirtd runs) for qemu:// URIs."""
    if uri.startswith("qemu") and not in_netns() and os.path.exists(netns_path()):
        os.execvp("nsenter", ["nsenter", "--net=" + netns_path(), sys.executable] + sys.argv)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load():
    """The 1-minute load average (the machine is shared: note it beside every figure)."""
    return round(os.getloadavg()[0], 2)


def versions():
    """Versions of what runs both sides, for the JSON meta."""
    import ansible.release  # pylint: disable=import-outside-toplevel
    meta = {"python": platform.python_version(), "python_executable": sys.executable,
            "ansible_core": ansible.release.__version__, "host": platform.node(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        from importlib.metadata import version  # pylint: disable=import-outside-toplevel
        meta["ansible_package"] = version("ansible")
    except Exception:  # pylint: disable=broad-except
        meta["ansible_package"] = None
    try:
        import libvirt  # pylint: disable=import-outside-toplevel
        ver = libvirt.getVersion()
        meta["libvirt_python"] = "%d.%d.%d" % (ver // 1000000, ver // 1000 % 1000, ver % 1000)
    except Exception:  # pylint: disable=broad-except
        pass
    for name in ("community.libvirt", "community.docker"):
        meta[name] = collection_version(name)
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        match = re.search(r"^version:\s*(\S+)", handle.read(), re.M)
    meta["hybridops.fleet"] = match.group(1) if match else None
    try:
        meta["git_commit"] = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                            text=True, check=False).stdout.strip()
    except OSError:
        pass
    return meta


def collection_version(name):
    namespace, coll = name.split(".")
    for entry in sys.path:
        path = os.path.join(entry, "ansible_collections", namespace, coll, "MANIFEST.json")
        if os.path.exists(path):
            with open(path) as handle:
                return json.load(handle)["collection_info"]["version"]
    return None


class Runner:
    """Runs plays on localhost with the ansible-playbook beside this Python."""

    def __init__(self, workdir=None, extra_env=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix="hybridops-bench-")
        if not workdir and not os.environ.get("HYBRIDOPS_BENCH_KEEP"):
            atexit.register(shutil.rmtree, self.workdir, True)
        self.count = 0
        bindir = os.path.dirname(os.path.abspath(sys.executable))
        self.bindir = bindir
        self.playbook_bin = os.path.join(bindir, "ansible-playbook")
        self.env = dict(os.environ,
                        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
                        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="False",
                        ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_FORKS="1",
                        ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, "tmp"))
        self.env.update(extra_env or {})

    def play(self, tasks, registers, play_vars=None, timeout=3600):
        """Run `tasks` (measured) in one play; `registers` are the variables whose `changed` is reported.

        Returns {"task": seconds inside the play, "wall": whole playbook, "load": 1-min load average,
        "changed": {register: bool}, "changed_items": {register: count of changed loop items}}.
        """
        self.count += 1
        path = os.path.join(self.workdir, "play%03d.yml" % self.count)
        report = "{{ {%s} | to_json }}" % ", ".join(
            "'%s': [%s.changed | default(false), (%s.results | default([]) | selectattr('changed', 'defined')"
            " | selectattr('changed') | list | length)]" % (name, name, name) for name in registers)
        body = ([{"ansible.builtin.set_fact": {"bench_t0": "{{ now().timestamp() }}"}}] + list(tasks)
                + [{"ansible.builtin.set_fact": {"bench_t1": "{{ now().timestamp() }}"}},
                   {"ansible.builtin.debug": {"msg": "BENCH_ELAPSED={{ bench_t1 | float - bench_t0 | float }}"}},
                   {"ansible.builtin.debug": {"msg": "BENCH_CHANGED=" + report}}])
        play = {"hosts": "localhost", "gather_facts": False, "tasks": body}
        if play_vars:
            play["vars"] = play_vars
        with open(path, "w") as handle:
            json.dump([play], handle)
        start = time.monotonic()
        proc = subprocess.run([self.playbook_bin, "-i", "localhost,", "-c", "local", path], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False, timeout=timeout)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            raise BenchError("playbook %s failed (rc %d):\n%s\n%s"
                             % (path, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
        elapsed = float(re.search(r"BENCH_ELAPSED=([0-9.]+)", proc.stdout).group(1))
        changed = json.loads(re.search(r'"msg": "BENCH_CHANGED=(.*)"', proc.stdout).group(1).replace('\\"', '"'))
        return {"task": round(elapsed, 3), "wall": round(wall, 3), "load": load(),
                "changed": dict((k, v[0]) for k, v in changed.items()),
                "changed_items": dict((k, v[1]) for k, v in changed.items())}


class BenchError(Exception):
    pass


def write_results(kind, results):
    """Write bench/results/<kind>_<time>.json and say so (bench/run reads the "wrote" line)."""
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "%s_%s.json" % (kind, time.strftime("%Y%m%dT%H%M%S")))
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    print("wrote %s" % path)
    return path


def run_bench(run, args, cleanup=None):
    """A bench's main: inside the lab namespace for qemu URIs; a BenchError ends it with its message
    (after ``cleanup(args.uri)`` when given)."""
    reexec_in_netns(args.uri)
    try:
        run(args)
    except BenchError as exc:
        if cleanup is not None:
            cleanup(args.uri)
        raise SystemExit(str(exc))


def fmt(value, pattern="%.2f"):
    return pattern % value if value is not None else "-"
