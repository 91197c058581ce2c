"""A version change of a service on a fixed port: gapless (container_rollout behind HAProxy) vs stop-then-start.

One host (the lab's engine), the lab's images hybridops/web:1 and :2, each change under an HTTP client loop
(~50 requests a second, a new connection each) that counts the answers and the failed requests:

- ``rollout``: hybridops.fleet.container_rollout, web:1 -> web:2 -> web:1 ..., HAProxy on the fixed port, the
  new version started beside the old one, gated, switched, the old one drained and stopped;
- ``recreate``: hybridops.fleet.container with the fixed port published (``recreate: auto`` stops the old
  container, then starts the new one, as it must when both cannot bind the port);
- ``peer``: community.docker.docker_container with the same fixed port (stop, remove, create, start).

The figure per change is the measured task's time inside its play, the median of --reps changes; the failed
requests are summed over them. Run it with the bench venv (bench/run does):

    DOCKER_HOST=unix:///run/hybridops-lab/docker.sock bench/.venv/bin/python bench/rollout_bench.py --reps 5
"""
import argparse
import os
import pathlib
import sys
import tempfile

import docker

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))

import lab  # noqa: E402
from _harness import PREFIX, Runner, fmt, load, median, run_bench, versions, write_results  # noqa: E402
from http_load import Load, free_ports, start_haproxy, stop_haproxy  # noqa: E402

IMAGES = ("hybridops/web:1", "hybridops/web:2")
SERVICE = PREFIX + "roll"
# the images' healthcheck probes every 10 s; 1 s keeps the gate short, and every side gets the same container
HEALTH = {"interval": "1s"}


def cleanup(client):
    for item in client.api.containers(all=True):
        if any(n.lstrip("/").startswith(SERVICE) for n in item["Names"]):
            client.api.remove_container(item["Id"], force=True)


def change(runner, task, url):
    """One measured task under the client loop: (task seconds, answers, failed requests, versions seen)."""
    with Load(url) as loop:
        result = runner.play([dict(task, register="bench_change")], ["bench_change"])
    if not result["changed"]["bench_change"]:
        raise SystemExit("bench: the change reported no change: %s" % task)
    return result["task"], len(loop.bodies), len(loop.errors), loop.versions()


def side(runner, name, task_for, url, reps):
    """``reps`` alternating changes web:1 -> web:2 -> web:1 ... after a first, unmeasured deploy of web:1."""
    runner.play([dict(task_for(IMAGES[0]), register="bench_change")], ["bench_change"])
    times, answers, failed = [], 0, 0
    for index in range(reps):
        seconds, count, errors, seen = change(runner, task_for(IMAGES[(index + 1) % 2]), url)
        times.append(seconds)
        answers += count
        failed += errors
        print("  %-9s change %d: %.2fs, %d requests, %d failed, answers %s"
              % (name, index + 1, seconds, count + errors, errors, " -> ".join(seen)))
    return {"median": median(times), "times": times, "requests": answers + failed, "failed": failed}


def run(args):
    client = docker.from_env()
    lab.build_local_images(docker_host=os.environ.get("DOCKER_HOST", lab.DOCKER_HOST))
    cleanup(client)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="hybridops-bench-roll-"))
    proxy = start_haproxy(workdir, SERVICE)
    runner = Runner()
    results = {"meta": dict(versions(), reps=args.reps, load_start=load()), "sides": {}}
    try:
        def rollout(image):
            return {"hybridops.fleet.container_rollout": {
                "name": SERVICE, "image": image, "port": 8080, "container": {"healthcheck": HEALTH},
                "probe": {"body": "hybridops web", "timeout": 30}, "wait_timeout": 60,
                "proxy": {"socket": proxy["socket"], "state_file": proxy["state_file"], "drain_timeout": 10}}}

        port = free_ports(1)[0]

        def recreate(image):
            return {"hybridops.fleet.container": {
                "name": SERVICE + "-fixed", "image": image, "ports": ["127.0.0.1:%d:8080" % port],
                "healthcheck": HEALTH, "state": "started", "pull": "never"}}

        def peer(image):
            return {"community.docker.docker_container": {
                "name": SERVICE + "-peer", "image": image, "published_ports": ["127.0.0.1:%d:8080" % port],
                "healthcheck": HEALTH, "state": "started", "pull": "never"}}

        print("service on a fixed port, %d changes per side" % args.reps)
        results["sides"]["rollout"] = side(runner, "rollout", rollout, proxy["url"], args.reps)
        cleanup(client)
        results["sides"]["recreate"] = side(runner, "recreate", recreate, "http://127.0.0.1:%d/" % port, args.reps)
        cleanup(client)
        results["sides"]["peer"] = side(runner, "peer", peer, "http://127.0.0.1:%d/" % port, args.reps)
    finally:
        stop_haproxy(proxy)
        cleanup(client)
    results["meta"]["load_end"] = load()
    print("\n| change of version, fixed port | s per change (median) | requests | failed |")
    print("|---|---:|---:|---:|")
    labels = {"rollout": "hybridops.fleet.container_rollout (gapless)",
              "recreate": "hybridops.fleet.container (stop, then start)",
              "peer": "community.docker.docker_container (stop, then start)"}
    for key, label in labels.items():
        row = results["sides"][key]
        print("| %s | %s | %d | %d |" % (label, fmt(row["median"]), row["requests"], row["failed"]))
    gapless = results["sides"]["rollout"]["median"]
    for key in ("recreate", "peer"):
        print("rollout / %s time: %s" % (key, fmt(gapless / results["sides"][key]["median"])))
    write_results("rollout", results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--reps", type=int, default=5, help="measured changes per side (default 5)")
    parser.add_argument("--uri", default="qemu:///system", help=argparse.SUPPRESS)  # run_bench enters the lab netns
    run_bench(run, parser.parse_args())


if __name__ == "__main__":
    main()
