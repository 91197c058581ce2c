"""Everyday community.docker specs: the pure functions and the manager against the fake engine.

Each test is a symptom a converted docker_container playbook hit (false recreates, changes never
applied, refused values, noisy diffs); the integration suite repeats them on a real engine.
"""
import pytest
from docker_fake_engine import FakeClient, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import parse_ram_size, parse_size
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container as cmod, container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import ContainerManager
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.stack import StackManager

WEB = make_image("web:1", cmd=["httpd"], healthcheck={"Test": ["CMD", "true"], "Interval": 10 ** 9})
BOX = make_image("box:1", cmd=["sleep", "1000"])
TOOL = make_image("tool:1", cmd=["--help"], entrypoint=["/bin/tool"])


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(cmod, "POLL_INTERVAL", 0)
    fake = FakeClient()
    for image in (WEB, BOX, TOOL):
        fake.api.add_image(image)
    fake.api.create_network("appnet")
    return fake


def converge(client, check=False, **kwargs):
    params = dict({"name": "c1", "image": "box:1", "state": "started"}, **kwargs)
    return ContainerManager(client, check_mode=check, diff=True).run(params)


def assert_converges(client, first, second):
    """create -> rerun no-op -> change predicted exactly -> applied -> rerun no-op; returns the change."""
    converge(client, **first)
    again = converge(client, **first)
    assert again["changed"] is False, again["differences"]
    assert again["diff"]["before"] == again["diff"]["after"]
    predicted = converge(client, check=True, **second)
    changed = converge(client, **second)
    assert changed["changed"] is True
    assert (changed["action"], changed["differences"]) == (predicted["action"], predicted["differences"])
    rerun = converge(client, **second)
    assert rerun["changed"] is False, rerun["differences"]
    return changed


# ---------------------------------------------------------------- restart policy

def test_restart_policy_body_never_sends_an_empty_name():
    desired = cs.normalize_spec({"name": "c1", "image": "box:1", "restart_policy": "no"})
    diffs = [cs.Difference("restart_policy", "always", "no", cs.IN_PLACE)]
    assert cs.update_body(desired, diffs) == {"RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}}
    assert cs.create_body(desired)["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}


def test_restart_policy_always_to_no_is_applied(client):
    changed = assert_converges(client, {"restart_policy": "always"}, {"restart_policy": "no"})
    assert changed["action"] == "update"
    assert client.api.inspect_container("c1")["HostConfig"]["RestartPolicy"]["Name"] == "no"


@pytest.mark.parametrize("policy", ["no", "always", "unless-stopped", "on-failure"])
def test_restart_retries_zero_is_accepted_with_every_policy(policy):
    desired = cs.normalize_spec({"name": "c1", "image": "box:1", "restart_policy": policy, "restart_retries": 0})
    assert desired["restart_retries"] == 0
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec({"name": "c1", "image": "box:1", "restart_policy": "always", "restart_retries": 2})
    assert info.value.option == "restart_retries"


# ---------------------------------------------------------------- log options and daemon defaults

def test_daemon_default_log_opts_are_not_drift(client):
    client.api.daemon_log_opts = {"max-size": "10m", "max-file": "3"}
    spec = {"log_driver": "json-file", "log_options": {"max-file": "5"}}
    converge(client, **spec)
    assert client.api.inspect_container("c1")["HostConfig"]["LogConfig"]["Config"] == {"max-size": "10m", "max-file": "5"}
    again = converge(client, **spec)
    assert again["changed"] is False, again["differences"]
    assert again["diff"]["before"]["log_options"] == again["diff"]["after"]["log_options"] == {"max-file": "5"}
    assert converge(client, log_driver="json-file")["changed"] is False
    changed = converge(client, check=True, log_driver="json-file", log_options={"max-file": "5", "max-size": "1m"})
    assert [d["option"] for d in changed["differences"]] == ["log_options"]
    assert changed["differences"][0]["before"] == {"max-file": "5", "max-size": "10m"}


def test_log_options_match_allows_more_present():
    assert cs._log_options_match({"max-size": "1m"}, {"max-size": "1m", "max-file": "3"})
    assert not cs._log_options_match({"max-size": "1m"}, {"max-size": "10m"})
    assert not cs._log_options_match({"max-size": "1m"}, {})


# ---------------------------------------------------------------- paths

@pytest.mark.parametrize("path,cleaned", [
    ("/tmp/", "/tmp"), ("/", "/"), ("//srv//data/", "/srv/data"), ("/a/./b/../c", "/a/c"), ("vol", "vol")])
def test_clean_path(path, cleaned):
    assert cs.clean_path(path) == cleaned


def test_trailing_slashes_in_working_dir_and_bind_source_are_not_drift(client):
    spec = {"working_dir": "/tmp/", "mounts": [{"type": "bind", "source": "/srv/conf/", "target": "/etc/app/"}],
            "volumes": ["/srv/data/:/data/:ro"]}
    converge(client, **spec)
    data = client.api.inspect_container("c1")
    assert data["Config"]["WorkingDir"] == "/tmp"
    assert sorted(m["Source"] for m in data["HostConfig"]["Mounts"]) == ["/srv/conf", "/srv/data"]
    assert converge(client, **spec)["changed"] is False
    # the engine stores the path as given (older releases): still the same path
    data["Config"]["WorkingDir"] = "/tmp/"
    data["HostConfig"]["Mounts"][0]["Source"] += "/"
    assert cs.compare(cs.normalize_spec(dict(spec, name="c1", image="box:1")), BOX, data) == []


def test_relative_working_dir_is_refused():
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec({"name": "c1", "image": "box:1", "working_dir": "tmp"})
    assert info.value.option == "working_dir" and "absolute" in str(info.value)


# ---------------------------------------------------------------- networks

def test_empty_network_list_is_the_none_mode_and_idempotent(client):
    assert cs.normalize_networks([]) == [{"name": "none", "aliases": [], "ipv4_address": None}]
    converge(client, networks=[])
    assert client.api.inspect_container("c1")["HostConfig"]["NetworkMode"] == "none"
    assert converge(client, networks=[])["changed"] is False
    assert converge(client, networks=["none"])["changed"] is False


@pytest.mark.parametrize("before,after", [
    (["appnet"], ["host"]), (["appnet"], []), (["host"], ["appnet"]), (["none"], ["host"]), (None, ["host"])])
def test_moving_into_or_out_of_host_or_none_is_a_predicted_recreate(client, before, after):
    converge(client, **({"networks": before} if before is not None else {}))
    predicted = converge(client, check=True, networks=after)
    assert predicted["action"] == "recreate", predicted["differences"]
    assert [d["update"] for d in predicted["differences"]] == ["recreate"]
    real = converge(client, networks=after)
    assert real["action"] == "recreate" and real["differences"] == predicted["differences"]
    assert converge(client, networks=after)["changed"] is False


def test_network_changes_between_ordinary_networks_stay_in_place():
    nets = cs.normalize_networks
    assert cs.networks_in_place(nets(["appnet"]), nets(["appnet", "other"]))
    assert cs.networks_in_place(nets(["bridge"]), nets(["appnet"]))
    assert not cs.networks_in_place(nets(["bridge"]), nets(["host"]))
    assert not cs.networks_in_place(nets([]), nets(["appnet"]))


# ---------------------------------------------------------------- healthcheck, entrypoint

def test_healthcheck_removed_from_spec_returns_to_image_default(client):
    own = {"healthcheck": {"test": ["CMD", "true"], "interval": "5s"}}
    changed = assert_converges(client, own, {})
    assert changed["action"] == "recreate"
    assert changed["differences"][0]["option"] == "healthcheck" and changed["differences"][0]["after"] is None
    assert client.api.inspect_container("c1")["Config"]["Healthcheck"] is None
    # with an image healthcheck, the image's comes back
    changed = assert_converges(client, dict(own, image="web:1"), {"image": "web:1"})
    assert client.api.inspect_container("c1")["Config"]["Healthcheck"] == WEB["Config"]["Healthcheck"]


def test_empty_entrypoint_clears_the_image_entrypoint(client):
    changed = assert_converges(client, {"image": "tool:1"}, {"image": "tool:1", "entrypoint": []})
    assert changed["differences"][0]["option"] == "entrypoint"
    cfg = client.api.inspect_container("c1")["Config"]
    assert cfg["Entrypoint"] == [] and cfg["Cmd"] == ["--help"]    # the daemon still inherits CMD
    assert cs.create_body(cs.normalize_spec({"name": "ctr", "image": "tool:1", "entrypoint": []}))["Entrypoint"] == []
    assert "Entrypoint" not in cs.create_body(cs.normalize_spec({"name": "ctr", "image": "tool:1"}))


# ---------------------------------------------------------------- sizes like the docker CLI

@pytest.mark.parametrize("value,expected", [
    ("512MB", 512 * 1024 ** 2), ("512m", 512 * 1024 ** 2), ("512MiB", 512 * 1024 ** 2), ("512M", 512 * 1024 ** 2),
    ("1g", 1024 ** 3), ("1GB", 1024 ** 3), ("2k", 2048), ("1.5g", 1536 * 1024 ** 2), ("100", 100), (100, 100),
    ("64 m", 64 * 1024 ** 2), ("1t", 1024 ** 4),
])
def test_parse_ram_size_reads_like_the_docker_cli(value, expected):
    assert parse_ram_size(value) == expected


@pytest.mark.parametrize("value", ["lots", "", "1x", "-1m", -1, True, None, "iB", [1]])
def test_parse_ram_size_rejects(value):
    with pytest.raises(ValueError) as info:
        parse_ram_size(value)
    assert "512MiB" in str(info.value)


def test_libvirt_sizes_keep_their_decimal_units():
    assert parse_size("512MB") == 512 * 1000 ** 2


def test_memory_option_uses_docker_units():
    assert cs.normalize_spec({"name": "ctr", "image": "box:1", "memory": "512MB"})["memory"] == 512 * 1024 ** 2
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec({"name": "ctr", "image": "box:1", "memory": "lots"})
    assert info.value.option == "memory"


# ---------------------------------------------------------------- anonymous volumes

def test_recreate_and_removal_drop_anonymous_volumes_unless_kept(client):
    converge(client, env={"A": "1"})
    converge(client, env={"A": "2"})
    converge(client, env={"A": "3"}, keep_volumes=True)
    converge(client, state="absent")
    assert client.api.removed_with_volumes == [True, False, True]


def test_stack_prune_and_member_recreate_drop_anonymous_volumes(client):
    stack = StackManager(client)
    member = {"name": "m1", "image": "box:1"}
    stack.run({"name": "s", "containers": [member]})
    stack.run({"name": "s", "containers": [dict(member, env={"A": "1"})]})
    stack.run({"name": "s", "containers": [], "keep_volumes": True})
    assert client.api.removed_with_volumes == [True, False]


# ---------------------------------------------------------------- diffs of unchanged containers

def test_unchanged_container_diff_hides_engine_aliases_and_image_reference(client):
    spec = {"networks": [{"name": "appnet", "aliases": ["web"]}]}
    converge(client, **spec)
    aliases = client.api.inspect_container("c1")["NetworkSettings"]["Networks"]["appnet"]["Aliases"]
    assert len(aliases) == 2    # the engine added the short ID
    again = converge(client, **spec)
    assert again["diff"]["before"] == again["diff"]["after"]
    assert again["diff"]["after"]["networks"] == [{"name": "appnet", "aliases": ["web"]}]
    # the same image named by its ID: no change, and the diff does not show one
    by_id = converge(client, image=BOX["Id"], **spec)
    assert by_id["changed"] is False
    assert by_id["diff"]["before"] == by_id["diff"]["after"]
