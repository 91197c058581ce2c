"""Pure spec <-> inspect functions: normalize, compare (incl. image-default cases), bodies."""
import copy
import re

import pytest
from docker_fake_engine import FakeAPI, daemon_merge, make_image

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs

IMAGE = make_image(
    "hybridops-test/web:1",
    cmd=["httpd", "-f", "-p", "8080", "-h", "/www"],
    env=["PATH=/bin", "LANG=C.UTF-8"],
    labels={"org.opencontainers.image.title": "web", "tier": "image-default"},
    healthcheck={"Test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"], "Interval": 2000000000,
                 "Timeout": 1000000000, "Retries": 3},
    user="www", workdir="/www")


def container_for(spec, image=None, name="c1"):
    """Inspect data of a container the (simulated) daemon made from spec's create body."""
    api = FakeAPI()
    api.add_image(image or IMAGE)
    desired = cs.normalize_spec(dict(spec, name=name))
    body = cs.create_body(desired)
    cid = api.create_container_from_config(body, name)["Id"]
    return api.inspect_container(cid)


def diffs_of(spec, inspect, image=None):
    desired = cs.normalize_spec(dict(spec, name="c1"))
    return cs.compare(desired, image or IMAGE, inspect)


def names(diffs):
    return sorted(d.option for d in diffs)


BASE = {"image": "hybridops-test/web:1"}


# ---------------------------------------------------------------- image-default cases (no false recreate)

def test_minimal_spec_inherits_image_defaults_without_drift():
    inspect = container_for(BASE)
    # the daemon copied the image's CMD/ENV/labels/healthcheck/user/workdir into the container
    assert inspect["Config"]["Cmd"] == IMAGE["Config"]["Cmd"]
    assert "LANG=C.UTF-8" in inspect["Config"]["Env"]
    assert inspect["Config"]["Labels"]["tier"] == "image-default"
    assert inspect["Config"]["User"] == "www"
    assert diffs_of(BASE, inspect) == []


def test_env_override_of_image_variable_is_not_drift():
    spec = dict(BASE, env={"LANG": "de_DE.UTF-8", "APP": "1"})
    assert diffs_of(spec, container_for(spec)) == []


def test_label_override_of_image_label_is_not_drift():
    spec = dict(BASE, labels={"tier": "frontend"})
    assert diffs_of(spec, container_for(spec)) == []


def test_entrypoint_without_command_does_not_inherit_image_cmd():
    spec = dict(BASE, entrypoint=["sleep"])
    inspect = container_for(spec)
    assert not inspect["Config"].get("Cmd")     # daemon does not merge CMD when an entrypoint is given
    assert diffs_of(spec, inspect) == []


def test_partial_healthcheck_merges_image_test():
    spec = dict(BASE, healthcheck={"interval": "5s"})
    inspect = container_for(spec)
    assert inspect["Config"]["Healthcheck"]["Test"] == IMAGE["Config"]["Healthcheck"]["Test"]
    assert diffs_of(spec, inspect) == []


def test_healthcheck_equal_to_image_default_in_other_form_is_not_drift():
    spec = dict(BASE, healthcheck={"test": ["wget", "-q", "-O-", "http://127.0.0.1:8080/"], "interval": 2,
                                   "timeout": "1s", "retries": 3})
    assert diffs_of(spec, container_for(BASE)) == []


def test_command_equal_to_image_cmd_is_not_drift():
    spec = dict(BASE, command="httpd -f -p 8080 -h /www")
    assert diffs_of(spec, container_for(BASE)) == []


def test_image_compared_by_id_not_tag_string():
    inspect = container_for(BASE)
    # the same image named differently (ID, other tag) is not a change
    alias = copy.deepcopy(IMAGE)
    assert diffs_of({"image": IMAGE["Id"]}, inspect, alias) == []
    rebuilt = make_image("hybridops-test/web:1", cmd=["httpd", "-f"])
    diffs = diffs_of(BASE, inspect, rebuilt)
    assert "image" in names(diffs)
    assert cs.needs_recreate(diffs)


def test_removed_option_returns_to_image_default_and_is_drift():
    inspect = container_for(dict(BASE, user="root", working_dir="/tmp"))
    diffs = diffs_of(BASE, inspect)
    assert names(diffs) == ["user", "working_dir"]
    user = [d for d in diffs if d.option == "user"][0]
    assert (user.before, user.after) == ("root", "www")


def test_removed_env_variable_is_drift():
    inspect = container_for(dict(BASE, env={"A": "1"}))
    diffs = diffs_of(BASE, inspect)
    assert names(diffs) == ["env"]
    assert diffs[0].before == {"A": "1"} and diffs[0].after == {}


def test_extra_exposed_ports_and_anonymous_volumes_of_image_are_not_drift():
    inspect = container_for(BASE)
    inspect["Config"]["Volumes"] = {"/var/lib/data": {}}
    inspect["Mounts"] = [{"Type": "volume", "Name": "abc", "Destination": "/var/lib/data"}]
    assert diffs_of(BASE, inspect) == []


# ---------------------------------------------------------------- each option family round-trips

FULL = dict(
    BASE,
    command=["httpd", "-f", "-p", "9090"],
    env={"A": "1", "B": "two words"},
    secret_env={"TOKEN": "s3cr3t"},
    labels={"app": "web"},
    ports=["8080:8080", "127.0.0.1:9443:443/tcp", "53/udp", "127.0.0.1::9000"],
    mounts=[{"type": "volume", "source": "webdata", "target": "/data"},
            {"type": "tmpfs", "target": "/run/cache"}],
    volumes=["/srv/conf:/etc/app:ro"],
    restart_policy="on-failure", restart_retries=3,
    healthcheck={"test": "wget -q -O- http://127.0.0.1:9090/", "interval": "1m30s", "retries": 5},
    user="nobody", working_dir="/data", hostname="web1",
    memory="64m", cpus=0.5, pids_limit=100,
    networks=[{"name": "appnet", "aliases": ["web"]}, "othernet"],
    log_driver="json-file", log_options={"max-size": "10m"},
    stop_timeout=5,
)


def test_full_spec_round_trips_without_drift():
    inspect = container_for(FULL)
    # the fake engine connects only the first network at create; add the second like the manager does
    inspect["NetworkSettings"]["Networks"]["othernet"] = {"Aliases": [inspect["Id"][:12]], "IPAMConfig": None}
    assert diffs_of(FULL, inspect) == []


@pytest.mark.parametrize("option,value,update", [
    ("command", ["httpd", "-f"], cs.RECREATE),
    ("env", {"A": "2", "B": "two words"}, cs.RECREATE),
    ("secret_env", {"TOKEN": "other"}, cs.RECREATE),
    ("labels", {"app": "api"}, cs.RECREATE),
    ("ports", ["8081:8080", "127.0.0.1:9443:443/tcp", "53/udp", "127.0.0.1::9000"], cs.RECREATE),
    ("mounts", [{"type": "volume", "source": "other", "target": "/data"}, {"type": "tmpfs", "target": "/run/cache"}], cs.RECREATE),
    ("volumes", ["/srv/conf:/etc/app:rw"], cs.RECREATE),
    ("restart_policy", "always", cs.IN_PLACE),
    ("healthcheck", {"test": "true"}, cs.RECREATE),
    ("user", "root", cs.RECREATE),
    ("working_dir", "/", cs.RECREATE),
    ("hostname", "web2", cs.RECREATE),
    ("memory", "128m", cs.IN_PLACE),
    ("cpus", 1, cs.IN_PLACE),
    ("pids_limit", 200, cs.IN_PLACE),
    ("networks", [{"name": "appnet", "aliases": ["web"]}], cs.NETWORK),
    ("log_options", {"max-size": "20m"}, cs.RECREATE),
    ("stop_timeout", 30, cs.RECREATE),
])
def test_each_option_change_is_detected_with_update_kind(option, value, update):
    inspect = container_for(FULL)
    inspect["NetworkSettings"]["Networks"]["othernet"] = {"Aliases": [], "IPAMConfig": None}
    spec = dict(FULL)
    spec[option] = value
    if option == "restart_policy":
        spec.pop("restart_retries")
    diffs = diffs_of(spec, inspect)
    assert diffs, "change of %s not detected" % option
    assert all(d.update == update for d in diffs), diffs
    expected_option = {"secret_env": "env", "volumes": "mounts"}.get(option, option)
    assert expected_option in names(diffs)


def test_removing_memory_limit_needs_recreate():
    inspect = container_for(dict(BASE, memory="64m"))
    diffs = diffs_of(BASE, inspect)
    assert names(diffs) == ["memory"]
    assert diffs[0].update == cs.RECREATE
    assert (diffs[0].before, diffs[0].after) == ("64MiB", None)


def test_network_alias_added_by_engine_is_not_drift():
    spec = dict(BASE, networks=[{"name": "appnet", "aliases": ["web"]}])
    inspect = container_for(spec)
    assert len(inspect["NetworkSettings"]["Networks"]["appnet"]["Aliases"]) == 2
    assert diffs_of(spec, inspect) == []


def test_networks_not_given_are_not_compared():
    spec = dict(BASE, networks=["appnet"])
    assert diffs_of(BASE, container_for(spec)) == []


def test_binds_and_mounts_forms_are_equivalent():
    inspect = container_for(BASE)
    inspect["HostConfig"]["Binds"] = ["/srv/conf:/etc/app:ro", "webdata:/data:rw"]
    spec = dict(BASE, mounts=[{"type": "bind", "source": "/srv/conf", "target": "/etc/app/", "read_only": True}],
                volumes=["webdata:/data"])
    assert diffs_of(spec, inspect) == []


def test_port_host_ip_any_is_the_same_as_empty():
    inspect = container_for(BASE)
    inspect["HostConfig"]["PortBindings"] = {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    assert diffs_of(dict(BASE, ports=["8080:80"]), inspect) == []
    assert diffs_of(dict(BASE, ports=["0.0.0.0:8080:80/tcp"]), inspect) == []


def test_restart_no_equals_empty_policy():
    inspect = container_for(BASE)
    inspect["HostConfig"]["RestartPolicy"] = {"Name": "", "MaximumRetryCount": 0}
    assert diffs_of(dict(BASE, restart_policy="no"), inspect) == []


def test_pids_limit_unlimited_forms():
    inspect = container_for(BASE)
    for value in (None, 0, -1):
        inspect["HostConfig"]["PidsLimit"] = value
        assert diffs_of(BASE, inspect) == []


# ---------------------------------------------------------------- bad input names the option

@pytest.mark.parametrize("option,value,accepted", [
    ("ports", ["80:80:80:80"], "HOST_IP"),
    ("ports", ["99999:80"], "HOST_IP"),
    ("ports", ["80/icmp"], "tcp, udp or sctp"),
    ("ports", ["8000-8002:80-81"], "HOST_IP"),
    ("restart_policy", "sometimes", "unless-stopped"),
    ("mounts", [{"type": "nfs", "source": "x", "target": "/x"}], "bind, volume, tmpfs"),
    ("mounts", [{"type": "bind", "source": "relative", "target": "/x"}], "absolute"),
    ("volumes", ["data"], "SOURCE:/target"),
    ("healthcheck", {"test": "true", "interval": "soon"}, "30s"),
    ("healthcheck", {"bogus": 1}, "disable"),
    ("memory", "lots", "MiB"),
    ("cpus", "many", "0.5"),
    ("networks", [{"name": "a", "alias": ["x"]}], "aliases"),
])
def test_bad_input_raises_validation_error_naming_option(option, value, accepted):
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec(dict(BASE, name="c1", **{option: value}))
    assert re.split(r"[.\[]", info.value.option)[0] == option
    assert accepted in str(info.value)


@pytest.mark.parametrize("spec,option", [
    ({"env": {"A": "1"}, "secret_env": {"A": "2"}}, "secret_env"),
    ({"restart_policy": "always", "restart_retries": 3}, "restart_retries"),
    ({"log_options": {"max-size": "1m"}}, "log_options"),
    ({"ports": ["8080:80", "8080:81"]}, "ports"),
    ({"mounts": [{"type": "volume", "source": "a", "target": "/d"}], "volumes": ["b:/d"]}, "mounts"),
    ({"networks": ["host"], "ports": ["80:80"]}, "ports"),
    ({"healthcheck": {"disable": True, "test": "true"}}, "healthcheck"),
    ({"env": {"FLAG": True}}, "env"),
])
def test_conflicting_options_are_refused(spec, option):
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec(dict(BASE, name="c1", **spec))
    assert info.value.option == option


def test_missing_image_and_bad_name():
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec({"name": "c1"})
    assert info.value.option == "image"
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec({"name": "bad name!", "image": "x"})
    assert info.value.option == "name"


# ---------------------------------------------------------------- helpers

@pytest.mark.parametrize("text,expected", [
    ("80", ["::80/tcp"]),
    ("8080:80", [":8080:80/tcp"]),
    ("127.0.0.1:8080:80/udp", ["127.0.0.1:8080:80/udp"]),
    ("127.0.0.1::80", ["127.0.0.1::80/tcp"]),
    ("[::1]:8080:80", ["::1:8080:80/tcp"]),
    ("8000-8001:80-81", [":8000:80/tcp", ":8001:81/tcp"]),
    (443, ["::443/tcp"]),
])
def test_parse_port(text, expected):
    assert cs.parse_port(text) == expected


def test_port_parts_handles_ipv6():
    assert cs.port_parts("::1:8080:80/tcp") == ("::1", "8080", 80, "tcp")
    assert cs._port_view(["::1:8080:80/tcp", ":8080:80/tcp", "::80/udp"]) == ["[::1]:8080:80/tcp", "8080:80/tcp", "80/udp"]


@pytest.mark.parametrize("value,nanos", [
    ("30s", 30 * 10 ** 9), ("1m30s", 90 * 10 ** 9), ("500ms", 5 * 10 ** 8), (10, 10 ** 10), ("2", 2 * 10 ** 9),
    ("1h", 3600 * 10 ** 9),
])
def test_parse_duration(value, nanos):
    assert cs.parse_duration(value, "x") == nanos
    assert cs.parse_duration(cs.format_duration(nanos), "x") == nanos


def test_secret_env_masked_in_views_and_inspect():
    spec = dict(BASE, env={"A": "1"}, secret_env={"TOKEN": "s3cr3t"})
    inspect = container_for(spec)
    desired = cs.normalize_spec(dict(spec, name="c1"))
    view = cs.spec_view(desired, IMAGE, inspect)
    assert view["env"] == {"A": "1", "TOKEN": cs.SECRET_MASK}
    assert "s3cr3t" not in repr(cs.spec_view(desired, IMAGE))
    masked = cs.mask_inspect(inspect, desired["secret_keys"])
    assert "s3cr3t" not in repr(masked)
    assert "s3cr3t" in repr(inspect)  # the original is untouched
    changed = cs.compare(cs.normalize_spec(dict(spec, name="c1", secret_env={"TOKEN": "new"})), IMAGE, inspect)
    assert "s3cr3t" not in repr([d.as_dict() for d in changed]) and "new" not in repr([d.as_dict() for d in changed])


def test_update_body_covers_in_place_changes_only():
    inspect = container_for(dict(FULL))
    spec = dict(FULL, memory="128m", cpus=1, pids_limit=0, restart_policy="always")
    spec.pop("restart_retries")
    desired = cs.normalize_spec(dict(spec, name="c1"))
    diffs = cs.compare(desired, IMAGE, inspect)
    body = cs.update_body(desired, diffs)
    assert body == {"Memory": 128 * 1024 ** 2, "MemorySwap": 256 * 1024 ** 2, "NanoCpus": 10 ** 9,
                    "PidsLimit": -1, "RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}}


def test_create_body_shape():
    desired = cs.normalize_spec(dict(FULL, name="c1"))
    body = cs.create_body(desired, extra_labels={cs.LABEL_STACK: "s"})
    assert body["Image"] == "hybridops-test/web:1"
    assert body["Labels"] == {"app": "web", cs.LABEL_STACK: "s"}
    assert body["HostConfig"]["PortBindings"]["443/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "9443"}]
    assert body["HostConfig"]["PortBindings"]["53/udp"] == [{"HostIp": "", "HostPort": ""}]
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert body["HostConfig"]["NetworkMode"] == "appnet"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"appnet": {"Aliases": ["web"]}}}
    assert body["Healthcheck"]["Test"] == ["CMD-SHELL", "wget -q -O- http://127.0.0.1:9090/"]
    mounts = dict((m["Target"], m) for m in body["HostConfig"]["Mounts"])
    assert mounts["/etc/app"] == {"Type": "bind", "Target": "/etc/app", "ReadOnly": True, "Source": "/srv/conf"}
    assert mounts["/data"] == {"Type": "volume", "Target": "/data", "ReadOnly": False, "Source": "webdata"}
    assert "Source" not in mounts["/run/cache"]
    assert "TOKEN=s3cr3t" in body["Env"]
    # the desired spec is not mutated by extra labels
    assert desired["labels"] == {"app": "web"}


def test_daemon_merge_keeps_user_env_first():
    merged = daemon_merge({"Image": "x", "Env": ["PATH=/mine"]}, IMAGE)
    assert merged["Env"][0] == "PATH=/mine" and "LANG=C.UTF-8" in merged["Env"]


# ---------------------------------------------------------------- hostile input

@pytest.mark.parametrize("ports,expected", [
    (["127.0.0.1:18082:80"], ["127.0.0.1:18082:80/tcp"]),
    (["[::1]:18082:80/udp"], ["::1:18082:80/udp"]),
    (["0.0.0.0:8080:80"], [":8080:80/tcp"]),
    (["127.0.0.1::80"], ["127.0.0.1::80/tcp"]),
])
def test_port_host_ip_forms(ports, expected):
    assert cs.normalize_ports(ports) == expected


@pytest.mark.parametrize("item,message", [
    ("127.0.0.256:18082:80", "not a valid IPv4"),
    ("999.1.1.1:80:80", "not a valid IPv4"),
    ("[::12345]:80:80", "not a valid IPv6"),
    ("[127.0.0.1]:80:80", "not a valid IPv6"),
    ("-5:80", "cannot parse"),
    ("80-:80", "cannot parse"),
    ("0:80", "1-65535"),
])
def test_bad_port_names_its_index(item, message):
    with pytest.raises(ValidationError) as info:
        cs.normalize_ports(["80", item])
    assert info.value.option == "ports[1]"
    assert message in str(info.value)


@pytest.mark.parametrize("value,expected", [(None, 0), (0, 0), (-1, 0), (100, 100)])
def test_pids_limit_unlimited_spellings(value, expected):
    assert cs.normalize_spec(dict(BASE, name="c1", pids_limit=value))["pids_limit"] == expected


@pytest.mark.parametrize("spec,option", [
    ({"pids_limit": -5}, "pids_limit"),
    ({"pids_limit": "many"}, "pids_limit"),
    ({"hostname": "web\n1"}, "hostname"),
    ({"hostname": "h" * 65}, "hostname"),
    ({"env": {"A=B": "1"}}, "env"),
    ({"env": {"": "1"}}, "env"),
    ({"secret_env": {"TOKEN=": "x"}}, "secret_env"),
    ({"stop_timeout": "abc"}, "stop_timeout"),
    ({"stop_timeout": -1}, "stop_timeout"),
    ({"restart_policy": "on-failure", "restart_retries": "x"}, "restart_retries"),
    ({"name": "/"}, "name"),
    ({"name": 12}, "name"),
])
def test_hostile_spec_values_name_the_option(spec, option):
    with pytest.raises(ValidationError) as info:
        cs.normalize_spec(dict(BASE, **dict({"name": "c1"}, **spec)))
    assert info.value.option == option and info.value.accepted
