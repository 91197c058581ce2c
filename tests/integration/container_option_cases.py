"""The option matrix's cases (data only; test_container_options.py runs them).

A case is one option walked through: create with ``create`` -> each spelling in ``same`` (merged over
``create``) is no change -> ``change`` (merged over ``create``) is predicted in check mode and done,
in place (same container) when ``in_place`` -> rerun is no change. ``engine`` reads the value from
``docker inspect`` data; ``expect`` is that value after the create and after the change.

``HYBRIDOPS_MATRIX_CASES`` (comma-separated ids or shell patterns like ``paused*``) runs only some cases;
``-k`` cannot: all cases run in one playbook per test function.

More case lists are picked up from ``container_option_cases_*.py`` beside this file (each a
``cases(ctx)`` function), so an option family adds its cases without editing this one.
"""

import os

BOX = "hybridops-test/box:1"
WEB = "hybridops-test/web:1"
# BOX again, its config saying arm64 (test_container_options.relabelled_image): another platform, same programs
BOX_ARM64 = "hybridops-test/box-arm64:1"
# HYBRIDOPS_MATRIX_PREFIX: the name prefix of a run's objects (two runs on one engine need two prefixes)
PREFIX = os.environ.get("HYBRIDOPS_MATRIX_PREFIX", "hybridops-")
MATRIX = PREFIX + "om-"
NET = MATRIX + "net"
NET6 = MATRIX + "net6"
# the IPv6 subnet of NET6: another one under another prefix (the engine refuses overlapping pools)
NET6_PREFIX = "fd00:231:6" if PREFIX == "hybridops-" else "fd00:231:%x" % (7 + sum(map(ord, PREFIX)) % 0xff0)
VOLUME = MATRIX + "vol"


def case(option, create, change, engine, expect, in_place, same=(), differences=None, diff_keys=None,
         image=BOX, stack=False, cid=None, action=None, remove=(), rerun_changed=False):
    """One matrix row; ``differences`` defaults to [option], ``diff_keys`` to ``differences``.

    Every spec gets ``stop_timeout: 1`` unless it sets one: BOX's ``sleep`` (PID 1) ignores SIGTERM, and
    each recreate would otherwise wait the engine's 10 s for it.
    """
    if "stop_timeout" not in create:
        create = dict(create, stop_timeout=1)
    differences = [option] if differences is None else differences
    return {
        "id": cid or option, "option": option, "image": image,
        "create": dict(create), "same": [dict(s) for s in same], "change": dict(change),
        "remove": list(remove),  # options dropped from the spec for the change
        "engine": engine, "expect": expect, "in_place": in_place,
        "differences": sorted(differences), "diff_keys": sorted(differences if diff_keys is None else diff_keys),
        "action": action or ("update" if in_place else "recreate"), "stack": stack,
        "rerun_changed": rerun_changed,
    }


def path(dotted):
    """Reader of one inspect field by dotted path (missing -> None)."""
    def read(inspect):
        value = inspect
        for part in dotted.split("."):
            value = (value or {}).get(part)
        return value
    read.__doc__ = dotted
    return read


def env_keys(*keys):
    def read(inspect):
        env = dict(item.partition("=")[::2] for item in inspect["Config"].get("Env") or [])
        return dict((k, env.get(k)) for k in keys)
    return read


def mounts(inspect):
    return sorted((m.get("Type"), m.get("Name") or m.get("Source"), m.get("Destination"), m.get("RW"))
                  for m in inspect.get("Mounts") or [])


def networks(inspect):
    return sorted((inspect.get("NetworkSettings") or {}).get("Networks") or {})


def network_aliases(net):
    def read(inspect):
        data = ((inspect.get("NetworkSettings") or {}).get("Networks") or {}).get(net) or {}
        return sorted(a for a in data.get("Aliases") or [] if a != inspect["Id"][:12])
    return read


def cases(ctx):
    """Cases of the options that existed before the option table (``stop_timeout: 1`` is in every create).

    ctx: bind_dir (an existing host directory), box_id (BOX's image ID), port (a free host port base; the
    module run and the stack run get different ones, their containers run side by side).
    """
    bind = ctx["bind_dir"]
    port = ctx["port"]
    return [
        case("image", {}, {"image": WEB}, path("Config.Image"), (BOX, WEB), False,
             same=[{"image": ctx["box_id"]}],
             differences=["image", "command", "healthcheck"], diff_keys=["image", "image_id", "command", "healthcheck"]),
        case("command", {"command": "sleep 10000"}, {"command": "sleep 20000"}, path("Config.Cmd"),
             (["sleep", "10000"], ["sleep", "20000"]), False,
             same=[{"command": ["sleep", "10000"]}, {"command": "sleep  '10000'"}], stack=True),
        case("entrypoint", {"entrypoint": ["sleep", "10000"]}, {"entrypoint": "sleep 10001"}, path("Config.Entrypoint"),
             (["sleep", "10000"], ["sleep", "10001"]), False, same=[{"entrypoint": "sleep 10000"}]),
        case("env", {"env": {"A": "1", "B": 2}}, {"env": {"A": "1", "B": "3"}}, env_keys("A", "B", "LANG"),
             ({"A": "1", "B": "2", "LANG": "C.UTF-8"}, {"A": "1", "B": "3", "LANG": "C.UTF-8"}), False,
             same=[{"env": {"A": "1", "B": "2"}}, {"env": {"A": 1, "B": "2", "LANG": "C.UTF-8"}}], stack=True),
        # a secret's diff shows the mask on both sides: the difference is listed, the value never shown; the
        # inspect data the module returns (read after the create) is masked, the engine's (after the change) is not
        case("secret_env", {"secret_env": {"TOKEN": "om-secret-one"}}, {"secret_env": {"TOKEN": "om-secret-two"}},
             env_keys("TOKEN"), ({"TOKEN": "********"}, {"TOKEN": "om-secret-two"}), False,
             differences=["env"], diff_keys=[]),
        case("labels", {"labels": {"a": "1"}}, {"labels": {"a": "2"}}, path("Config.Labels.a"), ("1", "2"), False,
             same=[{"labels": {"a": 1}}, {"labels": {"a": "1", "org.hybridops.test": "image-label"}}], stack=True),
        case("ports", {"ports": ["%d:80" % port]}, {"ports": ["%d:80" % (port + 1)]}, path("HostConfig.PortBindings"),
             ({"80/tcp": [{"HostIp": "", "HostPort": str(port)}]}, {"80/tcp": [{"HostIp": "", "HostPort": str(port + 1)}]}),
             False, same=[{"ports": ["0.0.0.0:%d:80/tcp" % port]}, {"ports": ["%d:80/tcp" % port, "%d:80" % port]}],
             stack=True),
        case("mounts", {"mounts": [{"type": "volume", "source": VOLUME, "target": "/data"}]},
             {"mounts": [{"source": VOLUME, "target": "/data2"}]}, mounts,
             ([("volume", VOLUME, "/data", True)], [("volume", VOLUME, "/data2", True)]), False,
             same=[{"mounts": [{"source": VOLUME, "target": "/data/"}]}, {"mounts": [], "volumes": [VOLUME + ":/data"]}]),
        case("volumes", {"volumes": [bind + ":/bound:ro"]}, {"volumes": [bind + ":/bound:rw"]}, mounts,
             ([("bind", bind, "/bound", False)], [("bind", bind, "/bound", True)]), False,
             same=[{"volumes": [bind + "/:/bound/:ro"]},
                   {"volumes": [], "mounts": [{"type": "bind", "source": bind, "target": "/bound", "read_only": True}]}],
             differences=["mounts"], stack=True),
        case("restart_policy", {"restart_policy": "always"}, {"restart_policy": "unless-stopped"},
             path("HostConfig.RestartPolicy.Name"), ("always", "unless-stopped"), True, stack=True),
        case("restart_retries", {"restart_policy": "on-failure", "restart_retries": 3}, {"restart_retries": 5},
             path("HostConfig.RestartPolicy.MaximumRetryCount"), (3, 5), True, same=[{"restart_retries": "3"}]),
        case("healthcheck", {"healthcheck": {"test": ["CMD", "true"], "interval": "1m30s"}},
             {"healthcheck": {"test": ["CMD", "true"], "interval": "2m"}}, path("Config.Healthcheck.Interval"),
             (90 * 10 ** 9, 120 * 10 ** 9), False,
             same=[{"healthcheck": {"test": ["true"], "interval": 90}},
                   {"healthcheck": {"test": ["CMD", "true"], "interval": "90s"}}], stack=True),
        case("user", {"user": "nobody"}, {"user": "65534:65534"}, path("Config.User"), ("nobody", "65534:65534"),
             False),
        case("working_dir", {"working_dir": "/tmp"}, {"working_dir": "/data"}, path("Config.WorkingDir"),
             ("/tmp", "/data"), False, same=[{"working_dir": "/tmp/"}, {"working_dir": "//tmp/."}]),
        case("hostname", {"hostname": "om-h1"}, {"hostname": "om-h2"}, path("Config.Hostname"),
             ("om-h1", "om-h2"), False),
        case("memory", {"memory": "512m"}, {"memory": "256m"}, path("HostConfig.Memory"),
             (512 * 2 ** 20, 256 * 2 ** 20), True,
             same=[{"memory": "512MiB"}, {"memory": 536870912}, {"memory": "512MB"}], stack=True),
        case("cpus", {"cpus": 0.5}, {"cpus": 1}, path("HostConfig.NanoCpus"), (5 * 10 ** 8, 10 ** 9), True,
             same=[{"cpus": "0.50"}]),
        case("pids_limit", {"pids_limit": 100}, {"pids_limit": 200}, path("HostConfig.PidsLimit"), (100, 200), True,
             same=[{"pids_limit": "100"}]),
        case("networks", {"networks": [{"name": NET, "aliases": ["a1"]}]}, {"networks": [{"name": NET, "aliases": ["a2"]}]},
             network_aliases(NET), (["a1"], ["a2"]), True,
             same=[{"networks": [{"name": NET, "aliases": ["a1", "a1"]}]}], stack=True),
        case("log_driver", {"log_driver": "json-file"}, {"log_driver": "none"}, path("HostConfig.LogConfig.Type"),
             ("json-file", "none"), False, same=[{"log_options": {}}]),
        case("log_options", {"log_driver": "json-file", "log_options": {"max-file": "5"}}, {"log_options": {"max-file": "2"}},
             path("HostConfig.LogConfig.Config"), ({"max-file": "5", "max-size": "10m"}, {"max-file": "2", "max-size": "10m"}),
             False, same=[{"log_options": {"max-file": 5}}, {"log_options": {"max-file": "5", "max-size": "10m"}}],
             stack=True),
        case("stop_timeout", {"stop_timeout": 5}, {"stop_timeout": 7}, path("Config.StopTimeout"), (5, 7), False,
             same=[{"stop_timeout": "5"}]),
        # options of the run, never compared: other values are no change; recreate=always recreates
        case("recreate", {}, {"recreate": "always"}, path("Config.Image"), (BOX, BOX), False,
             same=[{"recreate": "never"}, {"pull": "never"}, {"wait_timeout": 5}, {"keep_volumes": True}],
             differences=[], rerun_changed=True),
        case("state", {"state": "present"}, {"state": "started"}, path("State.Running"), (False, True), True,
             same=[{"state": "present", "recreate": "never"}], differences=[], diff_keys=["running"],
             action="none"),
    ]
