"""Option matrix cases of paused, platform, links, device_cgroup_rules, mount volume/tmpfs options and force_kill.

Data only: test_container_options.py picks this file up (``cases(ctx)``). ctx adds ``target`` (a running
container on the default bridge, the links' target) and ``box_arm64_id`` (BOX_ARM64's image ID).
"""

from container_option_cases import BOX, BOX_ARM64, case, path


def link_aliases(inspect):
    # the engine stores /TARGET:/CONTAINER/ALIAS, and the container's name changes during a recreate
    return sorted(item.rsplit("/", 1)[-1] for item in inspect["HostConfig"].get("Links") or [])


def mount_option(key):
    def read(inspect):
        return [m.get(key) for m in sorted(inspect["HostConfig"].get("Mounts") or [], key=lambda m: m["Target"])]
    return read


def volume_labels(inspect):
    return [(m.get("VolumeOptions") or {}).get("Labels") for m in inspect["HostConfig"].get("Mounts") or []]


def running_and_exit(inspect):
    return (inspect["State"]["Running"], inspect["State"]["ExitCode"])


def cases(ctx):
    target = ctx["target"]
    anonymous = {"type": "volume", "target": "/vo", "labels": {"a": "1"}, "volume_driver": "local",
                 "volume_options": {"type": "tmpfs", "device": "tmpfs"}}
    tmpfs = {"type": "tmpfs", "target": "/tm", "tmpfs_size": "1m", "tmpfs_mode": "1770"}
    return [
        # paused: pause/unpause in place, both ways
        case("paused", {"paused": True}, {"paused": False}, path("State.Paused"), (True, False), True,
             same=[{"paused": "yes"}], stack=True),
        case("paused", {}, {"paused": True}, path("State.Paused"), (False, True), True,
             same=[{"paused": False}], cid="paused_on"),
        # platform: spellings of the image's platform are no change; another platform needs its image
        case("platform", {"platform": "linux/amd64"}, {"platform": "linux/arm64", "image": BOX_ARM64},
             path("Config.Image"), (BOX, BOX_ARM64), False,
             same=[{"platform": "linux/x86_64"}, {"platform": "Linux/AMD64/v1"}, {"platform": "linux"}, {}],
             differences=["image", "platform"], diff_keys=["image", "image_id", "platform"]),
        case("links", {"links": [target + ":db"]}, {"links": [target]}, link_aliases, (["db"], [target]), False,
             same=[{"links": [target + ":db", "/" + target + ":db"]}]),
        case("device_cgroup_rules", {"device_cgroup_rules": ["c 1:3 mr"]}, {"device_cgroup_rules": ["c 1:5 r"]},
             path("HostConfig.DeviceCgroupRules"), (["c 1:3 rm"], ["c 1:5 r"]), False,
             same=[{"device_cgroup_rules": ["c  1:3 rm", "c 1:3 mr"]}], stack=True),
        case("mounts", {"mounts": [anonymous]}, {"mounts": [dict(anonymous, labels={"a": "2"})]}, volume_labels,
             ([{"a": "1"}], [{"a": "2"}]), False, same=[{"mounts": [dict(anonymous, labels={"a": 1})]}],
             cid="mounts_volume_options", stack=True),
        case("mounts", {"mounts": [tmpfs]}, {"mounts": [dict(tmpfs, tmpfs_mode="1777")]}, mount_option("TmpfsOptions"),
             ([{"SizeBytes": 1048576, "Mode": 0o1770}], [{"SizeBytes": 1048576, "Mode": 0o1777}]), False,
             same=[{"mounts": [dict(tmpfs, tmpfs_size="1024k", tmpfs_mode="0o1770")]}], cid="mounts_tmpfs_options",
             stack=True),
        # force_kill: state=stopped kills the container (its diff is the running state only)
        case("force_kill", {}, {"state": "stopped", "force_kill": True, "kill_signal": "KILL"}, running_and_exit,
             ((True, 0), (False, 137)), True, differences=[], diff_keys=["running"], action="none"),
    ]
