"""hybridops.fleet.libvirt inventory vs community.libvirt.libvirt inventory on the same N domains.

N domains `hybridops-bench-NNN` are defined directly through libvirt (the tiny
halting domains of libvirt_bench.py), every --running-every'th one started.
Each side runs `ansible-inventory -i <file> --list` (one process, as a user
would), filtered to the bench domains (ours: filters.names; peer: filter regex),
and the wall time of the process is measured:

- without cache;
- with ansible's jsonfile cache in a temporary directory: one cold run (fills
  the cache), then the warm run that is measured. community.libvirt's inventory
  is not Cacheable (no cache options), so its "cache" figure is its plain run.

A floor is ansible-inventory on an empty static inventory (the process start-up
both sides pay). Both sides must list the same hosts; the bench fails otherwise.
Medians of --reps.

    bench/.venv/bin/python bench/inventory_bench.py [--n 50] [--reps 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import libvirt_bench
from _harness import PREFIX, REPO, BenchError, fmt, load, median, run_bench, versions, write_results

OURS = """plugin: hybridops.fleet.libvirt
uris: [%(uri)s]
filters:
  names: ['%(prefix)s*']
"""
OURS_CACHE = OURS + """cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %(cache)s
cache_timeout: 3600
"""
PEER = """plugin: community.libvirt.libvirt
uri: %(uri)s
filter: '^%(prefix)s'
"""


def make_domains(uri, n, running_every):
    conn = libvirt_bench.connect(uri)
    try:
        for i, name in enumerate(libvirt_bench.names(n)):
            xml = (libvirt_bench.PEER_XML % libvirt_bench.HALT_KERNEL).replace("{{ item }}", name)
            dom = conn.defineXML(xml)
            if running_every and i % running_every == 0:
                dom.create()
        others = sorted(d.name() for d in conn.listAllDomains(0) if not d.name().startswith(PREFIX))
    finally:
        conn.close()
    return others


class Inventory:
    def __init__(self, uri):
        self.dir = tempfile.mkdtemp(prefix="hybridops-bench-inv-")
        self.cache = os.path.join(self.dir, "cache")
        self.bin = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "ansible-inventory")
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_DEPRECATION_WARNINGS="False", ANSIBLE_INVENTORY_UNPARSED_FAILED="True",
                        ANSIBLE_LOCAL_TEMP=os.path.join(self.dir, "tmp"))
        values = {"uri": uri, "prefix": PREFIX, "cache": self.cache}
        self.files = {}
        for key, text in (("ours", OURS), ("ours_cache", OURS_CACHE), ("peer", PEER)):
            path = os.path.join(self.dir, "%s.libvirt.yml" % key)
            with open(path, "w") as handle:
                handle.write(text % values)
            self.files[key] = path
        self.files["floor"] = "localhost,"

    def run(self, key):
        start = time.monotonic()
        proc = subprocess.run([self.bin, "-i", self.files[key], "--list"], env=self.env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=False)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            raise BenchError("ansible-inventory (%s) failed:\n%s\n%s" % (key, proc.stdout[-3000:], proc.stderr[-3000:]))
        data = json.loads(proc.stdout)
        hosts = sorted(data.get("_meta", {}).get("hostvars", {}))
        if not hosts:
            hosts = sorted(set(h for group in data.values() if isinstance(group, dict) for h in group.get("hosts", [])))
        return {"wall": round(wall, 3), "load": load(), "hosts": hosts}

    def flush_cache(self):
        shutil.rmtree(self.cache, ignore_errors=True)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run(args):
    uri = args.uri
    libvirt_bench.write_halt_kernel()
    libvirt_bench.cleanup(uri)
    results = {"meta": dict(versions(), uri=uri, n=args.n, reps=args.reps, running_every=args.running_every,
                            load_start=load()),
               "runs": {"floor": [], "ours": [], "ours_cache_cold": [], "ours_cache_warm": [], "peer": []}}
    inv = Inventory(uri)
    try:
        results["meta"]["other_domains"] = make_domains(uri, args.n, args.running_every)
        expected = libvirt_bench.names(args.n)
        for rep in range(args.reps):
            for key, label in (("floor", "floor"), ("ours", "ours"), ("peer", "peer")):
                res = inv.run(key)
                results["runs"][label].append(res)
            inv.flush_cache()
            results["runs"]["ours_cache_cold"].append(inv.run("ours_cache"))
            results["runs"]["ours_cache_warm"].append(inv.run("ours_cache"))
            line = []
            for label in ("floor", "ours", "peer", "ours_cache_cold", "ours_cache_warm"):
                res = results["runs"][label][-1]
                if label != "floor" and res["hosts"] != expected:
                    raise BenchError("%s listed %d hosts, expected the %d bench domains: %s" % (
                        label, len(res["hosts"]), len(expected), sorted(set(res["hosts"]) ^ set(expected))[:10]))
                line.append("%s %.2fs" % (label, res["wall"]))
            print("rep %d: %s (load %.2f)" % (rep + 1, ", ".join(line), load()), flush=True)
    finally:
        inv.close()
        libvirt_bench.cleanup(uri)
    for runs in results["runs"].values():
        for res in runs:
            res["hosts"] = len(res["hosts"])
    results["meta"]["load_end"] = load()
    med = dict((k, median([r["wall"] for r in v])) for k, v in results["runs"].items())
    loads = dict((k, median([r["load"] for r in v])) for k, v in results["runs"].items())
    floor = med["floor"]
    results["table"] = [
        {"bench": "inventory", "n": args.n, "phase": "no cache", "ours_s": med["ours"], "peer_s": med["peer"],
         "floor_s": floor, "peer_over_ours": med["peer"] / med["ours"], "load": loads["ours"],
         "same_hosts": True},
        {"bench": "inventory", "n": args.n, "phase": "cache (warm)", "ours_s": med["ours_cache_warm"],
         "ours_cold_s": med["ours_cache_cold"], "peer_s": med["peer"], "floor_s": floor,
         "peer_over_ours": med["peer"] / med["ours_cache_warm"], "load": loads["ours_cache_warm"],
         "note": "community.libvirt's inventory has no cache: its plain run", "same_hosts": True},
    ]
    print("%-13s %4s %8s %8s %10s %8s %s" % ("inventory", "N", "ours s", "peer s", "peer/ours", "floor s",
                                             "ours-floor / peer-floor"))
    for row in results["table"]:
        above = (row["ours_s"] - floor, row["peer_s"] - floor)
        row["above_floor"] = {"ours": above[0], "peer": above[1]}
        print("%-13s %4d %8s %8s %10s %8s %.2f / %.2f" % (row["phase"], row["n"], fmt(row["ours_s"]), fmt(row["peer_s"]),
                                                          fmt(row["peer_over_ours"], "%.2fx"), fmt(floor), above[0],
                                                          above[1]))
    print("ours cold cache run (fills the cache): %.2fs" % med["ours_cache_cold"])
    write_results("inventory", results)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--running-every", type=int, default=5, help="start every k-th domain (0: none)")
    args = parser.parse_args()
    if args.uri.startswith("test:"):
        raise SystemExit("the inventory bench needs a daemon (test:///default has no state between processes)")
    run_bench(run, args)


if __name__ == "__main__":
    main()
