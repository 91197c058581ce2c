"""Everyday community.docker specs converge on a production-like engine (run inside the lab namespace).

The lab's dockerd runs with a daemon.json like production engines have (default log-opts, address
pools, live-restore). Each test walks one spec through: create -> rerun is a no-op with an identical
diff -> change predicted by check mode -> the real run does exactly that and the engine shows the new
value -> rerun is a no-op.
"""
import io
import tarfile

import docker
import pytest

# fixtures are imported so pytest finds them
from test_container_support import PREFIX, _rootfs_tar, clean, docker_client, dump, inspect, test_images  # noqa: F401 pylint: disable=unused-import

WEB1 = "hybridops-test/web:1"
BOX = "hybridops-test/box:1"
TOOL = "hybridops-test/tool:1"
NAME = PREFIX + "par"
NET = PREFIX + "parnet"


def run(ansible, args, **kwargs):
    return ansible.run_module("container", dict({"name": NAME}, **args), **kwargs)


@pytest.fixture(scope="module")
def tool_image(docker_client):
    """An image with an ENTRYPOINT and an anonymous VOLUME (no registry: built from busybox)."""
    dockerfile = (b"FROM scratch\nADD rootfs.tar /\nVOLUME /cache\n"
                  b'ENTRYPOINT ["sleep"]\nCMD ["3600"]\n')
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile), ("rootfs.tar", _rootfs_tar("tool"))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    for chunk in docker_client.api.build(fileobj=io.BytesIO(buf.getvalue()), custom_context=True, tag=TOOL, rm=True,
                                         decode=True):
        assert "error" not in chunk, chunk
    return docker_client.api.inspect_image(TOOL)


@pytest.fixture
def net(clean):
    clean.api.create_network(NET, driver="bridge")
    return clean


def changed_keys(diff):
    return sorted(k for k in set(diff["before"]) | set(diff["after"]) if diff["before"].get(k) != diff["after"].get(k))


def steps(*steps):
    """Tasks of the container module on NAME: (args, task keywords) each, run in one playbook by run_tasks."""
    return [dict({"hybridops.fleet.container": dict({"name": NAME}, **args)}, **keywords) for args, keywords in steps]


def cycle(ansible, client, first, second, action, options, keys=None):
    """first -> no-op rerun -> second predicted and applied -> no-op rerun; returns (before, after) inspect.

    Two playbooks (an ansible-playbook start costs more than a container change): the create, its rerun and
    the prediction, then (the container checked untouched) the change and its rerun."""
    created, again, predicted = ansible.run_tasks(steps(
        (first, {}), (first, {"diff": True}), (second, {"check_mode": True, "diff": True})))["localhost"]
    assert created["changed"] is True and not created.get("failed"), dump(created)
    assert again["changed"] is False, dump(again)
    assert again["diff"]["before"] == again["diff"]["after"], dump(again["diff"])

    assert predicted["changed"] is True and predicted["action"] == action, dump(predicted)
    assert sorted(d["option"] for d in predicted["differences"]) == sorted(options), dump(predicted)
    assert changed_keys(predicted["diff"]) == sorted(keys or options), dump(predicted["diff"])
    old = inspect(client, NAME)
    assert old["Id"] == created["container"]["Id"], "the rerun or check mode changed the container"

    real, rerun = ansible.run_tasks(steps((second, {"diff": True}), (second, {"diff": True})))["localhost"]
    assert not real.get("failed"), dump(real)
    assert real["changed"] is True and real["action"] == action, dump(real)
    assert real["differences"] == predicted["differences"]
    assert real["diff"] == predicted["diff"]
    new = inspect(client, NAME)
    assert (new["Id"] == old["Id"]) == (action == "update")
    assert new["Id"] == real["container"]["Id"], "the rerun changed the container"

    assert rerun["changed"] is False, dump(rerun)
    assert rerun["diff"]["before"] == rerun["diff"]["after"], dump(rerun["diff"])
    return old, new


def test_engine_is_production_like(clean):
    """The lab's daemon.json is in force: default log-opts merged into a plain container, live-restore."""
    cont = clean.api.create_container(BOX, name=NAME)
    config = clean.api.inspect_container(cont["Id"])["HostConfig"]["LogConfig"]["Config"]
    info = clean.api.info()
    assert (config, info.get("LiveRestoreEnabled")) == ({"max-size": "10m", "max-file": "3"}, True), (
        "the lab's dockerd runs without the lab's daemon.json (run tests/lab/lab.py restart-dockerd)")
    net = clean.api.create_network(PREFIX + "pool", driver="bridge")
    subnet = clean.api.inspect_network(net["Id"])["IPAM"]["Config"][0]["Subnet"]
    assert subnet.startswith("10.231."), subnet  # the lab daemon.json's default-address-pools


def test_restart_policy_always_to_no_is_applied(ansible, clean):
    _old, new = cycle(ansible, clean, {"image": BOX, "restart_policy": "always"}, {"image": BOX, "restart_policy": "no"},
                      "update", ["restart_policy"])
    assert new["HostConfig"]["RestartPolicy"]["Name"] == "no"


def test_restart_retries_zero_with_any_policy(ansible, clean):
    _old, new = cycle(ansible, clean, {"image": BOX, "restart_policy": "always", "restart_retries": 0},
                      {"image": BOX, "restart_policy": "on-failure", "restart_retries": 0},
                      "update", ["restart_policy"])
    assert new["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 0}


def test_log_options_on_an_engine_with_default_log_opts(ansible, clean):
    first = {"image": BOX, "log_driver": "json-file", "log_options": {"max-file": "5"}}
    old, new = cycle(ansible, clean, first, dict(first, log_options={"max-file": "2"}), "recreate", ["log_options"])
    # the daemon's default max-size was merged in both times: not drift
    assert old["HostConfig"]["LogConfig"]["Config"] == {"max-file": "5", "max-size": "10m"}
    assert new["HostConfig"]["LogConfig"]["Config"] == {"max-file": "2", "max-size": "10m"}
    assert run(ansible, {"image": BOX, "log_driver": "json-file"})["changed"] is False


def test_trailing_slashes_in_working_dir_and_bind_source(ansible, clean, tmp_path):
    source = str(tmp_path) + "/"
    first = {"image": BOX, "working_dir": "/tmp/", "volumes": [source + ":/bound/:ro"]}
    old, new = cycle(ansible, clean, first, dict(first, working_dir="/data/"), "recreate", ["working_dir"])
    assert old["Config"]["WorkingDir"] == "/tmp" and new["Config"]["WorkingDir"] == "/data"
    assert [m["Source"].rstrip("/") for m in new["HostConfig"]["Mounts"]] == [str(tmp_path)]


def test_empty_networks_then_host_none_and_back(ansible, net):
    client = net
    _old, new = cycle(ansible, client, {"image": BOX, "networks": []}, {"image": BOX, "networks": ["host"]},
                      "recreate", ["networks"])
    assert new["HostConfig"]["NetworkMode"] == "host" and new["State"]["Running"] is True
    svc = {"name": NET, "aliases": ["svc"]}
    moves = [["none"], [svc], ["host"], [svc], [svc, "bridge"]]
    # every move predicted, applied and rerun, in one playbook
    results = ansible.run_tasks(steps(*[step for networks in moves for step in (
        ({"image": BOX, "networks": networks}, {"check_mode": True, "diff": True}),
        ({"image": BOX, "networks": networks}, {"diff": True}),
        ({"image": BOX, "networks": networks}, {}))]))["localhost"]
    for index, networks in enumerate(moves):
        predicted, real, again = results[3 * index:3 * index + 3]
        assert not real.get("failed"), dump(real)
        assert (real["action"], real["differences"]) == (predicted["action"], predicted["differences"]), dump(real)
        assert again["changed"] is False, networks
    data = inspect(client, NAME)
    assert sorted(data["NetworkSettings"]["Networks"]) == ["bridge", NET]
    # the last move (add bridge beside NET) was an ordinary network change: in place
    assert real["action"] == "update"


def test_healthcheck_removed_from_spec_returns_to_the_image_default(ansible, clean):
    own = {"test": "true", "interval": "2s", "retries": 2}
    _old, new = cycle(ansible, clean, {"image": BOX, "healthcheck": own}, {"image": BOX}, "recreate", ["healthcheck"])
    assert not new["Config"].get("Healthcheck")
    _old, new = cycle(ansible, clean, {"image": WEB1, "healthcheck": own}, {"image": WEB1}, "recreate", ["healthcheck"])
    assert new["Config"]["Healthcheck"]["Test"][0] == "CMD-SHELL" and "wget" in new["Config"]["Healthcheck"]["Test"][1]


def test_entrypoint_can_be_cleared(ansible, clean, tool_image):
    old, new = cycle(ansible, clean, {"image": TOOL},
                     {"image": TOOL, "entrypoint": [], "command": ["sleep", "3601"]},
                     "recreate", ["entrypoint", "command"])
    assert old["Config"]["Entrypoint"] == ["sleep"]
    assert not new["Config"]["Entrypoint"] and new["Config"]["Cmd"] == ["sleep", "3601"]
    assert new["State"]["Running"] is True


def test_memory_sizes_read_like_the_docker_cli(ansible, clean):
    _old, new = cycle(ansible, clean, {"image": BOX, "memory": "256MB"}, {"image": BOX, "memory": "512MB"},
                      "update", ["memory"])
    assert new["HostConfig"]["Memory"] == 512 * 1024 ** 2
    for spelling in ("512m", "512MiB", "512M", str(512 * 1024 ** 2)):
        assert run(ansible, {"image": BOX, "memory": spelling})["changed"] is False, spelling


def anonymous_volumes(data):
    return [m["Name"] for m in data["Mounts"] if m["Type"] == "volume" and m["Destination"] == "/cache"]


def volume_exists(client, name):
    try:
        client.api.inspect_volume(name)
        return True
    except docker.errors.NotFound:
        return False


def test_recreate_removes_the_old_anonymous_volumes_unless_kept(ansible, clean, tool_image):
    client = clean
    old, new = cycle(ansible, client, {"image": TOOL, "env": {"V": "1"}}, {"image": TOOL, "env": {"V": "2"}},
                     "recreate", ["env"])
    assert anonymous_volumes(old) and not volume_exists(client, anonymous_volumes(old)[0])
    assert volume_exists(client, anonymous_volumes(new)[0])
    kept = anonymous_volumes(new)[0]
    try:
        assert run(ansible, {"image": TOOL, "env": {"V": "3"}, "keep_volumes": True})["action"] == "recreate"
        assert volume_exists(client, kept)
        last = anonymous_volumes(inspect(client, NAME))[0]
        assert run(ansible, {"state": "absent"})["changed"] is True
        assert not volume_exists(client, last)
    finally:
        if volume_exists(client, kept):
            client.api.remove_volume(kept)


def test_unchanged_container_diff_with_engine_aliases_and_image_by_id(ansible, net, test_images):
    spec = {"image": WEB1, "networks": [{"name": NET, "aliases": ["svc"]}]}
    run(ansible, spec)
    data = inspect(net, NAME)
    assert set(data["NetworkSettings"]["Networks"][NET]["Aliases"]) > {"svc"}, "the engine added no alias"
    again = run(ansible, spec, diff=True)
    assert again["changed"] is False and again["diff"]["before"] == again["diff"]["after"], dump(again["diff"])
    by_id = run(ansible, dict(spec, image=test_images[WEB1]["Id"]), diff=True)
    assert by_id["changed"] is False and by_id["diff"]["before"] == by_id["diff"]["after"], dump(by_id["diff"])


def test_the_same_specs_through_a_stack_member(ansible, clean):
    client = clean
    member = {"name": NAME, "image": BOX, "log_driver": "json-file", "log_options": {"max-file": "5"},
              "working_dir": "/tmp/", "networks": [], "memory": "64MB", "restart_policy": "always",
              "restart_retries": 0}
    stack = {"name": PREFIX + "parstack"}

    def converge(spec, **kwargs):
        return ansible.run_module("container_stack", dict(stack, containers=[spec]), **kwargs)

    created = converge(member)
    assert created["changed"] is True and not created["failed_members"], dump(created)
    first = inspect(client, NAME)
    assert first["HostConfig"]["NetworkMode"] == "none" and first["HostConfig"]["Memory"] == 64 * 1024 ** 2
    again = converge(member, diff=True)
    assert again["changed"] is False, dump(again)
    assert again["diff"]["before"] == again["diff"]["after"]

    changed = dict(member, restart_policy="no", memory="128MB")
    predicted = converge(changed, check=True, diff=True)
    outcome = predicted["containers"][NAME]
    assert outcome["action"] == "update", dump(predicted)
    assert sorted(d["option"] for d in outcome["differences"]) == ["memory", "restart_policy"]
    assert changed_keys({"before": predicted["diff"]["before"]["containers"][NAME],
                         "after": predicted["diff"]["after"]["containers"][NAME]}) == ["memory", "restart_policy"]
    real = converge(changed)
    assert real["containers"][NAME]["action"] == "update", dump(real)
    assert real["containers"][NAME]["differences"] == outcome["differences"]
    data = inspect(client, NAME)
    assert data["Id"] == first["Id"]
    assert data["HostConfig"]["RestartPolicy"]["Name"] == "no" and data["HostConfig"]["Memory"] == 128 * 1024 ** 2
    assert converge(changed)["changed"] is False
    removed = ansible.run_module("container_stack", dict(stack, state="absent"))
    assert removed["changed"] is True and inspect(client, NAME) is None
