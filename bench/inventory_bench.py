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

--scale H: the scale part instead: H hypervisors of --per-hypervisor domains each (bench/inventory_estate.py:
libvirt test-driver files behind the lab's libvirtd, ``test+unix:///PATH.xml``, so every call is a round trip
to a daemon), listed by ours (one file, H URIs), by the peer (it takes one URI: an inventory directory of H
files, as its users do) and by two floors: ansible-inventory on ``localhost,`` and on a static JSON inventory of
the same hosts with the same host variables (what ansible-inventory itself costs for that data).

    bench/.venv/bin/python bench/inventory_bench.py [--n 50] [--reps 3]
    bench/.venv/bin/python bench/inventory_bench.py --scale 20 [--per-hypervisor 50] [--reps 3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import inventory_estate
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


def static_inventory(listed):
    """A static inventory (the yaml plugin reads JSON) of what ``ansible-inventory --list`` printed: the same hosts,
    groups and host variables, ansible-core's unsafe markers removed."""
    def plain(value):
        if isinstance(value, dict):
            if set(value) == {"__ansible_unsafe"}:
                return value["__ansible_unsafe"]
            return dict((k, plain(v)) for k, v in value.items())
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value
    hostvars = plain(listed.get("_meta", {}).get("hostvars", {}))
    groups = dict((name, {"hosts": dict((h, None) for h in group.get("hosts", []))})
                  for name, group in listed.items() if name not in ("_meta", "all") and group.get("hosts"))
    return {"all": {"hosts": hostvars, "children": groups}}


def run_scale(args):
    """H hypervisors x N domains: ours vs the peer vs the two floors."""
    inv = Inventory("test+unix:///unused")
    paths = inventory_estate.write_estate(os.path.join(inv.dir, "estate"), args.scale, args.per_hypervisor)
    uris = ["test+unix://" + path for path in paths]
    ours = {"plugin": "hybridops.fleet.libvirt", "uris": uris, "filters": {"names": [PREFIX + "*"]}}
    files = {"ours": ours, "ours_cache": dict(ours, cache=True, cache_plugin="ansible.builtin.jsonfile",
                                              cache_connection=inv.cache, cache_timeout=3600)}
    for key, config in files.items():
        inv.files[key] = os.path.join(inv.dir, "%s.libvirt.yml" % key)
        with open(inv.files[key], "w") as handle:
            json.dump(config, handle)
    peer_dir = os.path.join(inv.dir, "peer")
    os.makedirs(peer_dir)
    for index, uri in enumerate(uris):
        with open(os.path.join(peer_dir, "hv%02d.libvirt.yml" % index), "w") as handle:
            handle.write(PEER % {"uri": uri, "prefix": PREFIX})
    inv.files["peer"] = peer_dir
    expected = inventory_estate.expected_names(args.scale, args.per_hypervisor)
    results = {"meta": dict(versions(), scale=True, hypervisors=args.scale, per_hypervisor=args.per_hypervisor,
                            uris="test+unix:// (test-driver files behind the lab's libvirtd)", reps=args.reps,
                            load_start=load()),
               "runs": {"floor": [], "floor_static": [], "ours": [], "ours_cache_cold": [], "ours_cache_warm": [],
                        "peer": []}}
    try:
        proc = subprocess.run([inv.bin, "-i", inv.files["ours"], "--list"], env=inv.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=True)
        inv.files["floor_static"] = os.path.join(inv.dir, "static.json")
        with open(inv.files["floor_static"], "w") as handle:
            json.dump(static_inventory(json.loads(proc.stdout)), handle)
        for rep in range(args.reps):
            for key in ("floor", "floor_static", "ours", "peer"):
                results["runs"][key].append(inv.run(key))
            inv.flush_cache()
            results["runs"]["ours_cache_cold"].append(inv.run("ours_cache"))
            results["runs"]["ours_cache_warm"].append(inv.run("ours_cache"))
            line = []
            for key in ("floor", "floor_static", "ours", "peer", "ours_cache_cold", "ours_cache_warm"):
                res = results["runs"][key][-1]
                if key != "floor" and res["hosts"] != expected:
                    raise BenchError("%s listed %d hosts, expected %d" % (key, len(res["hosts"]), len(expected)))
                line.append("%s %.2fs" % (key, res["wall"]))
            print("rep %d: %s (load %.2f)" % (rep + 1, ", ".join(line), load()), flush=True)
    finally:
        inv.close()
    for runs in results["runs"].values():
        for res in runs:
            res["hosts"] = len(res["hosts"])
    results["meta"]["load_end"] = load()
    med = dict((k, median([r["wall"] for r in v])) for k, v in results["runs"].items())
    loads = dict((k, median([r["load"] for r in v])) for k, v in results["runs"].items())
    n = args.scale * args.per_hypervisor
    results["table"] = []
    for phase, key in (("no cache", "ours"), ("cache (warm)", "ours_cache_warm")):
        results["table"].append({
            "bench": "inventory", "n": n, "hypervisors": args.scale, "phase": "%s, %d hypervisors" % (phase, args.scale),
            "ours_s": med[key],
            "peer_s": med["peer"], "floor_s": med["floor"], "floor_static_s": med["floor_static"],
            "peer_over_ours": med["peer"] / med[key], "ours_over_floor": med[key] / med["floor"],
            "ours_over_floor_static": med[key] / med["floor_static"], "load": loads[key], "same_hosts": True,
            "above_floor": {"ours": med[key] - med["floor"], "peer": med["peer"] - med["floor"]}})
    print("%-13s %5s %8s %8s %10s %8s %8s %10s %10s" % ("inventory", "N", "ours s", "peer s", "peer/ours", "floor s",
                                                        "static s", "ours/floor", "ours/static"))
    for row in results["table"]:
        print("%-13s %5d %8s %8s %10s %8s %8s %10s %10s" % (
            row["phase"].split(",")[0], n, fmt(row["ours_s"]), fmt(row["peer_s"]), fmt(row["peer_over_ours"], "%.2fx"),
            fmt(row["floor_s"]), fmt(row["floor_static_s"]), fmt(row["ours_over_floor"], "%.2fx"),
            fmt(row["ours_over_floor_static"], "%.2fx")))
    print("ours cold cache run (fills the cache): %.2fs" % med["ours_cache_cold"])
    write_results("inventory_scale", results)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--running-every", type=int, default=5, help="start every k-th domain (0: none)")
    parser.add_argument("--scale", type=int, default=0, metavar="H",
                        help="the scale part: H test-driver hypervisors behind the lab's libvirtd (0: the N-domain part)")
    parser.add_argument("--per-hypervisor", type=int, default=50)
    args = parser.parse_args()
    if args.scale:
        run_bench(run_scale, args)
        return
    if args.uri.startswith("test:"):
        raise SystemExit("the inventory bench needs a daemon (test:///default has no state between processes)")
    run_bench(run, args)


if __name__ == "__main__":
    main()
