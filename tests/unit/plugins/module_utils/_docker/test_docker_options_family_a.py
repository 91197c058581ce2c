"""Family A rows (security/runtime, resources): normalize, read back, compare, bodies, comparisons."""
import pytest
from docker_fake_engine import make_image
from option_rows import Rows

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker import container_spec as cs
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import resources, security, table

ROWS = Rows("hybridops-test/a:1")
IMAGE = ROWS.image
BASE = ROWS.base
MIB = 1024 * 1024
desired = ROWS.desired
container = ROWS.container
diffs = ROWS.diffs


def hc_of(**spec):
    return cs.create_body(desired(**spec))["HostConfig"]


# ---------------------------------------------------------------- a round trip per option: no drift, and the body

ROUND_TRIPS = [
    # option, value, HostConfig key, value in the create body
    ("privileged", True, "Privileged", True),
    ("capabilities", ["net_admin", "SYS_TIME"], "CapAdd", ["CAP_NET_ADMIN", "CAP_SYS_TIME"]),
    ("cap_drop", ["ALL"], "CapDrop", ["ALL"]),
    ("security_opts", ["no-new-privileges", "seccomp:unconfined"], "SecurityOpt", ["no-new-privileges", "seccomp=unconfined"]),
    ("read_only", True, "ReadonlyRootfs", True),
    ("init", True, "Init", True),
    ("ulimits", ["nofile:1024:2048", "nproc:512"], "Ulimits",
     [{"Name": "nofile", "Soft": 1024, "Hard": 2048}, {"Name": "nproc", "Soft": 512, "Hard": 512}]),
    ("sysctls", {"net.ipv4.ip_forward": 1}, "Sysctls", {"net.ipv4.ip_forward": "1"}),
    ("devices", ["/dev/fuse"], "Devices", [{"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"}]),
    ("device_requests", [{"driver": "nvidia", "count": -1, "capabilities": [["gpu"]]}], "DeviceRequests",
     [{"Driver": "nvidia", "Count": -1, "DeviceIDs": None, "Capabilities": [["gpu"]], "Options": None}]),
    ("shm_size", "128m", "ShmSize", 128 * MIB),
    ("tmpfs", ["/run:size=64m,mode=1777"], "Tmpfs", {"/run": "mode=1777,size=67108864"}),
    ("runtime", "runc", "Runtime", "runc"),
    ("groups", ["audio", "1000"], "GroupAdd", ["1000", "audio"]),
    ("userns_mode", "host", "UsernsMode", "host"),
    ("ipc_mode", "host", "IpcMode", "host"),
    ("pid_mode", "host", "PidMode", "host"),
    ("uts_mode", "host", "UTSMode", "host"),
    ("cgroupns_mode", "private", "CgroupnsMode", "private"),
    ("cgroup_parent", "/hybridops", "CgroupParent", "/hybridops"),
    ("oom_killer", False, "OomKillDisable", True),
    ("oom_score_adj", 500, "OomScoreAdj", 500),
    ("memory_reservation", "32MB", "MemoryReservation", 32 * MIB),
    ("memory_swappiness", 10, "MemorySwappiness", 10),
    ("cpu_shares", 512, "CpuShares", 512),
    ("cpu_period", 50000, "CpuPeriod", 50000),
    ("cpu_quota", 25000, "CpuQuota", 25000),
    ("cpuset_cpus", "0,1", "CpusetCpus", "0-1"),
    ("cpuset_mems", "0", "CpusetMems", "0"),
    ("blkio_weight", 300, "BlkioWeight", 300),
    ("device_read_bps", [{"path": "/dev/sda", "rate": "10m"}], "BlkioDeviceReadBps", [{"Path": "/dev/sda", "Rate": 10 * MIB}]),
    ("device_write_bps", [{"path": "/dev/sda", "rate": "1k"}], "BlkioDeviceWriteBps", [{"Path": "/dev/sda", "Rate": 1024}]),
    ("device_read_iops", [{"path": "/dev/sda", "rate": 100}], "BlkioDeviceReadIOps", [{"Path": "/dev/sda", "Rate": 100}]),
    ("device_write_iops", [{"path": "/dev/sda", "rate": "50"}], "BlkioDeviceWriteIOps", [{"Path": "/dev/sda", "Rate": 50}]),
    ("storage_opts", {"size": "10G"}, "StorageOpt", {"size": "10G"}),
]


@pytest.mark.parametrize("option,value,key,body", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_option_goes_into_the_create_body_and_reads_back_without_drift(option, value, key, body):
    assert hc_of(**{option: value})[key] == body
    inspect = container(**{option: value})
    assert diffs(inspect, **{option: value}) == {}
    # the diff of the unchanged container shows identical before and after
    d = desired(**{option: value})
    assert cs.spec_view(d, IMAGE, inspect) == dict(cs.spec_view(d, IMAGE), image_id=IMAGE["Id"])


@pytest.mark.parametrize("option,value,key,body", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_option_removed_from_the_spec_returns_to_the_default(option, value, key, body):
    inspect = container(**{option: value})
    found = diffs(inspect)
    if option in ("runtime", "cgroupns_mode"):
        # the daemon's own default is not known: not compared when omitted (documented)
        assert found == {}
    else:
        assert list(found) == [option]


def test_omitted_options_create_a_body_without_them():
    assert hc_of() == {"RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}}


# ---------------------------------------------------------------- equivalent spellings are no-ops

@pytest.mark.parametrize("option,first,same", [
    ("capabilities", ["NET_ADMIN"], ["cap_net_admin"]),
    ("capabilities", ["NET_ADMIN", "SYS_TIME"], ["SYS_TIME", "NET_ADMIN", "NET_ADMIN"]),
    ("security_opts", ["seccomp=unconfined"], ["seccomp:unconfined"]),
    ("devices", ["/dev/fuse"], ["/dev/fuse:/dev/fuse:rwm"]),
    ("devices", ["/dev/fuse:mr"], ["/dev/fuse:/dev/fuse:rm"]),
    ("tmpfs", ["/run:size=64m"], ["/run/:size=65536k"]),
    ("tmpfs", ["/run:size=1g,mode=1777"], ["/run:mode=01777,size=1024MB"]),
    ("shm_size", "64m", None),
    ("shm_size", "1g", "1024MB"),
    ("memory_reservation", "1GB", "1g"),
    ("cpuset_cpus", "0-2", "0,1,2"),
    ("ulimits", ["nofile:1024"], ["nofile:1024:1024"]),
    ("ipc_mode", "private", None),
    ("oom_killer", True, None),
    ("privileged", False, None),
    ("oom_score_adj", 0, None),
])
def test_equivalent_spelling_is_not_a_difference(option, first, same):
    inspect = container(**{option: first})
    spec = {option: same} if same is not None else {}
    assert diffs(inspect, **spec) == {}


# ---------------------------------------------------------------- in place or recreate

@pytest.mark.parametrize("option,before,after,update_key,update_value", [
    ("memory_reservation", "32m", "48m", "MemoryReservation", 48 * MIB),
    ("cpu_shares", 512, 1024, "CpuShares", 1024),
    ("cpu_period", 50000, 100000, "CpuPeriod", 100000),
    ("cpu_quota", 25000, 50000, "CpuQuota", 50000),
    ("cpuset_cpus", "0", "0-1", "CpusetCpus", "0-1"),
    ("cpuset_mems", "0", "0", None, None),
    ("blkio_weight", 300, 500, "BlkioWeight", 500),
])
def test_resource_limits_change_in_place(option, before, after, update_key, update_value):
    inspect = container(**{option: before})
    found = diffs(inspect, **{option: after})
    if update_key is None:
        assert found == {}
        return
    assert list(found) == [option] and found[option].update == cs.IN_PLACE
    assert cs.update_body(desired(**{option: after}), list(found.values())) == {update_key: update_value}


@pytest.mark.parametrize("option,value", [
    ("memory_reservation", "32m"), ("cpu_shares", 512), ("cpuset_cpus", "0"), ("blkio_weight", 300)])
def test_lifting_a_resource_limit_recreates(option, value):
    # the update endpoint reads 0 as "unchanged"
    found = diffs(container(**{option: value}))
    assert found[option].update == cs.RECREATE


@pytest.mark.parametrize("option,before,after", [
    ("privileged", True, False), ("capabilities", ["NET_ADMIN"], ["SYS_TIME"]), ("shm_size", "64m", "128m"),
    ("tmpfs", ["/run"], ["/run:size=1m"]), ("ulimits", ["nofile:1024"], ["nofile:2048"]), ("ipc_mode", "host", "private"),
    ("memory_swappiness", 10, 20), ("device_read_bps", [{"path": "/dev/sda", "rate": "1m"}], [{"path": "/dev/sda", "rate": "2m"}]),
])
def test_other_options_recreate(option, before, after):
    found = diffs(container(**{option: before}), **{option: after})
    assert list(found) == [option] and found[option].update == cs.RECREATE


def test_memory_swap_defaults_to_twice_memory_and_changes_in_place():
    inspect = container(memory="64m")
    assert inspect["HostConfig"]["MemorySwap"] == 128 * MIB
    assert diffs(inspect, memory="64m") == {}
    assert diffs(inspect, memory="64m", memory_swap="128m") == {}
    found = diffs(inspect, memory="64m", memory_swap="-1")
    assert list(found) == ["memory_swap"] and found["memory_swap"].update == cs.IN_PLACE
    assert found["memory_swap"].after == "unlimited"
    body = cs.update_body(desired(memory="64m", memory_swap=-1), list(found.values()))
    assert body == {"Memory": 64 * MIB, "MemorySwap": -1}


def test_memory_change_keeps_a_declared_swap_limit():
    inspect = container(memory="64m", memory_swap="256m")
    found = diffs(inspect, memory="128m", memory_swap="256m")
    assert list(found) == ["memory"]
    assert cs.update_body(desired(memory="128m", memory_swap="256m"), list(found.values())) == {
        "Memory": 128 * MIB, "MemorySwap": 256 * MIB}


def test_removing_memory_swap_returns_to_twice_memory_in_place():
    inspect = container(memory="64m", memory_swap="-1")
    found = diffs(inspect, memory="64m")
    assert list(found) == ["memory_swap"] and found["memory_swap"].update == cs.IN_PLACE
    assert cs.update_body(desired(memory="64m"), list(found.values())) == {"Memory": 64 * MIB, "MemorySwap": 128 * MIB}


def test_daemon_ipc_default_shareable_is_not_drift():
    inspect = container()
    inspect["HostConfig"]["IpcMode"] = "shareable"      # default-ipc-mode: shareable
    assert diffs(inspect) == {}
    assert list(diffs(inspect, ipc_mode="private")) == ["ipc_mode"]


def test_engine_defaults_of_a_plain_container_are_not_drift():
    # what dockerd 20.10 reports for `docker create IMAGE` (lab measurement)
    inspect = container()
    inspect["HostConfig"].update({
        "CapAdd": None, "CapDrop": None, "CgroupnsMode": "host", "GroupAdd": None, "IpcMode": "private",
        "OomScoreAdj": 0, "PidMode": "", "Privileged": False, "ReadonlyRootfs": False, "SecurityOpt": None,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc", "CpuShares": 0, "CgroupParent": "",
        "BlkioWeight": 0, "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [], "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
        "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": None,
        "OomKillDisable": False, "PidsLimit": None, "Ulimits": [], "Init": None})
    assert diffs(inspect) == {}


# ---------------------------------------------------------------- validation names the option

@pytest.mark.parametrize("spec,option,accepted", [
    ({"memory_swap": "64m"}, "memory_swap", "together with memory"),
    ({"memory": "64m", "memory_swap": "32m"}, "memory_swap", ">= memory"),
    ({"memory": "64m", "memory_reservation": "128m"}, "memory_reservation", "smaller than memory"),
    ({"memory_swap": "lots"}, "memory_swap", "-1 for unlimited"),
    ({"shm_size": "64q"}, "shm_size", "powers of 1024"),
    ({"memory_swappiness": 101}, "memory_swappiness", "100"),
    ({"cpus": 1, "cpu_quota": 50000}, "cpus", "either cpus"),
    ({"cpuset_cpus": "0-a"}, "cpuset_cpus", "ranges"),
    ({"cpuset_cpus": "3-1"}, "cpuset_cpus", "ranges"),
    ({"blkio_weight": 5000}, "blkio_weight", "10 to 1000"),
    ({"device_read_bps": [{"path": "sda", "rate": "1m"}]}, "device_read_bps[0].path", "/dev/sda"),
    ({"device_read_bps": [{"path": "/dev/sda"}]}, "device_read_bps[0].rate", "path"),
    ({"device_read_iops": [{"path": "/dev/sda", "rate": "fast"}]}, "device_read_iops[0].rate", ""),
    ({"capabilities": ["NET ADMIN"]}, "capabilities[0]", "NET_ADMIN"),
    ({"ulimits": ["nofile"]}, "ulimits[0]", "NAME:SOFT"),
    ({"ulimits": ["nofile:2048:1024"]}, "ulimits[0]", "NAME:SOFT"),
    ({"devices": ["fuse"]}, "devices[0]", "HOST_PATH"),
    ({"devices": ["/dev/fuse:rwx"]}, "devices[0]", "HOST_PATH"),
    ({"tmpfs": ["run"]}, "tmpfs[0]", "/PATH"),
    ({"tmpfs": ["/run:mode=999"]}, "tmpfs[0]", "/PATH"),
    ({"tmpfs": ["/run"], "mounts": [{"type": "tmpfs", "target": "/run"}]}, "tmpfs", None),
    ({"ipc_mode": "hots"}, "ipc_mode", "container:NAME"),
    ({"pid_mode": "private"}, "pid_mode", "host"),
    ({"cgroupns_mode": "shared"}, "cgroupns_mode", "host, private"),
    ({"oom_score_adj": 2000}, "oom_score_adj", None),
    ({"sysctls": {"net.ipv4.ip_forward": True}}, "sysctls", "strings"),
    ({"device_requests": [{"count": 1, "device_ids": ["0"]}]}, "device_requests[0]", "driver"),
    ({"comparisons": {"privileged": "allow_more_present"}}, "comparisons.privileged", "strict, ignore"),
    ({"comparisons": {"nosuch": "ignore"}}, "comparisons.nosuch", "capabilities"),
    ({"comparisons": {"*": "allow_more_present"}}, "comparisons.*", "strict, ignore"),
])
def test_bad_values_fail_naming_the_option(spec, option, accepted):
    with pytest.raises(ValidationError) as info:
        desired(**spec)
    assert info.value.option == option
    if accepted:
        assert accepted in str(info.value)


# ---------------------------------------------------------------- comparisons

def test_comparisons_ignore_and_default():
    inspect = container(capabilities=["NET_ADMIN"], shm_size="128m")
    assert set(diffs(inspect)) == {"capabilities", "shm_size"}
    assert diffs(inspect, comparisons={"capabilities": "ignore", "shm_size": "ignore"}) == {}
    assert diffs(inspect, comparisons={"*": "ignore"}) == {}
    # an option's own entry wins over '*'
    assert list(diffs(inspect, comparisons={"*": "ignore", "shm_size": "strict"})) == ["shm_size"]


def test_comparisons_allow_more_present_for_lists_and_dicts():
    inspect = container(capabilities=["NET_ADMIN", "SYS_TIME"], sysctls={"a.b": "1", "c.d": "2"},
                        env={"A": "1", "B": "2"})
    spec = dict(capabilities=["NET_ADMIN"], sysctls={"a.b": "1"}, env={"A": "1"})
    assert set(diffs(inspect, **spec)) == {"capabilities", "sysctls", "env"}
    more = {"capabilities": "allow_more_present", "sysctls": "allow_more_present", "env": "allow_more_present"}
    assert diffs(inspect, comparisons=more, **spec) == {}
    # a missing entry is still a difference
    missing = dict(spec, comparisons=more)
    missing["capabilities"] = ["CHOWN"]
    assert list(diffs(inspect, **missing)) == ["capabilities"]


def test_comparisons_ignore_image():
    inspect = container()
    other = make_image("hybridops-test/a:1", cmd=["sleep", "2000"])
    assert [d.option for d in cs.compare(desired(), other, inspect)] == ["image", "command"]
    assert [d.option for d in cs.compare(desired(comparisons={"image": "ignore", "command": "ignore"}), other, inspect)] == []


def test_networks_allow_more_present():
    inspect = container(networks=["appnet"])
    inspect["NetworkSettings"]["Networks"]["othernet"] = {"Aliases": None, "IPAMConfig": None}
    assert list(diffs(inspect, networks=["appnet"])) == ["networks"]
    assert diffs(inspect, networks=["appnet"], comparisons={"networks": "allow_more_present"}) == {}


def test_every_compared_option_can_be_ignored():
    for name in table.COMPARABLE:
        assert "ignore" in table.comparison_modes(name)


# ---------------------------------------------------------------- pure helpers

@pytest.mark.parametrize("text,canon", [("0-2,4", "0-2,4"), ("4,0,1,2", "0-2,4"), ("1", "1"), ("0,2,3", "0,2-3"), ("", "")])
def test_cpuset_canonical_form(text, canon):
    assert resources.cpuset(text, "cpuset_cpus") == canon


@pytest.mark.parametrize("text,canon", [
    ("size=64m", "size=67108864"), ("mode=1777,size=1g", "mode=1777,size=1073741824"),
    ("noexec,size=1k", "noexec,size=1024"), ("", "")])
def test_tmpfs_options_canonical_form(text, canon):
    assert security.tmpfs_options(text, "tmpfs") == canon


@pytest.mark.parametrize("text,canon", [
    ("/dev/fuse", "/dev/fuse:/dev/fuse:rwm"), ("/dev/sdc:/dev/xvdc", "/dev/sdc:/dev/xvdc:rwm"),
    ("/dev/sdc:r", "/dev/sdc:/dev/sdc:r"), ("/dev/sdc:/dev/xvdc:wr", "/dev/sdc:/dev/xvdc:rw")])
def test_device_canonical_form(text, canon):
    assert security.device(text, "devices") == canon


def test_sizes_follow_the_docker_cli():
    assert resources.ram_size("512MB", "shm_size") == 512 * MIB
    assert resources.ram_size("512m", "shm_size") == 512 * MIB
    assert resources.ram_size("1GiB", "shm_size") == 1024 * MIB
    assert resources.ram_size(-1, "memory_swap", allow_unlimited=True) == -1
    with pytest.raises(ValidationError):
        resources.ram_size(-1, "shm_size")


@pytest.mark.parametrize("spec", [{"privileged": True}, {"ipc_mode": "host"}, {"pid_mode": "host"},
                                  {"pid_mode": "host", "security_opts": ["label=disable"]}])
def test_engine_label_disable_is_not_drift(spec):
    # dockerd adds label=disable to SecurityOpt for these (lab measurement, dockerd 20.10)
    inspect = container(**spec)
    inspect["HostConfig"]["SecurityOpt"] = sorted(set((inspect["HostConfig"].get("SecurityOpt") or []) + ["label=disable"]))
    assert diffs(inspect, **spec) == {}
    if "security_opts" not in spec:
        # dropping the namespace is one difference, not two
        assert list(diffs(inspect)) == list(spec)


def test_declared_label_disable_is_compared():
    inspect = container(security_opts=["label=disable"])
    assert diffs(inspect, security_opts=["label=disable"]) == {}
    assert list(diffs(inspect)) == ["security_opts"]


def test_memory_change_with_omitted_swap_is_one_difference():
    inspect = container(memory="64m")
    found = diffs(inspect, memory="96m")
    assert list(found) == ["memory"] and found["memory"].update == cs.IN_PLACE
    view = cs.spec_view(desired(memory="96m"), IMAGE, inspect)
    assert "memory_swap" not in view
