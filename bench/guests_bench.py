"""3 real guests from the lab image: vm_provision (concurrent) vs one at a time, up to SSH-ready.

The guests are the lab's (tests/lab/lab.py: /run/hybridops-lab/image.json):
a qcow2 overlay on the cached Debian base, direct kernel boot, 512 MiB, 1 vCPU,
the lab's NAT network, exactly as playbooks/lab.yml and the vm_provision
molecule scenario ask for them.

- concurrent: the `hybridops.fleet.vm_provision` role with the 3 VMs (one
  `libvirt_vms` call: the VMs and their waits on a thread pool), wait ssh.
- one: the same role with one VM alone, the floor the concurrent side is
  compared with (concurrent/one: how much three cost over one).
- serial: `hybridops.fleet.libvirt_vm` in a loop with wait ssh, i.e. each
  guest is created, booted and waited for before the next one starts.

Guests are destroyed (domains and their overlay volumes) after each side. This
is slow (minutes, CPU-bound under TCG): --reps defaults to 1. Runs inside the
lab's network namespace (the SSH wait reaches guest addresses).

    bench/.venv/bin/python bench/guests_bench.py [--count 3] [--reps 1]
"""
import argparse
import json
import os

import libvirt_bench
from _harness import PREFIX, Runner, fmt, load, median, run_bench, versions, write_results

IMAGE_JSON = os.environ.get("HYBRIDOPS_LAB_IMAGE_JSON", "/run/hybridops-lab/image.json")


def guest_names(count):
    return ["%sg%d" % (PREFIX, i + 1) for i in range(count)]


def guest_spec(image, uri):
    return {"uri": uri, "memory": "512MiB", "vcpus": 1, "domain_type": image.get("domain_type", "qemu"),
            "pool": image["pool"], "kernel": image["kernel"], "initrd": image["initrd"], "cmdline": image["cmdline"],
            "disks": [{"name": "root", "base": image["volume"], "base_pool": image["pool"]}],
            "networks": [{"network": "default"}], "tags": ["bench"], "description": "hybridops.fleet guest benchmark"}


WAIT = {"ssh": True, "timeout": 900}


def concurrent_tasks(image, uri, count):
    defaults = guest_spec(image, uri)
    del defaults["uri"]
    role_vars = {"vm_provision_vms": [{"name": x} for x in guest_names(count)], "vm_provision_defaults": defaults,
                 "vm_provision_uri": uri, "vm_provision_state": "running", "vm_provision_wait": WAIT,
                 "vm_provision_ssh_private_key_file": image["ssh_key"], "vm_provision_group": "bench_guests"}
    return [{"ansible.builtin.include_role": {"name": "hybridops.fleet.vm_provision"}, "vars": role_vars}], \
        ["vm_provision_run"]


def serial_tasks(image, uri, count):
    args = dict(guest_spec(image, uri), name="{{ item }}", state="running", wait=WAIT)
    return [{"hybridops.fleet.libvirt_vm": args, "loop": guest_names(count), "register": "r0"}], ["r0"]


def cleanup(uri, pool_name):
    """Domains hybridops-bench-* (destroyed, undefined), then volumes hybridops-bench-* in the lab pool."""
    removed = libvirt_bench.cleanup(uri)
    conn = libvirt_bench.connect(uri)
    try:
        pool = conn.storagePoolLookupByName(pool_name)
        pool.refresh(0)
        for vol in pool.listAllVolumes(0):
            if vol.name().startswith(PREFIX):
                vol.delete(0)
                removed += 1
    finally:
        conn.close()
    return removed


def run(args):
    with open(IMAGE_JSON) as handle:
        image = json.load(handle)
    uri = args.uri
    runner = Runner()
    results = {"meta": dict(versions(), uri=uri, count=args.count, reps=args.reps, image=image["volume"],
                            load_start=load()),
               "runs": {"concurrent": [], "one": [], "serial": []}}
    sides = (("concurrent", concurrent_tasks, args.count), ("one", concurrent_tasks, 1),
             ("serial", serial_tasks, args.count))
    cleanup(uri, image["pool"])
    try:
        for rep in range(args.reps):
            for side, make, count in sides:
                tasks, registers = make(image, uri, count)
                res = runner.play(tasks, registers, timeout=3600)
                results["runs"][side].append(res)
                print("rep %d %-10s task %7.1fs wall %7.1fs load %5.2f"
                      % (rep + 1, side, res["task"], res["wall"], res["load"]), flush=True)
                cleanup(uri, image["pool"])
    finally:
        cleanup(uri, image["pool"])
    results["meta"]["load_end"] = load()
    conc = median([r["task"] for r in results["runs"]["concurrent"]])
    one = median([r["task"] for r in results["runs"]["one"]])
    serial = median([r["task"] for r in results["runs"]["serial"]])
    every_run = [r for side in results["runs"].values() for r in side]
    results["table"] = [{"bench": "guests", "n": args.count, "phase": "provision to SSH", "ours_async_s": conc,
                         "one_s": one, "concurrent_over_one": conc / one,
                         "serial_s": serial, "serial_over_concurrent": serial / conc,
                         "load": median([r["load"] for r in every_run])}]
    print("%d guests to SSH-ready: concurrent (vm_provision) %ss, one guest alone %ss (concurrent/one %s), serial "
          "(libvirt_vm loop) %ss, serial/concurrent %s"
          % (args.count, fmt(conc, "%.1f"), fmt(one, "%.1f"), fmt(conc / one, "%.2fx"), fmt(serial, "%.1f"),
             fmt(serial / conc, "%.2fx")))
    write_results("guests", results)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--reps", type=int, default=1)
    args = parser.parse_args()
    run_bench(run, args)


if __name__ == "__main__":
    main()
