"""Rows of paused, platform, links, device_cgroup_rules, the mount volume/tmpfs options, and force_kill.

Row functions (normalize, read back, compare, create body) through the option table, and the manager steps
that carry them out (pause/unpause in place, the platform query parameter, docker kill) on the fake engine.
"""
import copy

import pytest
from docker_fake_engine import FakeClient, make_image
from option_rows import Rows

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import (
    container as cmod,
    container_spec as cs,
    stack,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import ContainerManager
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import platform, table

ROWS = Rows("hybridops-test/c:1")
desired = ROWS.desired
container = ROWS.container
diffs = ROWS.diffs
body = ROWS.body


def amd64(image):
    image = copy.deepcopy(image)
    image.update({"Os": "linux", "Architecture": "amd64"})
    return image


# --------------------------------------------------------------------------- links, device cgroup rules

def test_links_normalize_read_back_and_compare_as_a_set():
    assert desired(links=["db", "cache:kv", "/db"])["links"] == ["cache:kv", "db:db"]
    assert body(links=["db:alias"])["HostConfig"]["Links"] == ["db:alias"]
    inspect = container(links=["db", "cache:kv"])
    # the engine stores /TARGET:/CONTAINER/ALIAS
    inspect["HostConfig"]["Links"] = ["/db:/c1/db", "/cache:/c1/kv"]
    assert diffs(inspect, links=["cache:kv", "db:db"]) == {}
    found = diffs(inspect, links=["db:other"])
    assert found["links"].update == cs.RECREATE
    assert (found["links"].before, found["links"].after) == (["cache:kv", "db:db"], ["db:other"])
    # removed from the spec: back to none
    assert diffs(inspect)["links"].after is None
    # allow_more_present: links the spec does not name are no difference
    assert diffs(inspect, links=["db"], comparisons={"links": "allow_more_present"}) == {}


def test_links_need_the_default_bridge_network():
    assert desired(links=["db"], network_mode="bridge")["links"] == ["db:db"]
    for extra in ({"network_mode": "host"}, {"networks": ["appnet"]}):
        with pytest.raises(ValidationError) as err:
            desired(links=["db"], **extra)
        assert err.value.option == "links" and "default bridge" in err.value.msg
    with pytest.raises(ValidationError) as err:
        desired(links=["db", ""])
    assert err.value.option == "links[1]"


def test_device_cgroup_rules_spellings_are_one_rule():
    assert desired(device_cgroup_rules=["c 1:3  mr", "b 8:* rw", "c 1:3 rm"])["device_cgroup_rules"] == [
        "b 8:* rw", "c 1:3 rm"]
    assert body(device_cgroup_rules=["a *:* rwm"])["HostConfig"]["DeviceCgroupRules"] == ["a *:* rwm"]
    inspect = container(device_cgroup_rules=["c 1:3 mr"])
    assert diffs(inspect, device_cgroup_rules=["c 1:3 rm"]) == {}
    assert diffs(inspect, device_cgroup_rules=["c 1:5 r"])["device_cgroup_rules"].update == cs.RECREATE
    assert diffs(inspect)["device_cgroup_rules"].after == []
    for bad in ("x 1:3 r", "c 1 r", "c 1:3 rr", "c 1:3 q"):
        with pytest.raises(ValidationError) as err:
            desired(device_cgroup_rules=[bad])
        assert err.value.option == "device_cgroup_rules[0]"


# --------------------------------------------------------------------------- mounts: volume and tmpfs options

VOLUME_MOUNT = {"type": "volume", "target": "/v", "labels": {"a": "b"}, "volume_driver": "local",
                "volume_options": {"type": "tmpfs", "device": "tmpfs"}, "no_copy": True}
TMPFS_MOUNT = {"type": "tmpfs", "target": "/t", "tmpfs_size": "1m", "tmpfs_mode": "1770"}


def test_mount_volume_and_tmpfs_options_go_into_the_body():
    mounts = dict((m["Target"], m) for m in body(mounts=[VOLUME_MOUNT, TMPFS_MOUNT])["HostConfig"]["Mounts"])
    assert mounts["/v"]["VolumeOptions"] == {"NoCopy": True, "Labels": {"a": "b"}, "DriverConfig": {
        "Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}}
    # what the engine stores: bytes and the mode as a number (0o1770)
    assert mounts["/t"]["TmpfsOptions"] == {"SizeBytes": 1048576, "Mode": 1016}


def test_mount_options_read_back_and_equal_spellings_are_no_change():
    inspect = container(mounts=[VOLUME_MOUNT, TMPFS_MOUNT])
    assert diffs(inspect, mounts=[VOLUME_MOUNT, TMPFS_MOUNT]) == {}
    same_tmpfs = dict(TMPFS_MOUNT, tmpfs_size="1024k", tmpfs_mode="0o1770")
    assert diffs(inspect, mounts=[VOLUME_MOUNT, same_tmpfs]) == {}
    changed = diffs(inspect, mounts=[dict(VOLUME_MOUNT, labels={"a": "c"}), dict(TMPFS_MOUNT, tmpfs_mode="1777")])
    assert changed["mounts"].update == cs.RECREATE
    after = dict((m["target"], m) for m in changed["mounts"].after)
    assert after["/v"]["labels"] == {"a": "c"} and after["/t"]["tmpfs_mode"] == "1777"
    assert after["/t"]["tmpfs_size"] == "1MiB"
    # a plain mount keeps its plain form (no empty option keys)
    assert desired(mounts=[{"target": "/p"}])["mounts"] == [
        {"type": "volume", "source": "", "target": "/p", "read_only": False}]


@pytest.mark.parametrize("mount,message", [
    ({"type": "bind", "source": "/srv", "target": "/b", "labels": {"a": "b"}}, "volume mounts only"),
    ({"type": "tmpfs", "target": "/t", "volume_driver": "local"}, "volume mounts only"),
    ({"type": "volume", "target": "/v", "tmpfs_size": "1m"}, "tmpfs mounts only"),
    ({"type": "tmpfs", "target": "/t", "tmpfs_mode": "999"}, "not an octal mode"),
    ({"type": "tmpfs", "target": "/t", "tmpfs_mode": "000"}, "not an octal mode"),
    ({"type": "tmpfs", "target": "/t", "tmpfs_size": "lots"}, "tmpfs_size"),
    ({"type": "volume", "target": "/v", "selinux": "z", "labels": {"a": "b"}}, "bind string"),
])
def test_mount_options_refused_where_they_do_not_apply(mount, message):
    with pytest.raises(ValidationError) as err:
        desired(mounts=[mount])
    assert err.value.option.startswith("mounts[0]") and message in str(err.value)


# --------------------------------------------------------------------------- platform

@pytest.mark.parametrize("text,canonical", [
    ("linux/amd64", "linux/amd64"), ("Linux/x86_64", "linux/amd64"), ("linux/amd64/v1", "linux/amd64"),
    ("linux/aarch64", "linux/arm64"), ("linux/arm64/v8", "linux/arm64"), ("linux/arm", "linux/arm"),
    ("linux/arm/v7", "linux/arm"), ("linux/armhf", "linux/arm"), ("linux/arm/v6", "linux/arm/v6"),
    ("linux/amd64/v3", "linux/amd64/v3"), ("linux", "linux"), ("linux/i686", "linux/386"),
])
def test_platform_spellings(text, canonical):
    assert desired(platform=text)["platform"] == canonical


def test_platform_bad_spellings_name_the_option():
    for bad in ("linux/amd64/v1/x", "linux//amd64", "linux/amd 64", "/"):
        with pytest.raises(ValidationError) as err:
            desired(platform=bad)
        assert err.value.option == "platform"


def test_platform_is_compared_with_the_image_of_the_container():
    image = amd64(ROWS.image)
    inspect = container(platform="linux/amd64")

    def compare(**spec):
        return dict((d.option, d) for d in cs.compare(desired(**spec), image, inspect))

    assert compare(platform="linux/x86_64") == {}
    assert compare(platform="linux") == {}
    assert compare() == {}    # omitted: not compared
    found = compare(platform="linux/arm64")
    assert (found["platform"].before, found["platform"].after, found["platform"].update) == (
        "linux/amd64", "linux/arm64", cs.RECREATE)
    # a container of another image: its platform is that image's (the manager reads it), unknown is no difference
    other = dict(inspect, Image="sha256:other")
    assert set(d.option for d in cs.compare(desired(platform="linux/arm64"), image, other)) == {"image"}
    told = dict(desired(platform="linux/arm64"), container_platform="linux/amd64")
    assert set(d.option for d in cs.compare(told, image, other)) == {"image", "platform"}
    assert platform.image_platform({"Os": "linux", "Architecture": "arm", "Variant": "v7"}) == "linux/arm"


def test_platform_goes_to_the_create_query_and_a_wrong_image_fails_before_any_change():
    client = FakeClient()
    client.api.add_image(amd64(ROWS.image))
    result = ContainerManager(client).run({"name": "p1", "image": "hybridops-test/c:1", "platform": "linux/x86_64"})
    assert result["changed"] and client.api.platforms == [("p1", "linux/amd64")]
    assert ContainerManager(client).run(
        {"name": "p1", "image": "hybridops-test/c:1", "platform": "linux/amd64"})["changed"] is False
    before = len(client.api.mutations())
    for check_mode in (True, False):
        with pytest.raises(ValidationError) as err:
            ContainerManager(client, check_mode=check_mode).run(
                {"name": "p1", "image": "hybridops-test/c:1", "platform": "linux/arm64"})
        assert err.value.option == "platform" and "built for linux/amd64" in err.value.msg
    assert client.api.mutations()[before:] == []
    # moving to an image of another platform: the difference names the platform of the image the container runs
    arm = dict(copy.deepcopy(ROWS.image), Id="sha256:" + "a" * 64, RepoTags=["hybridops-test/c-arm:1"],
               Os="linux", Architecture="arm64")
    client.api.add_image(arm)
    moved = ContainerManager(client, check_mode=True, diff=True).run(
        {"name": "p1", "image": "hybridops-test/c-arm:1", "platform": "linux/aarch64"})
    assert [(d["option"], d["before"], d["after"]) for d in moved["differences"] if d["option"] == "platform"] == [
        ("platform", "linux/amd64", "linux/arm64")]
    assert moved["diff"]["before"]["platform"] == "linux/amd64" and moved["diff"]["after"]["platform"] == "linux/arm64"


# --------------------------------------------------------------------------- paused

@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(cmod, "POLL_INTERVAL", 0)
    fake = FakeClient()
    fake.api.add_image(make_image("box:1", cmd=["sleep", "1000"]))

    def restart(ref, timeout=10):
        # the engine's restart leaves a paused container running, unpaused
        data = fake.api._find(ref)
        fake.api._record("restart", data["Name"].lstrip("/"))
        data["State"].update({"Status": "running", "Running": True, "Paused": False})
    fake.api.restart = restart
    return fake


def spec(**kwargs):
    return dict({"name": "c1", "image": "box:1", "state": "started"}, **kwargs)


def test_paused_row():
    assert desired()["paused"] is False
    inspect = container(paused=True)
    inspect["State"] = {"Running": True, "Paused": True}
    assert diffs(inspect, paused=True) == {}
    found = diffs(inspect)
    assert (found["paused"].before, found["paused"].after, found["paused"].update) == (True, False, cs.PAUSE)
    assert "paused" not in cs.update_body(desired(), list(found.values()))
    for state in ("stopped", "present", "healthy"):
        with pytest.raises(ValidationError) as err:
            desired(paused=True, state=state)
        assert err.value.option == "paused" and "state=started" in err.value.msg
    assert desired(paused=False, state="stopped")["paused"] is False


def test_paused_create_pause_unpause_in_place_with_check_mode_and_diff(client):
    created = ContainerManager(client).run(spec(paused=True))
    assert created["actions"] == ["create", "start", "pause"] and created["container"]["State"]["Paused"] is True
    assert client.api.mutations()[-1] == ("pause", "c1")
    assert ContainerManager(client).run(spec(paused=True))["changed"] is False
    cid = created["container"]["Id"]
    predicted = ContainerManager(client, check_mode=True, diff=True).run(spec())
    assert (predicted["changed"], predicted["action"], predicted["actions"]) == (True, "update", ["update", "unpause"])
    assert predicted["differences"] == [{"option": "paused", "before": True, "after": False, "update": "pause"}]
    assert predicted["diff"]["before"]["paused"] is True and predicted["diff"]["after"]["paused"] is False
    real = ContainerManager(client, diff=True).run(spec())
    assert real["differences"] == predicted["differences"] and real["diff"] == predicted["diff"]
    assert real["container"]["Id"] == cid and real["container"]["State"]["Paused"] is False
    assert client.api.mutations()[-1] == ("unpause", "c1")
    assert ContainerManager(client).run(spec())["changed"] is False
    # paused again in place
    again = ContainerManager(client).run(spec(paused=True))
    assert again["actions"] == ["update", "pause"] and again["container"]["State"]["Paused"] is True


def test_paused_after_start_restart_and_recreate(client):
    ContainerManager(client).run(spec(state="stopped"))
    started = ContainerManager(client).run(spec(paused=True))
    assert [c[0] for c in client.api.mutations()[-2:]] == ["start", "pause"]
    assert started["container"]["State"]["Paused"] is True
    predicted = ContainerManager(client, check_mode=True).run(spec(paused=True, restart=True))
    restarted = ContainerManager(client).run(spec(paused=True, restart=True))
    assert restarted["actions"] == predicted["actions"] == ["restart", "pause"]
    assert restarted["container"]["State"]["Paused"] is True
    assert [c[0] for c in client.api.mutations()[-2:]] == ["restart", "pause"]
    recreated = ContainerManager(client).run(spec(paused=True, labels={"a": "1"}))
    assert recreated["action"] == "recreate" and recreated["container"]["State"]["Paused"] is True
    # a paused container is stopped as it is (the engine stops paused containers)
    stopped = ContainerManager(client).run(spec(state="stopped", labels={"a": "1"}))
    assert stopped["container"]["State"]["Running"] is False


def test_stack_member_paused_and_types():
    members = stack.normalize_members({"name": "s", "containers": [dict(spec(paused="yes"), name="m1")]})
    assert members[0]["paused"] is True
    with pytest.raises(ValidationError) as err:
        stack.normalize_members({"name": "s", "containers": [dict(spec(paused=True, state="stopped"), name="m1")]})
    assert err.value.option == "containers[m1].paused"


# --------------------------------------------------------------------------- force_kill, kill_signal

def test_force_kill_stops_with_docker_kill(client):
    ContainerManager(client).run(spec())
    stopped = ContainerManager(client).run(spec(state="stopped", force_kill=True, kill_signal="int"))
    assert stopped["actions"] == ["stop"] and client.api.mutations()[-1] == ("kill", "c1", "SIGINT")
    ContainerManager(client).run(spec())
    ContainerManager(client).run(spec(labels={"b": "2"}, force_kill=True))
    assert ("kill", "c1", "SIGKILL") in client.api.mutations()
    ContainerManager(client).run(spec(state="absent", force_kill=True, kill_signal=9))
    assert client.api.mutations()[-2:] == [("kill", "c1", "SIGKILL"), ("remove", "c1")]


def test_kill_signal_needs_force_kill_and_a_signal():
    client = FakeClient()
    client.api.add_image(make_image("box:1", cmd=["sleep", "1000"]))
    with pytest.raises(ValidationError) as err:
        ContainerManager(client).run(spec(kill_signal="SIGINT"))
    assert err.value.option == "kill_signal" and "force_kill" in err.value.msg
    with pytest.raises(ValidationError) as err:
        ContainerManager(client).run(spec(force_kill=True, kill_signal="SIGNOPE"))
    assert err.value.option == "kill_signal"
    with pytest.raises(ValidationError) as err:
        stack.normalize_members({"name": "s", "containers": [dict(spec(kill_signal="INT"), name="m1")]})
    assert err.value.option == "containers[m1].kill_signal"
    assert client.api.mutations() == []


def test_new_rows_are_in_the_table():
    for name in ("paused", "platform", "links", "device_cgroup_rules"):
        assert table.BY_NAME[name].compared
    assert table.BY_NAME["paused"].update == cs.PAUSE
    assert table.BY_NAME["platform"].update == cs.RECREATE


def test_a_pull_asks_for_the_platform():
    client = FakeClient()
    asked = []

    def pull(repo, tag=None, **kwargs):
        asked.append((repo, tag, kwargs.get("platform")))
        client.api.add_image(amd64(make_image("pulled/app:2", cmd=["sleep", "1000"])))
    client.api.pull = pull
    ContainerManager(client).run({"name": "p2", "image": "pulled/app:2", "platform": "linux/x86_64"})
    assert asked == [("pulled/app", "2", "linux/amd64")]
    members = {"name": "s", "containers": [{"name": "m1", "image": "pulled/app:3", "platform": "linux/amd64"}]}
    asked[:] = []

    def pull3(repo, tag=None, **kwargs):
        asked.append((repo, tag, kwargs.get("platform")))
        client.api.add_image(amd64(make_image("pulled/app:3", cmd=["sleep", "1000"])))
    client.api.pull = pull3
    result = stack.StackManager(client).run(members)
    assert asked == [("pulled/app", "3", "linux/amd64")], result
