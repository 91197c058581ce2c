"""Option matrix cases of the networking, storage/env and lifecycle options (family B).

Data only: test_container_options.py picks this file up (``cases(ctx)``). ctx adds ``target`` and
``target_id`` (a running container other cases point at: network_mode container:NAME, volumes_from)
and ``env_files`` (two KEY=VALUE files on the host).
"""

from container_option_cases import NET, NET6, NET6_PREFIX, VOLUME, case, env_keys, path


def mount_modes(inspect):
    return sorted((m.get("Type"), m.get("Destination"), m.get("Propagation") or "") for m in inspect.get("Mounts") or [])


def sorted_keys(dotted):
    read = path(dotted)

    def reader(inspect):
        return sorted(read(inspect) or {})
    return reader


def cases(ctx):
    bind = ctx["bind_dir"]
    port = ctx["port"] + 10
    target = ctx["target"]
    first_env, second_env = ctx["env_files"]
    return [
        # networking
        case("network_mode", {"network_mode": "host"}, {"network_mode": "none"}, path("HostConfig.NetworkMode"),
             ("host", "none"), False, same=[{"networks": ["host"]}], cid="network_mode_host"),
        case("network_mode", {"network_mode": NET}, {"network_mode": "bridge"}, path("HostConfig.NetworkMode"),
             (NET, "bridge"), False, same=[{"networks": [NET]}, {"networks": [{"name": NET}]}],
             cid="network_mode_network", stack=True),
        case("network_mode", {"network_mode": "container:" + target}, {"network_mode": "default"},
             path("HostConfig.NetworkMode"), ("container:" + ctx["target_id"], "bridge"), False,
             cid="network_mode_container"),
        case("dns_servers", {"dns_servers": ["10.0.0.53", "fd00::53"]}, {"dns_servers": ["10.0.0.54"]},
             path("HostConfig.Dns"), (["10.0.0.53", "fd00::53"], ["10.0.0.54"]), False,
             same=[{"dns_servers": ["10.0.0.53", "fd00:0::53"]}], stack=True),
        case("dns_search_domains", {"dns_search_domains": ["example.internal"]},
             {"dns_search_domains": ["other.internal"]}, path("HostConfig.DnsSearch"),
             (["example.internal"], ["other.internal"]), False),
        case("dns_opts", {"dns_opts": ["ndots:2"]}, {"dns_opts": ["ndots:3"]}, path("HostConfig.DnsOptions"),
             (["ndots:2"], ["ndots:3"]), False),
        case("etc_hosts", {"etc_hosts": {"db.internal": "10.0.0.5"}}, {"etc_hosts": {"db.internal": "10.0.0.6"}},
             path("HostConfig.ExtraHosts"), (["db.internal:10.0.0.5"], ["db.internal:10.0.0.6"]), False,
             same=[{"etc_hosts": {"db.internal": " 10.0.0.5"}}], stack=True),
        case("exposed_ports", {"exposed_ports": ["9000", "53/udp"]}, {"exposed_ports": ["9001"]},
             sorted_keys("Config.ExposedPorts"), (["53/udp", "8080/tcp", "9000/tcp"], ["8080/tcp", "9001/tcp"]), False,
             same=[{"exposed_ports": [9000, "53/udp", "9000/tcp"]}, {"exposed_ports": ["9000", "53/udp", "8080"]}],
             stack=True),
        case("publish_all_ports", {"publish_all_ports": True}, {"publish_all_ports": False},
             path("HostConfig.PublishAllPorts"), (True, False), False, same=[{"publish_all_ports": "yes"}]),
        case("mac_address", {"mac_address": "02:42:0a:e8:00:aa"}, {"mac_address": "02:42:0a:e8:00:ab"},
             path("Config.MacAddress"), ("02:42:0a:e8:00:aa", "02:42:0a:e8:00:ab"), False,
             same=[{"mac_address": "02-42-0A-E8-00-AA"}]),
        case("domainname", {"domainname": "example.internal"}, {"domainname": "other.internal"},
             path("Config.Domainname"), ("example.internal", "other.internal"), False),
        case("networks", {"networks": [{"name": NET6, "ipv6_address": NET6_PREFIX + "::10"}]},
             {"networks": [{"name": NET6, "ipv6_address": NET6_PREFIX + "::11"}]},
             path("NetworkSettings.Networks.%s.IPAMConfig.IPv6Address" % NET6), (NET6_PREFIX + "::10", NET6_PREFIX + "::11"),
             True, same=[{"networks": [{"name": NET6, "ipv6_address": NET6_PREFIX + ":0::10"}]}], cid="networks_ipv6"),
        case("ports", {"ports": ["%d-%d:80-81" % (port, port + 1)]}, {"ports": ["%d-%d:80-81" % (port + 2, port + 3)]},
             path("HostConfig.PortBindings"),
             ({"80/tcp": [{"HostIp": "", "HostPort": str(port)}], "81/tcp": [{"HostIp": "", "HostPort": str(port + 1)}]},
              {"80/tcp": [{"HostIp": "", "HostPort": str(port + 2)}], "81/tcp": [{"HostIp": "", "HostPort": str(port + 3)}]}),
             False, same=[{"ports": ["%d:80" % port, "0.0.0.0:%d:81/tcp" % (port + 1)]}], cid="ports_range", stack=True),
        # storage and environment
        case("volumes", {"volumes": ["/data"]}, {"volumes": ["/data2"]}, mount_modes,
             ([("volume", "/data", "")], [("volume", "/data2", "")]), False,
             same=[{"volumes": ["/data/"]}, {"volumes": [], "mounts": [{"target": "/data"}]}],
             differences=["mounts"], cid="volumes_anonymous", stack=True),
        case("volumes_from", {"volumes_from": [target]}, {"volumes_from": [target + ":ro"]},
             path("HostConfig.VolumesFrom"), ([target], [target + ":ro"]), False,
             same=[{"volumes_from": [target + ":rw"]}], stack=True),
        case("mounts", {"mounts": [{"type": "bind", "source": bind, "target": "/p", "propagation": "private"}]},
             {"mounts": [{"type": "bind", "source": bind, "target": "/p", "propagation": "rprivate"}]}, mount_modes,
             ([("bind", "/p", "private")], [("bind", "/p", "rprivate")]), False,
             same=[{"mounts": [], "volumes": [bind + ":/p:private"]}], cid="mounts_propagation"),
        case("volumes", {"volumes": [bind + ":/z:z"]}, {"volumes": [bind + ":/z:Z"]}, path("HostConfig.Binds"),
             ([bind + ":/z:rw,z"], [bind + ":/z:rw,Z"]), False,
             same=[{"volumes": [bind + "/:/z:rw,z"]},
                   {"volumes": [], "mounts": [{"type": "bind", "source": bind, "target": "/z", "selinux": "z"}]}],
             differences=["mounts"], cid="volumes_selinux"),
        case("volumes", {"volumes": [VOLUME + ":/nc:nocopy"]}, {"volumes": [VOLUME + ":/nc"]},
             lambda i: [bool((m.get("VolumeOptions") or {}).get("NoCopy")) for m in i["HostConfig"].get("Mounts") or []],
             ([True], [False]), False, same=[{"volumes": [], "mounts": [{"source": VOLUME, "target": "/nc", "no_copy": True}]}],
             differences=["mounts"], cid="volumes_nocopy"),
        case("env_file", {"env_file": first_env}, {"env_file": second_env}, env_keys("FROMFILE", "KEEP"),
             ({"FROMFILE": "1", "KEEP": "x"}, {"FROMFILE": "2", "KEEP": "x"}), False,
             same=[{"env": {"FROMFILE": "1"}}, {"env_file": None, "env": {"FROMFILE": "1", "KEEP": "x"}}],
             differences=["env"], stack=True),
        # lifecycle
        case("stop_signal", {"stop_signal": "SIGUSR1"}, {"stop_signal": "SIGKILL"}, path("Config.StopSignal"),
             ("SIGUSR1", "SIGKILL"), False, same=[{"stop_signal": "USR1"}, {"stop_signal": 10}, {"stop_signal": "usr1"}],
             stack=True),
        case("tty", {"tty": True}, {"tty": False}, path("Config.Tty"), (True, False), False, same=[{"tty": "yes"}],
             stack=True),
        case("interactive", {"interactive": True}, {"interactive": False}, path("Config.OpenStdin"), (True, False),
             False),
        case("auto_remove", {"auto_remove": True}, {"auto_remove": False}, path("HostConfig.AutoRemove"),
             (True, False), False),
        # restart: true restarts a container that needs no change, every time (so the rerun changes too)
        case("restart", {}, {"restart": True}, path("State.Running"), (True, True), True,
             same=[{"restart": False}], differences=[], diff_keys=["restarted"], action="none", rerun_changed=True),
        # only a name: the existing container is stopped, nothing else compared
        case("state", {}, {"state": "stopped", "command": "ignored without an image"}, path("State.Running"),
             (True, False), True, remove=["image"], differences=[], diff_keys=["running"], action="none",
             cid="state_by_name"),
    ]
