"""container_rollout against the lab's dockerd and a real HAProxy (host group).

HAProxy (Debian's package) runs as a process of this test, in the lab's network namespace, with the
configuration rendered from container_deploy's own template, listening on 127.0.0.1. A load generator
(a thread sending HTTP requests in a loop through HAProxy) runs during each change:

- a first deploy of hybridops/web:1, an idempotent rerun, a check-mode prediction of web:2 (diff, nothing touched);
- a rollout web:1 -> web:2 under load (a container left in the idle slot by a killed run is removed first):
  no failed request, the answers switch from v1 to v2, the old slot drained and removed; the rerun changes nothing;
- a rollout whose new container never gets healthy, and one whose probe from the host fails: each fails naming
  the gate, no failed request, v2 still answers, no new container left;
- a master-worker reload of HAProxy under load keeps the serving slot (server-state-file) with no failed request;
- the versions kept on the host (keep_versions) and rollbacks to them, previous and named, under load, with no
  registry: no failed request, answers switch and switch back, a version no longer kept is refused;
- playbooks/rollout.yml over three "hosts" (local connections, an HAProxy each) in batches of one: the second
  host's new version fails, the first runs it, the others keep the old one, and the summary says which runs what.

Names start with ``roll-``.
"""
import io
import json
import os
import signal
import socket
import sys
import time
import urllib.request

import docker
import pytest
from http_load import Load, start_haproxy, stop_haproxy
from test_container_support import docker_client  # noqa: F401 pylint: disable=unused-import

P = os.environ.get("HYBRIDOPS_ROLLOUT_PREFIX", "roll-")  # another prefix runs it beside a session that uses the default
SERVICE = P + "web"
WEB1, WEB2 = "hybridops/web:1", "hybridops/web:2"
# the images' healthcheck probes every 10 s; a faster interval keeps the test short
FAST_HEALTH = {"healthcheck": {"interval": "1s"}}


def remove_ours(client):
    for item in client.api.containers(all=True):
        if any(n.lstrip("/").startswith(P) for n in item["Names"]):
            client.api.remove_container(item["Id"], force=True)


def ours(client):
    return sorted(n.lstrip("/") for item in client.api.containers(all=True) for n in item["Names"]
                  if n.lstrip("/").startswith(P))


@pytest.fixture(scope="module")
def proxy(docker_client, tmp_path_factory):
    """HAProxy in front of the service roll-web."""
    remove_ours(docker_client)
    started = start_haproxy(tmp_path_factory.mktemp("roll"), SERVICE)
    yield started
    stop_haproxy(started)
    remove_ours(docker_client)


def rollout_task(proxy, image, check=False, container=None, probe=None):
    args = {"name": SERVICE, "image": image, "port": 8080, "container": container or FAST_HEALTH,
            "probe": probe or {"body": "hybridops web", "timeout": 10},
            "proxy": {"socket": proxy["socket"], "state_file": proxy["state_file"], "drain_timeout": 10},
            "wait_timeout": 30}
    return {"hybridops.fleet.container_rollout": args, "check_mode": check}


def rollouts(ansible, *tasks):
    """Results of rollout tasks run one after the other in one playbook (one ansible-playbook start)."""
    started = time.time()
    results = ansible.run_tasks(list(tasks), diff=True)["localhost"]
    print("%d rollout tasks: %.1fs" % (len(tasks), time.time() - started))
    return results


def answer(proxy):
    with urllib.request.urlopen(proxy["url"], timeout=10) as response:
        return response.read().decode().strip()


def servers(proxy):
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(proxy["socket"])
    sock.sendall(b"show servers state %s\n" % SERVICE.encode())
    text = b""
    while True:
        data = sock.recv(65536)
        if not data:
            break
        text += data
    sock.close()
    rows = [line.split() for line in text.decode().splitlines()[2:] if line.strip()]
    # srv_name -> srv_admin_state & forced maintenance
    return dict((row[3], "maint" if int(row[6]) & 0x01 else "ready") for row in rows)


def test_rollout_behind_haproxy(ansible, proxy, docker_client):
    first, again, predicted = rollouts(ansible, rollout_task(proxy, WEB1), rollout_task(proxy, WEB1),
                                       rollout_task(proxy, WEB2, check=True))
    assert first.get("changed") and not first.get("failed"), first
    assert first["slot"] == "blue" and first["previous_slot"] is None, first
    assert not again.get("changed") and not again.get("failed") and again["steps"] == [], again
    assert answer(proxy) == "hybridops web v1"
    assert ours(docker_client) == [SERVICE + "-blue"]
    assert servers(proxy) == {"blue": "ready", "green": "maint"}
    # check mode: predicted, nothing touched
    assert predicted.get("changed") and not predicted.get("failed"), predicted
    assert predicted["diff"]["before"]["slot"] == "blue" and predicted["diff"]["before"]["image"] == WEB1, predicted
    assert predicted["diff"]["after"]["slot"] == "green" and predicted["diff"]["after"]["image"] == WEB2, predicted
    assert predicted["diff"]["after"]["servers"] == {"blue": "maint", "green": "ready"}, predicted
    assert predicted["steps"] == [], predicted
    blue_id = docker_client.api.inspect_container(SERVICE + "-blue")["Id"]
    assert blue_id == first["container"]["Id"]

    # what a run killed after creating its new container leaves in the idle slot: removed before the rollout
    docker_client.api.create_container(WEB1, name=SERVICE + "-green")
    # under load: the rollout to web:2, its rerun, then a new container (web:1) that never gets healthy and one
    # whose probe from the host fails; a v1 answer after the switch would show in the versions
    unhealthy = dict(healthcheck={"test": ["CMD", "false"], "interval": "1s", "retries": 1})
    with Load(proxy["url"]) as load:
        rolled, again, broken, unprobed = rollouts(
            ansible, rollout_task(proxy, WEB2), rollout_task(proxy, WEB2),
            rollout_task(proxy, WEB1, container=unhealthy),
            rollout_task(proxy, WEB1, probe={"body": "web v3", "timeout": 2}))
    assert load.errors == [], load.errors[:5]
    assert load.versions() == ["hybridops web v1", "hybridops web v2"], (load.versions(), len(load.bodies))
    assert rolled.get("changed") and not rolled.get("failed"), rolled
    assert rolled["slot"] == "green" and rolled["previous_slot"] == "blue", rolled
    assert rolled["steps"][0] == "stopped and removed %s-green" % SERVICE, rolled["steps"]
    assert rolled["drain"]["server"] == "blue" and rolled["drain"]["sessions_left"] == 0, rolled
    assert rolled["diff"]["before"]["image"] == WEB1 and rolled["diff"]["after"]["image"] == WEB2, rolled
    assert not again.get("changed") and not again.get("failed") and again["steps"] == [], again
    assert broken.get("failed"), broken
    assert "health gate failed" in broken["msg"] and "unhealthy" in broken["msg"], broken["msg"]
    assert "traffic stays on %s-green" % SERVICE in broken["msg"], broken["msg"]
    assert broken["rolled_back"] and broken["failed_slot"] == "blue", broken
    assert unprobed.get("failed"), unprobed
    assert "probe gate failed" in unprobed["msg"] and "does not match 'web v3'" in unprobed["msg"], unprobed["msg"]
    assert ours(docker_client) == [SERVICE + "-green"]
    assert docker_client.api.inspect_container(SERVICE + "-green")["Id"] == rolled["container"]["Id"]
    assert servers(proxy) == {"blue": "maint", "green": "ready"}
    with open(proxy["state_file"]) as handle:
        assert "%s 2 green" % SERVICE in handle.read()

    # a reload (master-worker, as the distribution's unit does it) starts from the saved server state
    workers = proxy["log"].read_text().count("New worker")
    with Load(proxy["url"]) as load:
        proxy["proc"].send_signal(signal.SIGUSR2)
        deadline = time.time() + 30
        while proxy["log"].read_text().count("New worker") == workers:
            assert time.time() < deadline, proxy["log"].read_text()
            time.sleep(0.1)
        count = len(load.bodies)
        # answers from the new worker
        while len(load.bodies) < count + 50 and not load.errors:
            time.sleep(0.05)
    assert load.errors == [] and set(load.bodies) == {"hybridops web v2"}, (load.errors[:5], set(load.bodies))
    assert servers(proxy) == {"blue": "maint", "green": "ready"}


def versioned(proxy, image=None, rollback=None, keep=1, check=False):
    """A rollout task of ``image``, or a rollback to ``rollback``, keeping ``keep`` earlier versions."""
    task = rollout_task(proxy, image or WEB1, check=check)
    args = task["hybridops.fleet.container_rollout"]
    args["keep_versions"] = keep
    if rollback:
        args.pop("image")
        args["rollback"] = rollback
    return task


def history_tags(client):
    return sorted(t for image in client.api.images(name="hybridops-rollout/" + SERVICE)
                  for t in image.get("RepoTags") or [])


def test_history_and_rollback_without_a_registry(ansible, proxy, docker_client):
    """The host keeps the previous versions' images (keep_versions) under tags of its own; a rollback runs one of
    them, gated and switched as any rollout, with no registry (the lab has none) and no failed request."""
    web3 = P + "test/web:3"  # a third version: web:1's content with a label of its own, so another image ID
    docker_client.images.build(fileobj=io.BytesIO(b"FROM %s\nLABEL hybridops.test.version=3\n" % WEB1.encode()),
                               tag=web3, rm=True)
    ids = dict((ref, docker_client.api.inspect_image(ref)["Id"]) for ref in (WEB1, WEB2, web3))
    tag = dict((ref, "hybridops-rollout/%s:%s" % (SERVICE, ids[ref].split(":")[1][:12])) for ref in ids)
    try:
        # from whatever serves now: web:1, then web:2 (keeping one earlier version: web:1)
        start = rollouts(ansible, versioned(proxy, WEB1), versioned(proxy, WEB2))
        assert not any(r.get("failed") for r in start), start
        assert start[1]["history"] == [{"image": WEB1, "id": ids[WEB1]}], start[1]

        with Load(proxy["url"]) as load:
            to3, again, predicted, back, named, unknown = rollouts(
                ansible, versioned(proxy, web3), versioned(proxy, web3),
                versioned(proxy, rollback="previous", check=True), versioned(proxy, rollback="previous"),
                versioned(proxy, rollback=WEB2), versioned(proxy, rollback=WEB1))
        assert load.errors == [], load.errors[:5]
        assert load.versions() == ["hybridops web v2", "hybridops web v1", "hybridops web v2"], load.versions()
        # v3 rolled out: web:2 is the one version kept, web:1 fell out (its tag removed, the image itself stays
        # under its own name)
        assert to3.get("changed") and to3["history"] == [{"image": WEB2, "id": ids[WEB2]}], to3
        assert to3["pruned_versions"] == [tag[WEB1]], to3
        assert to3["diff"]["before"]["history"] == [WEB1] and to3["diff"]["after"]["history"] == [WEB2], to3["diff"]
        assert not again.get("changed") and again["steps"] == [], again
        # check mode predicts the rollback exactly
        assert predicted.get("changed") and predicted["steps"] == [], predicted
        assert predicted["diff"]["after"]["image"] == WEB2 and predicted["diff"]["after"]["history"] == [web3]
        # the rollback: gated and switched like a rollout, from the kept image's tag; v3 is now the earlier version
        assert back.get("changed") and not back.get("failed") and back["rolled_out"], back
        assert back["image"] == WEB2 and back["history"] == [{"image": web3, "id": ids[web3]}], back
        assert back["container"]["Config"]["Image"] == tag[WEB2] and back["container"]["Image"] == ids[WEB2]
        assert any("passed its gate" in step for step in back["steps"]), back["steps"]
        assert {k: predicted[k] for k in ("image", "history", "slot")} == {k: back[k] for k in ("image", "history", "slot")}
        # a named rollback to the version that serves changes nothing
        assert not named.get("changed") and not named.get("failed") and named["steps"] == [], named
        # a version that is no longer kept: refused before anything changes, naming the option and what is kept
        assert unknown.get("failed") and unknown["msg"].startswith("rollback:"), unknown
        assert "%s (%s)" % (web3, ids[web3].split(":")[1][:12]) in unknown["msg"], unknown["msg"]
        assert history_tags(docker_client) == sorted([tag[WEB2], tag[web3]])
        assert answer(proxy) == "hybridops web v2"

        # previous again rolls forward to v3 (the version rolled back from)
        forward, = rollouts(ansible, versioned(proxy, rollback="previous"))
        assert forward.get("changed") and forward["image"] == web3, forward
        assert forward["history"] == [{"image": WEB2, "id": ids[WEB2]}], forward
        assert answer(proxy) == "hybridops web v1"  # v3 serves web:1's content
    finally:
        remove_ours(docker_client)
        for ref in history_tags(docker_client) + [web3]:
            try:
                docker_client.api.remove_image(ref)
            except docker.errors.APIError:
                pass


FLEET = ("a", "b", "c")
ROLLOUT_PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "playbooks", "rollout.yml")


@pytest.fixture
def fleet(docker_client, tmp_path):
    """Three "hosts" for playbooks/rollout.yml: local connections, each with its own HAProxy and service."""
    proxies = {}
    try:
        for host in FLEET:
            folder = tmp_path / host
            folder.mkdir()
            proxies[host] = start_haproxy(folder, "%sfleet-%s" % (P, host))
        unhealthy = {"healthcheck": {"test": ["CMD", "false"], "interval": "1s", "retries": 1}}
        hosts = {}
        for host, proxy in proxies.items():
            container = FAST_HEALTH if host != "b" else "{{ broken_b if break_b | default(false) else fast }}"
            hosts[P + "host-" + host] = {
                "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False,
                "container_deploy_proxy_socket": proxy["socket"], "container_deploy_proxy_state_file": proxy["state_file"],
                "fast": FAST_HEALTH, "broken_b": dict(FAST_HEALTH, **unhealthy),
                "container_deploy_proxy_services": [{
                    "name": proxy["service"], "image": "{{ rollout_image }}", "container_port": 8080,
                    "container": container, "probe": {"body": "hybridops web", "timeout": 10},
                    "wait_timeout": 30, "drain_timeout": 10}]}
        inventory = tmp_path / "fleet.yml"
        inventory.write_text(json.dumps({"all": {"children": {"fleet_vms": {"hosts": hosts}}}}))
        yield {"inventory": str(inventory), "proxies": proxies, "summary": str(tmp_path / "summary.json")}
    finally:
        for proxy in proxies.values():
            stop_haproxy(proxy)
        remove_ours(docker_client)


def test_fleet_rollout_in_batches_stops_at_the_first_failed_batch(ansible, fleet):
    """playbooks/rollout.yml over three hosts, one per batch: when the second host's new version fails, the first
    runs the new version, the second and third (not reached) the old one, and the summary says so."""
    def run(image, **extra):
        extra = dict({"rollout_image": image, "fleet_rollout_batch": 1, "fleet_rollout_configure_proxy": False,
                      "fleet_rollout_summary_path": fleet["summary"]}, **extra)
        recap, out = ansible.run_playbook(ROLLOUT_PLAYBOOK, fleet["inventory"], extra_vars=extra)
        with open(fleet["summary"]) as handle:
            return recap, out, json.load(handle)

    def host(name):
        return P + "host-" + name

    def service(name):
        return fleet["proxies"][name]["service"]

    def brief(summary, name):
        return dict((k, summary["hosts"][host(name)][k]) for k in ("status", "services", "reason"))

    recap, out, summary = run(WEB1)
    assert all(recap[host(h)]["failed"] == 0 for h in FLEET), out[-4000:]
    assert summary["versions"] == dict((service(h), {WEB1: [host(h)]}) for h in FLEET), summary
    assert set(s["status"] for s in summary["hosts"].values()) == {"rolled out"}, summary

    recap, out, summary = run(WEB2, break_b=True)
    assert "the rollout failed on %s" % host("b") in out, out[-4000:]
    assert summary["failed"] == [host("b")] and summary["not_reached"] == [host("c")], summary
    assert brief(summary, "a") == {"status": "rolled out", "services": {service("a"): WEB2}, "reason": None}
    assert summary["hosts"][host("b")]["status"] == "failed" and summary["hosts"][host("b")]["services"] == {
        service("b"): WEB1}, summary
    assert "health gate failed" in summary["hosts"][host("b")]["reason"], summary
    assert brief(summary, "c") == {"status": "not reached", "services": {service("c"): WEB1}, "reason": None}
    # the failed host's new container is gone: one container of its service, the old one
    assert len(summary["hosts"][host("b")]["containers"]) == 1, summary
    assert answer(fleet["proxies"]["a"]) == "hybridops web v2"
    assert answer(fleet["proxies"]["b"]) == answer(fleet["proxies"]["c"]) == "hybridops web v1"

    # fixed, the same run finishes the fleet; a rerun changes nothing anywhere
    recap, out, summary = run(WEB2)
    assert [summary["hosts"][host(h)]["status"] for h in FLEET] == ["unchanged", "rolled out", "rolled out"], summary
    assert summary["versions"] == dict((service(h), {WEB2: [host(h)]}) for h in FLEET), summary
    # the rerun (without the summary file, which changed because the statuses did): nothing changes, the shown
    # summary says so
    recap, out = ansible.run_playbook(ROLLOUT_PLAYBOOK, fleet["inventory"], extra_vars={
        "rollout_image": WEB2, "fleet_rollout_batch": "34%", "fleet_rollout_configure_proxy": False})
    assert all(recap[host(h)]["changed"] == 0 and recap[host(h)]["failed"] == 0 for h in FLEET), out[-4000:]
    for h in FLEET:
        assert "%s: unchanged (%s %s)" % (host(h), service(h), WEB2) in out, out[-4000:]
