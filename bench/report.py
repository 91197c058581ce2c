"""Combine the JSON results of the benches of one bench/run into one ratio table and one JSON file.

    python bench/report.py RESULT.json [RESULT.json ...] [--out bench/results/bench_TIMESTAMP.json]

Ratios are "peer / ours" (higher is better for us); for the guests the ratio is
serial / concurrent. "changed" is the changed count the no-op rerun reported
(items reported changed out of N; 0 is correct).
"""
import argparse
import json
import os
import sys
import time

from _harness import HERE, fmt


def rows_container(data):
    rows = []
    for row in data.get("table", []):
        changed = data["sizes"][str(row["n"])]["changed"]
        rows.append({"bench": "container_stack vs docker_container", "n": row["n"], "phase": row["phase"],
                     "ours": row["ours_task_s"], "peer": row.get("peer_task_s"), "ratio": row.get("peer_over_ours"),
                     "async": None, "async_ratio": None,
                     "changed": "%s/%s" % (changed.get("ours_" + row["phase"], "-"), changed.get("peer_" + row["phase"], "-"))
                     if row["phase"] == "noop" else "",
                     "floor": row.get("raw_sdk_s"), "load": data["meta"].get("load_median") or data["meta"].get("load_start")})
    return rows


def rows_libvirt(data):
    rows = []
    for row in data.get("table", []):
        changed = ""
        if row["phase"] == "noop":
            changed = "%s/%s/%s" % tuple(row.get(side + "_changed_items", "-") for side in ("ours", "ours_async", "peer"))
        rows.append({"bench": "libvirt_vm vs community.libvirt.virt", "n": row["n"], "phase": row["phase"],
                     "ours": row.get("ours_s"), "peer": row.get("peer_s"), "ratio": row.get("peer_over_ours"),
                     "async": row.get("ours_async_s"), "async_ratio": row.get("peer_over_ours_async"),
                     "changed": changed, "floor": None,
                     "load": max(v for k, v in row.items() if k.endswith("_load") and v is not None)})
        if row.get("ours_list_s") is not None:
            rows.append({"bench": "libvirt_vms (one task) vs community.libvirt.virt", "n": row["n"],
                         "phase": row["phase"], "ours": row["ours_list_s"], "peer": row.get("peer_s"),
                         "ratio": row.get("peer_over_ours_list"), "async": None, "async_ratio": None,
                         "changed": row.get("ours_list_changed_items", "-") if row["phase"] == "noop" else "",
                         "floor": None, "load": row.get("ours_list_load")})
    return rows


def rows_inventory(data):
    return [{"bench": "libvirt inventory vs community.libvirt", "n": row["n"], "phase": row["phase"],
             "ours": row["ours_s"], "peer": row["peer_s"], "ratio": row["peer_over_ours"], "async": None,
             "async_ratio": None, "changed": "same hosts" if row.get("same_hosts") else "HOSTS DIFFER",
             "floor": row["floor_s"], "load": row["load"]} for row in data.get("table", [])]


def rows_guests(data):
    return [{"bench": "guests: vm_provision vs serial loop", "n": row["n"], "phase": row["phase"],
             "ours": row["ours_async_s"], "peer": row["serial_s"], "ratio": row["serial_over_concurrent"],
             "async": None, "async_ratio": None, "changed": "", "floor": row.get("one_s"), "load": row["load"]}
            for row in data.get("table", [])]


def rows_rollout(data):
    sides = data["sides"]
    rows = []
    for key, label in (("peer", "fixed-port version change: container_rollout vs community.docker stop+start"),
                       ("recreate", "fixed-port version change: container_rollout vs container stop+start")):
        ours, other = sides["rollout"], sides[key]
        rows.append({"bench": label, "n": 1, "phase": "change", "ours": ours["median"], "peer": other["median"],
                     "ratio": other["median"] / ours["median"] if ours["median"] else None, "async": None,
                     "async_ratio": None, "changed": "failed requests %d/%d vs %d/%d" % (
                         ours["failed"], ours["requests"], other["failed"], other["requests"]),
                     "floor": None, "load": data["meta"].get("load_end")})
    return rows


def kind_of(path):
    name = os.path.basename(path)
    for kind in ("container_stack", "libvirt", "inventory", "guests", "rollout"):
        if name.startswith(kind + "_"):
            return kind
    raise SystemExit("unknown result file %s" % path)


ROWS = {"container_stack": rows_container, "libvirt": rows_libvirt, "inventory": rows_inventory,
        "guests": rows_guests, "rollout": rows_rollout}


def render(rows):
    lines = ["| bench | N | phase | ours s | peer s | peer/ours | ours async s | peer/async | no-op changed | floor s | load |",
             "|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for row in rows:
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["bench"], row["n"], row["phase"], fmt(row["ours"]), fmt(row["peer"]), fmt(row["ratio"], "%.2fx"),
            fmt(row["async"]), fmt(row["async_ratio"], "%.2fx"), row["changed"], fmt(row["floor"]),
            fmt(row["load"], "%.1f")))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "bench_%s.json" % time.strftime("%Y%m%dT%H%M%S")))
    args = parser.parse_args()
    combined = {"meta": {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": {}}, "benches": {},
                "table": []}
    for path in args.results:
        kind = kind_of(path)
        with open(path) as handle:
            data = json.load(handle)
        combined["meta"]["files"][kind] = os.path.basename(path)
        combined["benches"][kind] = data
        combined["table"].extend(ROWS[kind](data))
    for key in ("python", "ansible_core", "ansible_package", "community.libvirt", "community.docker", "hybridops.fleet",
                "libvirt_python", "git_commit", "cpus"):
        for data in combined["benches"].values():
            if data.get("meta", {}).get(key) is not None:
                combined["meta"][key] = data["meta"][key]
                break
    table = render(combined["table"])
    combined["table_markdown"] = table
    print(table)
    print("\npeer/ours > 1: ours is faster. guests: 'ours' = vm_provision (concurrent), 'peer' = a libvirt_vm loop "
          "(one guest at a time), ratio = serial/concurrent. no-op changed: loop items reported changed "
          "(ours/peer, libvirt: ours/ours-async/peer), 0 is right.")
    meta = combined["meta"]
    keys = ("python", "ansible_core", "ansible_package", "community.libvirt", "community.docker", "hybridops.fleet",
            "git_commit")
    print("versions: Python %s, ansible-core %s (ansible %s), community.libvirt %s, community.docker %s, "
          "hybridops.fleet %s @ %s" % tuple(meta.get(k) for k in keys))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump(combined, handle, indent=2)
    print("wrote %s" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
