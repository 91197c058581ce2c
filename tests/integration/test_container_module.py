"""hybridops.fleet.container against the lab's real dockerd (run inside the lab namespace)."""
import json

import pytest

# fixtures are imported so pytest finds them
from test_container_support import (  # noqa: F401 pylint: disable=unused-import
    PREFIX,
    clean,
    container_ip,
    docker_client,
    dump,
    http_get,
    http_get_retry,
    inspect,
    test_images,
)

WEB1 = "hybridops-test/web:1"
WEB2 = "hybridops-test/web:2"
BOX = "hybridops-test/box:1"
NAME = PREFIX + "web"


def run(ansible, args, **kwargs):
    return ansible.run_module("container", dict({"name": NAME}, **args), **kwargs)


def test_create_check_diff_idempotent(ansible, clean):
    client = clean
    args = {"image": WEB1, "state": "healthy"}

    predicted = run(ansible, args, check=True, diff=True)
    assert predicted["changed"] is True and predicted["action"] == "create", dump(predicted)
    assert predicted["diff"]["before"] == {}
    assert predicted["diff"]["after"]["image"] == WEB1
    assert inspect(client, NAME) is None, "check mode created the container"

    created = run(ansible, args, diff=True)
    assert created["changed"] is True and created["action"] == "create", dump(created)
    assert created["actions"] == predicted["actions"] == ["create", "start"]
    data = inspect(client, NAME)
    assert data["State"]["Health"]["Status"] == "healthy"
    assert http_get("http://%s:8080/" % container_ip(data)) == "web v1"

    again = run(ansible, args, diff=True)
    assert again["changed"] is False and again["action"] == "none", dump(again)
    assert again["differences"] == []
    assert again["diff"]["before"] == again["diff"]["after"]
    assert run(ansible, args, check=True)["changed"] is False
    assert inspect(client, NAME)["Id"] == data["Id"]


FULL = {
    "image": WEB1,
    "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
    "env": {"MODE": "test", "LANG": "en_US.UTF-8"},
    "secret_env": {"API_TOKEN": "hybridops-secret-value-123"},
    "labels": {"app": "web"},
    "ports": ["127.0.0.1:18080:8080", "18081:8081/udp"],
    "mounts": [{"type": "tmpfs", "target": "/run/cache"}],
    "volumes": [PREFIX + "data:/data"],
    "restart_policy": "on-failure",
    "restart_retries": 2,
    "healthcheck": {"test": "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1", "interval": "1s", "retries": 5},
    "user": "nobody",
    "working_dir": "/data",
    "hostname": "webhost",
    "memory": "64m",
    "cpus": 0.5,
    "pids_limit": 64,
    "networks": [{"name": PREFIX + "net", "aliases": ["webalias"]}],
    "log_driver": "json-file",
    "log_options": {"max-size": "1m"},
    "stop_timeout": 3,
    "state": "healthy",
}


@pytest.fixture
def lab_network(clean):
    clean.api.create_network(PREFIX + "net", driver="bridge")
    clean.api.create_network(PREFIX + "net2", driver="bridge")
    return clean


def test_every_option_family_applied_and_idempotent(ansible, lab_network):
    client = lab_network
    created = run(ansible, FULL)
    assert created["changed"] is True, dump(created)
    data = inspect(client, NAME)
    cfg, hc = data["Config"], data["HostConfig"]
    assert cfg["Cmd"] == FULL["command"]
    assert "MODE=test" in cfg["Env"] and "LANG=en_US.UTF-8" in cfg["Env"]
    assert "API_TOKEN=hybridops-secret-value-123" in cfg["Env"]
    assert cfg["Labels"]["app"] == "web" and cfg["Labels"]["org.hybridops.test"] == "image-label"
    assert hc["PortBindings"]["8080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18080"}]
    assert hc["PortBindings"]["8081/udp"] == [{"HostIp": "", "HostPort": "18081"}]
    assert sorted((m["Type"], m["Target"]) for m in hc["Mounts"]) == [("tmpfs", "/run/cache"), ("volume", "/data")]
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert cfg["Healthcheck"]["Interval"] == 10 ** 9
    assert cfg["User"] == "nobody" and cfg["WorkingDir"] == "/data" and cfg["Hostname"] == "webhost"
    assert hc["Memory"] == 64 * 1024 * 1024 and hc["NanoCpus"] == 5 * 10 ** 8 and hc["PidsLimit"] == 64
    assert list(data["NetworkSettings"]["Networks"]) == [PREFIX + "net"]
    assert "webalias" in data["NetworkSettings"]["Networks"][PREFIX + "net"]["Aliases"]
    # the spec's max-size wins over the daemon's default; the daemon may merge in its other log-opts
    assert hc["LogConfig"]["Type"] == "json-file" and hc["LogConfig"]["Config"]["max-size"] == "1m"
    assert cfg["StopTimeout"] == 3
    assert data["State"]["Health"]["Status"] == "healthy"
    # the published port answers inside the namespace
    assert http_get_retry("http://127.0.0.1:18080/") == "web v1"
    # the secret never appears in the module result
    assert "hybridops-secret-value-123" not in json.dumps(created)

    again = run(ansible, FULL, diff=True)
    assert again["changed"] is False, dump(again)
    assert "hybridops-secret-value-123" not in json.dumps(again)
    assert "hybridops-secret-value-123" not in ansible.last_stdout


def test_in_place_updates_keep_the_container(ansible, lab_network):
    client = lab_network
    run(ansible, FULL)
    first = inspect(client, NAME)
    changes = dict(FULL, memory="96m", cpus=1.0, pids_limit=128, restart_policy="unless-stopped",
                   networks=[{"name": PREFIX + "net", "aliases": ["webalias"]}, PREFIX + "net2"])
    changes.pop("restart_retries")
    predicted = run(ansible, changes, check=True, diff=True)
    assert predicted["action"] == "update", dump(predicted)
    assert sorted(d["option"] for d in predicted["differences"]) == [
        "cpus", "memory", "networks", "pids_limit", "restart_policy", "restart_retries"]
    assert inspect(client, NAME)["HostConfig"]["Memory"] == 64 * 1024 * 1024, "check mode changed memory"
    updated = run(ansible, changes)
    assert updated["changed"] is True and updated["action"] == "update", dump(updated)
    assert updated["differences"] == predicted["differences"]
    data = inspect(client, NAME)
    assert data["Id"] == first["Id"]
    assert data["HostConfig"]["Memory"] == 96 * 1024 * 1024
    assert data["HostConfig"]["NanoCpus"] == 10 ** 9
    assert data["HostConfig"]["PidsLimit"] == 128
    assert data["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert sorted(data["NetworkSettings"]["Networks"]) == [PREFIX + "net", PREFIX + "net2"]
    assert run(ansible, changes)["changed"] is False


def test_recreate_on_real_difference_keeps_volume_data(ansible, clean):
    client = clean
    args = {"image": WEB1, "volumes": [PREFIX + "keep:/data"], "env": {"V": "1"}}
    run(ansible, args)
    first = inspect(client, NAME)
    exec_id = client.api.exec_create(NAME, ["sh", "-c", "echo precious > /data/file"])
    client.api.exec_start(exec_id)

    predicted = run(ansible, dict(args, env={"V": "2"}), check=True, diff=True)
    assert predicted["action"] == "recreate"
    assert predicted["diff"]["before"]["env"] == {"V": "1"} and predicted["diff"]["after"]["env"] == {"V": "2"}
    assert inspect(client, NAME)["Id"] == first["Id"]

    recreated = run(ansible, dict(args, env={"V": "2"}))
    assert recreated["action"] == "recreate" and recreated["changed"] is True, dump(recreated)
    second = inspect(client, NAME)
    assert second["Id"] != first["Id"]
    assert client.containers.get(NAME).exec_run(["cat", "/data/file"]).output.decode().strip() == "precious"

    # image change (same tag string form differs, ID differs) -> recreate; same image by ID -> nothing
    by_id = run(ansible, dict(args, env={"V": "2"}, image=second["Image"]))
    assert by_id["changed"] is False, dump(by_id)
    moved = run(ansible, dict(args, env={"V": "2"}, image=WEB2))
    assert moved["action"] == "recreate"
    assert [d["option"] for d in moved["differences"]] == ["image"]


def test_state_transitions(ansible, clean):
    client = clean
    assert run(ansible, {"image": BOX, "state": "present"})["actions"] == ["create"]
    assert inspect(client, NAME)["State"]["Running"] is False
    assert run(ansible, {"image": BOX, "state": "present"})["changed"] is False
    assert run(ansible, {"image": BOX, "state": "started"})["actions"] == ["start"]
    assert inspect(client, NAME)["State"]["Running"] is True
    stopped = run(ansible, {"image": BOX, "state": "stopped"})
    assert stopped["actions"] == ["stop"], dump(stopped)
    assert inspect(client, NAME)["State"]["Running"] is False
    assert run(ansible, {"image": BOX, "state": "stopped"})["changed"] is False
    predicted = run(ansible, {"state": "absent"}, check=True, diff=True)
    assert predicted["changed"] is True and predicted["diff"]["after"] == {}
    assert inspect(client, NAME) is not None
    assert run(ansible, {"state": "absent"})["changed"] is True
    assert inspect(client, NAME) is None
    assert run(ansible, {"state": "absent"})["changed"] is False


def test_rolling_replace_success(ansible, clean):
    client = clean
    client.api.create_network(PREFIX + "net", driver="bridge")
    base = {"networks": [{"name": PREFIX + "net", "aliases": ["svc"]}], "recreate": "rolling", "state": "healthy"}
    run(ansible, dict(base, image=WEB1))
    old = inspect(client, NAME)
    rolled = run(ansible, dict(base, image=WEB2))
    assert rolled["changed"] is True and rolled["action"] == "rolling", dump(rolled)
    new = inspect(client, NAME)
    assert new["Id"] != old["Id"] and new["Name"] == "/" + NAME
    assert new["State"]["Health"]["Status"] == "healthy"
    assert http_get("http://%s:8080/" % container_ip(new, PREFIX + "net")) == "web v2"
    assert inspect(client, old["Id"]) is None
    assert inspect(client, NAME + "-hybridops-next") is None
    assert run(ansible, dict(base, image=WEB2))["changed"] is False


def test_rolling_replace_failure_leaves_old_serving(ansible, clean):
    client = clean
    base = {"recreate": "rolling", "state": "healthy", "wait_timeout": 8}
    run(ansible, dict(base, image=WEB1))
    old = inspect(client, NAME)
    failed = run(ansible, dict(base, image=WEB2, healthcheck={"test": "exit 1", "interval": "1s", "retries": 1}))
    assert failed.get("failed") is True, dump(failed)
    assert failed.get("rolled_back") is True
    assert "still running" in failed["msg"] and NAME in failed["msg"]
    current = inspect(client, NAME)
    assert current["Id"] == old["Id"] and current["State"]["Running"] is True
    assert http_get("http://%s:8080/" % container_ip(current)) == "web v1"
    assert inspect(client, NAME + "-hybridops-next") is None


def test_rolling_refuses_fixed_host_ports(ansible, clean):
    result = run(ansible, {"image": WEB1, "recreate": "rolling", "ports": ["18090:8080"]})
    assert result.get("failed") is True
    assert "recreate" in result["msg"] and "18090:8080" in result["msg"]
    assert inspect(clean, NAME) is None


@pytest.mark.parametrize("args,option,words", [
    ({"image": PREFIX + "missing/image:1", "pull": "never"}, "image", ["not on the engine", "container_image"]),
    ({"image": PREFIX + "missing/image:1"}, "image", ["pulling it failed", "container_image"]),
    ({"image": WEB1, "ports": ["80:80:80:80"]}, "ports", ["HOST_PORT", "cannot parse"]),
    ({"image": WEB1, "restart_policy": "sometimes"}, "restart_policy", ["unless-stopped", "on-failure"]),
    ({"image": WEB1, "restart_policy": "always", "restart_retries": 3}, "restart_retries", ["on-failure"]),
    ({"image": WEB1, "env": {"A": "1"}, "secret_env": {"A": "2"}}, "secret_env", ["once"]),
    ({"image": WEB1, "mounts": [{"type": "bind", "source": "rel", "target": "/x"}]}, "mounts", ["absolute"]),
    ({"image": WEB1, "memory": "lots"}, "memory", ["MiB"]),
    ({"image": WEB1, "networks": [PREFIX + "nonet"]}, "networks", ["does not exist"]),
])
def test_bad_input_fails_naming_the_option_and_changes_nothing(ansible, clean, args, option, words):
    def ours():
        # only this suite's containers: other suites (and the bench) share the engine
        return sorted(c["Id"] for c in clean.api.containers(all=True) if c["Names"][0].lstrip("/").startswith(PREFIX))
    before = ours()
    result = run(ansible, args)
    assert result.get("failed") is True, dump(result)
    assert result.get("changed") is False
    assert option in result["msg"], result["msg"]
    for word in words:
        assert word in result["msg"], result["msg"]
    assert ours() == before


def test_unreachable_engine_and_plain_tcp(ansible, clean):
    result = run(ansible, {"image": WEB1, "docker_host": "unix:///run/hybridops-it-nowhere.sock"})
    assert result.get("failed") is True
    assert "unix:///run/hybridops-it-nowhere.sock" in result["msg"]
    assert result["msg"].count("cannot reach") == 1
    result = run(ansible, {"image": WEB1, "docker_host": "tcp://127.0.0.1:2375"})
    assert result.get("failed") is True
    assert "docker_host" in result["msg"] and "TLS" in result["msg"]
