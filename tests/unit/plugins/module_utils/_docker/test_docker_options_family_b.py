"""Family B rows (networking, storage/env, lifecycle): normalize, read back, compare, bodies, validation."""
import copy

import pytest
from option_rows import Rows

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import lifecycle, storage

ROWS = Rows("hybridops-test/b:1")
IMAGE = ROWS.image
BASE = ROWS.base
desired = ROWS.desired
container = ROWS.container
diffs = ROWS.diffs

body = ROWS.body


# option, value, where in the create body, value there
ROUND_TRIPS = [
    ("dns_servers", ["10.0.0.53", "fd00:0::53"], ("HostConfig", "Dns"), ["10.0.0.53", "fd00::53"]),
    ("dns_search_domains", ["b.internal", "a.internal"], ("HostConfig", "DnsSearch"), ["b.internal", "a.internal"]),
    ("dns_opts", ["ndots:2"], ("HostConfig", "DnsOptions"), ["ndots:2"]),
    ("etc_hosts", {"db.internal": "10.0.0.5"}, ("HostConfig", "ExtraHosts"), ["db.internal:10.0.0.5"]),
    ("publish_all_ports", True, ("HostConfig", "PublishAllPorts"), True),
    ("mac_address", "02-42-0A-E8-00-AA", ("MacAddress",), "02:42:0a:e8:00:aa"),
    ("domainname", "example.internal", ("Domainname",), "example.internal"),
    ("network_mode", "host", ("HostConfig", "NetworkMode"), "host"),
    ("volumes_from", ["data:rw", "logs:ro"], ("HostConfig", "VolumesFrom"), ["data", "logs:ro"]),
    ("stop_signal", "usr1", ("StopSignal",), "SIGUSR1"),
    ("tty", True, ("Tty",), True),
    ("interactive", True, ("OpenStdin",), True),
    ("auto_remove", True, ("HostConfig", "AutoRemove"), True),
]


def dig(data, keys):
    for key in keys:
        data = data[key]
    return data


@pytest.mark.parametrize("option,value,where,api_value", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_round_trip_no_drift_and_body(option, value, where, api_value):
    assert dig(body(**{option: value}), where) == api_value
    inspect = container(**{option: value})
    assert diffs(inspect, **{option: value}) == {}


@pytest.mark.parametrize("option,value,where,api_value", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_removed_from_the_spec_is_a_recreate_unless_engine_assigned(option, value, where, api_value):
    inspect = container(**{option: value})
    found = diffs(inspect)
    if option in ("mac_address", "network_mode"):
        # the engine assigns a MAC address and picks the network mode: not compared when omitted
        assert option not in found
    else:
        assert found[option].update == cs.RECREATE


def test_engine_defaults_are_no_drift():
    inspect = container()
    inspect["HostConfig"].update({"Dns": [], "DnsSearch": None, "DnsOptions": [], "ExtraHosts": None,
                                  "NetworkMode": "default", "VolumesFrom": None})
    inspect["Config"]["MacAddress"] = "02:42:ac:11:00:02"
    assert diffs(inspect) == {}


def test_stop_signal_spellings_and_image_default():
    assert [lifecycle.signal_name(v, "s") for v in ("KILL", "sigkill", 9, "9", "SIGRTMIN+3")] == [
        "SIGKILL", "SIGKILL", "SIGKILL", "SIGKILL", "SIGRTMIN+3"]
    with pytest.raises(ValidationError) as err:
        desired(stop_signal="SIGNOPE")
    assert err.value.option == "stop_signal"
    image = copy.deepcopy(IMAGE)
    image["Config"]["StopSignal"] = "SIGQUIT"
    inspect = container()
    inspect["Config"]["StopSignal"] = "SIGQUIT"
    assert cs.compare(desired(), image, inspect) == []
    assert [d.option for d in cs.compare(desired(stop_signal="QUIT"), image, inspect)] == []


def test_exposed_ports_fold_in_image_and_published_ports():
    spec = {"exposed_ports": ["9000", "53/udp", "9000/tcp"], "ports": ["8081:81"]}
    made = body(**spec)
    assert sorted(made["ExposedPorts"]) == ["53/udp", "81/tcp", "9000/tcp"]
    inspect = container(**spec)
    inspect["Config"]["ExposedPorts"] = dict((k, {}) for k in ("53/udp", "81/tcp", "9000/tcp", "8080/tcp"))
    image = copy.deepcopy(IMAGE)
    image["Config"]["ExposedPorts"] = {"8080/tcp": {}}
    assert cs.compare(desired(**spec), image, inspect) == []
    changed = cs.compare(desired(exposed_ports=["9001"], ports=["8081:81"]), image, inspect)
    assert [(d.option, d.update) for d in changed] == [("exposed_ports", cs.RECREATE)]
    assert changed[0].after == ["9001/tcp"]
    with pytest.raises(ValidationError) as err:
        desired(exposed_ports=["80/icmp"])
    assert err.value.option == "exposed_ports[0]"


def test_network_mode_rules():
    with pytest.raises(ValidationError) as err:
        desired(network_mode="host", networks=["appnet"])
    assert err.value.option == "network_mode"
    with pytest.raises(ValidationError):
        desired(network_mode="appnet", networks=["other"])
    with pytest.raises(ValidationError) as err:
        desired(network_mode="container:db", ports=["80"])
    assert err.value.option == "ports"
    assert desired(network_mode="default")["network_mode"] == "bridge"
    # container:NAME is compared with the ID the manager found for NAME
    d = desired(network_mode="container:db")
    d["network_mode_id"] = "f" * 64
    made = cs.create_body(d)
    assert made["HostConfig"]["NetworkMode"] == "container:" + "f" * 64 and "NetworkingConfig" not in made
    inspect = container()
    inspect["HostConfig"]["NetworkMode"] = "container:" + "f" * 64
    assert cs.compare(d, IMAGE, inspect) == []
    d["network_mode_id"] = "e" * 64
    found = cs.compare(d, IMAGE, inspect)
    assert [x.option for x in found] == ["network_mode"] and found[0].after == "container:db"


def test_networks_ipv6_address():
    nets = [{"name": "v6net", "ipv6_address": "fd00:0:0::10"}]
    made = body(networks=nets)
    assert made["NetworkingConfig"]["EndpointsConfig"]["v6net"]["IPAMConfig"] == {"IPv6Address": "fd00::10"}
    inspect = container(networks=nets)
    inspect["NetworkSettings"]["Networks"] = {"v6net": {"Aliases": ["abc"], "IPAMConfig": {"IPv6Address": "fd00::10"}}}
    assert diffs(inspect, networks=nets) == {}
    moved = diffs(inspect, networks=[{"name": "v6net", "ipv6_address": "fd00::11"}])
    assert moved["networks"].update == cs.NETWORK
    with pytest.raises(ValidationError):
        desired(networks=[{"name": "v6net", "ipv6_address": "10.0.0.1"}])


@pytest.mark.parametrize("text,mount", [
    ("/data", {"type": "volume", "source": "", "target": "/data", "read_only": False}),
    ("/srv/x/:/x/:ro,rslave", {"type": "bind", "source": "/srv/x", "target": "/x", "read_only": True,
                               "propagation": "rslave"}),
    ("/srv/x:/x:rprivate", {"type": "bind", "source": "/srv/x", "target": "/x", "read_only": False}),
    ("/srv/x:/x:Z", {"type": "bind", "source": "/srv/x", "target": "/x", "read_only": False, "selinux": "Z"}),
    ("cache:/c:nocopy,delegated", {"type": "volume", "source": "cache", "target": "/c", "read_only": False,
                                   "no_copy": True}),
])
def test_volume_strings(text, mount):
    assert storage.parse_volume(text) == mount


@pytest.mark.parametrize("text", ["/a:/b:ro,rw", "/a:/b:bogus", "/a:/b:z,Z", "a:/b:rslave", "/a:/b:c:d", "relative"])
def test_bad_volume_strings_name_the_item(text):
    with pytest.raises(ValidationError) as err:
        desired(volumes=["/ok:/ok", text])
    assert err.value.option == "volumes[1]"


def test_mount_bodies_and_read_back():
    spec = {"volumes": ["/data", "/srv/x:/z:z", "cache:/c:nocopy"],
            "mounts": [{"type": "bind", "source": "/srv/p", "target": "/p", "propagation": "private"}]}
    made = body(**spec)["HostConfig"]
    assert made["Binds"] == ["/srv/x:/z:rw,z"]
    by_target = dict((m["Target"], m) for m in made["Mounts"])
    assert by_target["/data"] == {"Type": "volume", "Target": "/data", "ReadOnly": False}
    assert by_target["/p"]["BindOptions"] == {"Propagation": "private"}
    assert by_target["/c"]["VolumeOptions"] == {"NoCopy": True}
    inspect = container(**spec)
    inspect["HostConfig"].update(made)
    assert diffs(inspect, **spec) == {}
    assert diffs(inspect, volumes=["/data", "/srv/x:/z:Z", "cache:/c:nocopy"], mounts=spec["mounts"])["mounts"].update == cs.RECREATE


def test_env_file(tmp_path):
    path = tmp_path / "app.env"
    path.write_text("# comment\n\nA=1\nB=two words\nC=\"quoted\"\n")
    d = desired(env_file=str(path), env={"A": "override"})
    assert d["env"] == {"A": "override", "B": "two words", "C": '"quoted"'}
    with pytest.raises(ValidationError) as err:
        desired(env_file=str(tmp_path / "missing.env"))
    assert err.value.option == "env_file"
    path.write_text("NOEQUALS\n")
    with pytest.raises(ValidationError) as err:
        desired(env_file=str(path))
    assert "line 1" in err.value.msg


def test_volumes_from_and_etc_hosts_validation():
    with pytest.raises(ValidationError) as err:
        desired(volumes_from=["data:rx"])
    assert err.value.option == "volumes_from[0]"
    with pytest.raises(ValidationError):
        desired(etc_hosts={"db": "not-an-ip"})
    with pytest.raises(ValidationError) as err:
        desired(dns_servers=["8.8.8"])
    assert err.value.option == "dns_servers[0]"
