"""libvirt_vm (a loop, and vm_provision's concurrent async path) vs community.libvirt.virt, N domains.

Phases on the real libvirtd (qemu:///system in the lab's network namespace),
without booting a guest: define, start, no-op rerun (the same spec again),
undefine. Domains are `hybridops-bench-NNN`: 32 MiB, 1 vCPU, TCG, no disk, no
NIC, direct "kernel" boot of a 36-byte multiboot image that does `cli; hlt`
(the vCPU halts for good: a started domain costs ~0.65 s of CPU for SeaBIOS
and the qemu start-up, then ~0.1 % of a CPU and ~46 MB RSS while it runs).

- ours: `hybridops.fleet.libvirt_vm` in a loop over the N names (present,
  running, running again, absent with shutdown_timeout 0).
- ours (async): `hybridops.fleet.libvirt_vm` with async/poll 0 per VM, then
  async_status until all are finished, then the status files are cleaned up
  (Ansible's standard pattern for many VMs).
- ours (list): one `hybridops.fleet.libvirt_vms` task with the N VMs (its thread
  pool, 8 workers): the path the collection offers for a fleet, and what the
  `vm_provision` role and the teardown playbook run.
- raw: libvirt-python itself, no Ansible, on a pool of 8 threads sharing one
  connection (defineXML with the peer's XML, create, lookup + isActive,
  destroy + undefine): the floor libvirtd sets, to say how close the list
  call comes to it.
- peer: `community.libvirt.virt` in a loop: command=define with the domain XML,
  then state=running; the no-op rerun is both tasks again; undefine is
  state=destroyed then command=undefine.

Each phase is one ansible-playbook on localhost; the figure is the time of the
measured tasks inside the play; medians of --reps. `--uri test:///default`
is a quick smoke mode: the test driver's state lives in one process, so only
the define phase is meaningful there (each module run starts from scratch).

Run with the bench venv (PyPI's `ansible`, which bundles community.libvirt):
    bench/.venv/bin/python bench/libvirt_bench.py [--n 50] [--reps 3]
"""
import argparse
import os
import struct
import sys
import time

from _harness import PREFIX, Runner, fmt, load, median, run_bench, versions, write_results

HALT_DIR = "/var/tmp/hybridops-bench"
HALT_KERNEL = HALT_DIR + "/halt.bin"
PHASES = ("define", "start", "noop", "undefine")
SIDES = ("ours", "ours_list", "ours_async", "raw", "peer")

PEER_XML = ("<domain type='qemu'><name>{{ item }}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>%s</kernel></os>"
            "<features><acpi/><tcg><tb-cache unit='MiB'>16</tb-cache></tcg></features>"
            "<devices><serial type='pty'/><console type='pty'/><memballoon model='none'/></devices></domain>")


def write_halt_kernel():
    """A multiboot (a.out kludge) flat image loaded at 1 MiB whose code is `cli; hlt; jmp $-1`."""
    os.makedirs(HALT_DIR, exist_ok=True)
    load_addr, magic, flags = 0x100000, 0x1BADB002, 0x00010000
    code = bytes([0xFA, 0xF4, 0xEB, 0xFD])
    size = 32 + len(code)
    header = struct.pack("<8I", magic, flags, (-(magic + flags)) & 0xFFFFFFFF, load_addr, load_addr,
                         load_addr + size, load_addr + size, load_addr + 32)
    with open(HALT_KERNEL, "wb") as handle:
        handle.write(header + code)
    os.chmod(HALT_DIR, 0o755)
    os.chmod(HALT_KERNEL, 0o644)


def names(n):
    return ["%s%03d" % (PREFIX, i) for i in range(n)]


def spec(uri):
    return {"uri": uri, "domain_type": "qemu", "memory": 32, "vcpus": 1, "machine": "q35", "kernel": HALT_KERNEL,
            "tb_cache": 16, "tags": ["bench"], "description": "hybridops.fleet benchmark domain"}


def ours_tasks(uri, n, phase):
    state = {"define": "present", "start": "running", "noop": "running", "undefine": "absent"}[phase]
    args = dict(spec(uri), name="{{ item }}", state=state)
    if phase == "undefine":
        args = {"uri": uri, "name": "{{ item }}", "state": "absent", "shutdown_timeout": 0}
    return [{"hybridops.fleet.libvirt_vm": args, "loop": names(n), "register": "r0"}], ["r0"]


def ours_list_tasks(uri, n, phase):
    state = {"define": "present", "start": "running", "noop": "running", "undefine": "absent"}[phase]
    item = dict(spec(uri), state=state)
    del item["uri"]
    if phase == "undefine":
        item = {"state": "absent", "shutdown_timeout": 0}
    return [{"hybridops.fleet.libvirt_vms": {"uri": uri, "max_workers": 8,
                                             "vms": [dict(item, name=x) for x in names(n)]},
             "register": "r0"}], ["r0"]


def ours_async_tasks(uri, n, phase):
    """libvirt_vm with async/poll 0 per VM, then async_status until all are finished, then the status files
    are cleaned up: Ansible's standard pattern for many VMs."""
    state = {"define": "present", "start": "running", "noop": "running", "undefine": "absent"}[phase]
    args = dict(spec(uri), name="{{ item }}", state=state)
    if phase == "undefine":
        args = {"uri": uri, "name": "{{ item }}", "state": "absent", "shutdown_timeout": 0}
    return [
        {"hybridops.fleet.libvirt_vm": args, "loop": names(n), "async": 1800, "poll": 0, "register": "r0",
         "changed_when": False},
        {"ansible.builtin.async_status": {"jid": "{{ item.ansible_job_id }}"}, "loop": "{{ r0.results }}",
         "register": "r1", "until": "r1.finished", "retries": 360, "delay": 5,
         "changed_when": "r1.changed | default(false)"},
        {"ansible.builtin.async_status": {"jid": "{{ item.ansible_job_id }}", "mode": "cleanup"},
         "loop": "{{ r0.results }}", "changed_when": False}], ["r1"]


def peer_tasks(uri, n, phase):
    loop = names(n)
    define = {"community.libvirt.virt": {"uri": uri, "command": "define", "xml": PEER_XML % HALT_KERNEL},
              "loop": loop, "register": "r0"}
    start = {"community.libvirt.virt": {"uri": uri, "name": "{{ item }}", "state": "running"}, "loop": loop,
             "register": "r1"}
    if phase == "define":
        return [define], ["r0"]
    if phase == "start":
        return [dict(start, register="r0")], ["r0"]
    if phase == "noop":
        return [define, start], ["r0", "r1"]
    return [{"community.libvirt.virt": {"uri": uri, "name": "{{ item }}", "state": "destroyed"}, "loop": loop,
             "register": "r0"},
            {"community.libvirt.virt": {"uri": uri, "name": "{{ item }}", "command": "undefine"}, "loop": loop,
             "register": "r1"}], ["r0", "r1"]


def raw_phase(uri, n, phase, workers=8):
    """The phase straight through libvirt-python on `workers` threads: its time and what changed."""
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel
    conn = connect(uri)

    def one(name):
        if phase == "define":
            conn.defineXML((PEER_XML % HALT_KERNEL).replace("{{ item }}", name))
            return True
        dom = conn.lookupByName(name)
        if phase == "start":
            dom.create()
            return True
        if phase == "noop":
            return not dom.isActive()
        if dom.isActive():
            dom.destroy()
        dom.undefineFlags(0)
        return True
    try:
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            changed = list(pool.map(one, names(n)))
        took = time.monotonic() - began
    finally:
        conn.close()
    return {"task": took, "wall": took, "load": load(), "changed": {"r0": any(changed)},
            "changed_items": {"r0": sum(changed)}}


TASKS = {"ours": ours_tasks, "ours_list": ours_list_tasks, "ours_async": ours_async_tasks, "peer": peer_tasks}


# --------------------------------------------------------------------- direct libvirt (setup, cleanup, cost)

def connect(uri):
    import libvirt  # pylint: disable=import-outside-toplevel
    libvirt.registerErrorHandler(lambda *_: None, None)
    return libvirt.open(uri)


def bench_domains(conn):
    return [dom for dom in conn.listAllDomains(0) if dom.name().startswith(PREFIX)]


def cleanup(uri):
    """Destroy and undefine every hybridops-bench-* domain (and only those)."""
    if uri.startswith("test:"):
        return 0
    conn = connect(uri)
    count = 0
    try:
        for dom in bench_domains(conn):
            try:
                if dom.isActive():
                    dom.destroy()
                if dom.isPersistent():
                    dom.undefineFlags(0)
                count += 1
            except Exception as exc:  # pylint: disable=broad-except
                print("cleanup: %s: %s" % (dom.name(), exc), file=sys.stderr)
    finally:
        conn.close()
    return count


def qemu_processes():
    """PIDs of the qemu processes of bench domains (by their -name guest=... argument)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if b"qemu-system" in cmdline and b"guest=" + PREFIX.encode() in cmdline:
            pids.append(int(entry))
    return pids


def running_cost(seconds=10.0):
    """RSS and CPU share of the running bench domains' qemu processes over `seconds`."""
    def ticks(pid):
        try:
            with open("/proc/%d/stat" % pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except OSError:
            return 0

    def rss(pid):
        try:
            with open("/proc/%d/status" % pid) as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0
    pids = qemu_processes()
    before = sum(ticks(p) for p in pids)
    time.sleep(seconds)
    used = sum(ticks(p) for p in pids) - before
    hz = os.sysconf("SC_CLK_TCK")
    return {"qemu_processes": len(pids), "rss_total_mib": round(sum(rss(p) for p in pids) / 1024.0, 1),
            "cpu_share_of_one_cpu": round(used / float(hz) / seconds, 4), "window_s": seconds}


# --------------------------------------------------------------------- main

def run(args):
    uri = args.uri
    quick = uri.startswith("test:")
    phases = ("define",) if quick else PHASES
    sides = [s for s in SIDES if s not in (args.skip or [])]
    if not quick:
        write_halt_kernel()
    runner = Runner()
    results = {"meta": dict(versions(), uri=uri, n=args.n, reps=args.reps, load_start=load(),
                            domain="32 MiB, 1 vCPU, TCG, no disk/NIC, multiboot cli;hlt image"),
               "runs": dict((s, dict((p, []) for p in phases)) for s in sides), "running_cost": None}
    cleanup(uri)
    try:
        for rep in range(args.reps):
            # the machine is shared and its load swings: rotate the order of the sides from one repetition to the next
            order = sides[rep % len(sides):] + sides[:rep % len(sides)]
            for side in order:
                cleanup(uri)
                for phase in phases:
                    if side == "raw":
                        res = raw_phase(uri, args.n, phase)
                    else:
                        tasks, registers = TASKS[side](uri, args.n, phase)
                        res = runner.play(tasks, registers)
                    results["runs"][side][phase].append(res)
                    print("rep %d %-10s %-8s task %7.2fs wall %7.2fs load %5.2f changed %s items %s" % (
                        rep + 1, side, phase, res["task"], res["wall"], res["load"], res["changed"],
                        res["changed_items"]), flush=True)
                    if phase == "start" and results["running_cost"] is None:
                        results["running_cost"] = running_cost()
                        print("running cost of %d started domains: %s" % (args.n, results["running_cost"]), flush=True)
    finally:
        left = cleanup(uri)
        if left:
            print("cleanup: removed %d leftover bench domains" % left)
    results["meta"]["load_end"] = load()
    results["table"] = table(results, sides, phases, args.n)
    print_table(results["table"])
    write_results("libvirt", results)
    return results


def table(results, sides, phases, n):
    rows = []
    for phase in phases:
        row = {"bench": "libvirt", "n": n, "phase": phase}
        for side in sides:
            runs = results["runs"][side][phase]
            row[side + "_s"] = median([r["task"] for r in runs])
            row[side + "_wall_s"] = median([r["wall"] for r in runs])
            row[side + "_load"] = median([r["load"] for r in runs])
            last = runs[-1] if runs else None
            row[side + "_changed"] = last and sorted(set(last["changed"].values()))
            row[side + "_changed_items"] = last and sum(last["changed_items"].values())
        if row.get("peer_s") and row.get("ours_s"):
            row["peer_over_ours"] = row["peer_s"] / row["ours_s"]
        if row.get("peer_s") and row.get("ours_list_s"):
            row["peer_over_ours_list"] = row["peer_s"] / row["ours_list_s"]
        if row.get("raw_s") and row.get("ours_list_s"):
            row["ours_list_over_raw"] = row["ours_list_s"] / row["raw_s"]
        if row.get("peer_s") and row.get("ours_async_s"):
            row["peer_over_ours_async"] = row["peer_s"] / row["ours_async_s"]
        rows.append(row)
    return rows


def print_table(rows):
    print("%-9s %4s %9s %9s %11s %9s %9s %10s %10s %12s %9s  %s" % (
        "phase", "N", "ours s", "list s", "ours-async s", "raw s", "peer s", "peer/ours", "peer/list", "peer/async",
        "list/raw", "changed items ours/list/async/peer"))
    for row in rows:
        print("%-9s %4d %9s %9s %11s %9s %9s %10s %10s %12s %9s  %s/%s/%s/%s" % (
            row["phase"], row["n"], fmt(row.get("ours_s")), fmt(row.get("ours_list_s")), fmt(row.get("ours_async_s")),
            fmt(row.get("raw_s")), fmt(row.get("peer_s")), fmt(row.get("peer_over_ours"), "%.2fx"),
            fmt(row.get("peer_over_ours_list"), "%.2fx"), fmt(row.get("peer_over_ours_async"), "%.2fx"),
            fmt(row.get("ours_list_over_raw"), "%.2fx"), row.get("ours_changed_items", "-"),
            row.get("ours_list_changed_items", "-"), row.get("ours_async_changed_items", "-"),
            row.get("peer_changed_items", "-")))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip", nargs="*", choices=SIDES, help="sides to leave out")
    args = parser.parse_args()
    run_bench(run, args, cleanup=cleanup)


if __name__ == "__main__":
    main()
