"""Option matrix cases of the security/runtime and resource options (family A).

Data only: test_container_options.py picks this file up (``cases(ctx)``) and walks every case through
create -> equivalent spellings (no change) -> change (check mode, then real) -> rerun, against the lab's
host engine (dockerd 20.10, cgroup v1, production-like daemon.json). Options this engine cannot show are
left to the unit tests: blkio_weight (the kernel discards it), storage_opts (overlay2 without xfs
quotas), device_requests (no GPU driver), runtime (only runc), kernel memory (not offered).
"""

from container_option_cases import NET, case, path

MIB = 1024 * 1024


def sorted_path(dotted):
    read = path(dotted)

    def reader(inspect):
        return sorted(read(inspect) or [])
    reader.__doc__ = dotted
    return reader


def hc(key):
    return path("HostConfig." + key)


def cases(ctx):
    # on the matrix's own network: the cases do not depend on the engine's default bridge
    return [dict(c, create=dict(c["create"], networks=[NET])) for c in _cases()]


def _cases():
    return [
        # ---------------------------------------------------------------- security / runtime
        # created, not started: runc in the lab cannot apply a privileged container's capabilities
        case("privileged", {"privileged": True, "state": "present"}, {"privileged": False}, hc("Privileged"),
             (True, False), False, same=[{"privileged": "yes"}], stack=True),
        case("capabilities", {"capabilities": ["net_admin"]}, {"capabilities": ["NET_ADMIN", "SYS_TIME"]},
             sorted_path("HostConfig.CapAdd"), (["CAP_NET_ADMIN"], ["CAP_NET_ADMIN", "CAP_SYS_TIME"]), False,
             same=[{"capabilities": ["NET_ADMIN"]}, {"capabilities": ["CAP_NET_ADMIN", "net_admin"]}], stack=True),
        case("cap_drop", {"cap_drop": ["chown"]}, {"cap_drop": ["CHOWN", "MKNOD"]}, sorted_path("HostConfig.CapDrop"),
             (["CAP_CHOWN"], ["CAP_CHOWN", "CAP_MKNOD"]), False, same=[{"cap_drop": ["CAP_CHOWN"]}]),
        case("security_opts", {"security_opts": ["seccomp=unconfined"]},
             {"security_opts": ["no-new-privileges", "seccomp=unconfined"]}, sorted_path("HostConfig.SecurityOpt"),
             (["seccomp=unconfined"], ["no-new-privileges", "seccomp=unconfined"]), False,
             same=[{"security_opts": ["seccomp:unconfined"]}]),
        case("read_only", {"read_only": True}, {"read_only": False}, hc("ReadonlyRootfs"), (True, False), False),
        case("init", {"init": True}, {}, hc("Init"), (True, None), False, remove=["init"]),
        case("ulimits", {"ulimits": ["nofile:1024:2048"]}, {"ulimits": ["nofile:2048:4096"]}, hc("Ulimits"),
             ([{"Name": "nofile", "Soft": 1024, "Hard": 2048}], [{"Name": "nofile", "Soft": 2048, "Hard": 4096}]), False),
        case("sysctls", {"sysctls": {"net.ipv4.ip_forward": "1"}}, {"sysctls": {"net.ipv4.ip_forward": "0"}},
             hc("Sysctls"), ({"net.ipv4.ip_forward": "1"}, {"net.ipv4.ip_forward": "0"}), False,
             same=[{"sysctls": {"net.ipv4.ip_forward": 1}}]),
        case("devices", {"devices": ["/dev/null:/dev/xnull"]}, {"devices": ["/dev/null:/dev/xnull:r"]}, hc("Devices"),
             ([{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "rwm"}],
              [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "r"}]), False,
             same=[{"devices": ["/dev/null:/dev/xnull:mwr"]}]),
        case("shm_size", {"shm_size": "128m"}, {}, hc("ShmSize"), (128 * MIB, 64 * MIB), False,
             same=[{"shm_size": "128MB"}, {"shm_size": "131072k"}], remove=["shm_size"], stack=True),
        case("tmpfs", {"tmpfs": ["/run:size=64m"]}, {"tmpfs": ["/run:size=32m,mode=1777"]}, hc("Tmpfs"),
             ({"/run": "size=67108864"}, {"/run": "mode=1777,size=33554432"}), False,
             same=[{"tmpfs": ["/run/:size=65536k"]}], stack=True),
        case("groups", {"groups": ["1000"]}, {"groups": ["1000", "1001"]}, sorted_path("HostConfig.GroupAdd"),
             (["1000"], ["1000", "1001"]), False, same=[{"groups": ["1000", "1000"]}]),
        case("userns_mode", {"userns_mode": "host"}, {}, hc("UsernsMode"), ("host", ""), False, remove=["userns_mode"]),
        case("ipc_mode", {"ipc_mode": "host"}, {}, hc("IpcMode"), ("host", "private"), False, remove=["ipc_mode"],
             stack=True),
        case("ipc_mode_values", {"ipc_mode": "private"}, {"ipc_mode": "shareable"}, hc("IpcMode"),
             ("private", "shareable"), False, cid="ipc_mode_values", differences=["ipc_mode"]),
        case("pid_mode", {"pid_mode": "host"}, {}, hc("PidMode"), ("host", ""), False, remove=["pid_mode"]),
        case("uts_mode", {"uts_mode": "host"}, {}, hc("UTSMode"), ("host", ""), False, remove=["uts_mode"]),
        case("cgroupns_mode", {"cgroupns_mode": "private"}, {"cgroupns_mode": "host"}, hc("CgroupnsMode"),
             ("private", "host"), False),
        case("cgroup_parent", {"cgroup_parent": "/opt-matrix"}, {}, hc("CgroupParent"), ("/opt-matrix", ""), False,
             remove=["cgroup_parent"]),
        case("oom_killer", {"oom_killer": False}, {}, hc("OomKillDisable"), (True, False), False, remove=["oom_killer"]),
        case("oom_score_adj", {"oom_score_adj": 500}, {"oom_score_adj": 100}, hc("OomScoreAdj"), (500, 100), False),
        # ---------------------------------------------------------------- resources
        case("memory_reservation", {"memory_reservation": "32m"}, {"memory_reservation": "48m"},
             hc("MemoryReservation"), (32 * MIB, 48 * MIB), True, same=[{"memory_reservation": "32MB"}], stack=True),
        case("memory_swap", {"memory": "64m", "memory_swap": "128m"}, {"memory_swap": "-1"}, hc("MemorySwap"),
             (128 * MIB, -1), True, same=[{"memory_swap": "128MB"}, {"memory_swap": 128 * MIB}]),
        case("memory_swap_default", {"memory": "64m"}, {"memory": "96m"}, hc("MemorySwap"), (128 * MIB, 192 * MIB), True,
             cid="memory_swap_default", differences=["memory"], same=[{"memory_swap": "128m"}]),
        case("memory_swappiness", {"memory_swappiness": 10}, {"memory_swappiness": 20}, hc("MemorySwappiness"),
             (10, 20), False),
        case("cpu_shares", {"cpu_shares": 512}, {"cpu_shares": 256}, hc("CpuShares"), (512, 256), True, stack=True),
        case("cpu_quota", {"cpu_period": 100000, "cpu_quota": 50000}, {"cpu_quota": 25000}, hc("CpuQuota"),
             (50000, 25000), True),
        case("cpu_period", {"cpu_period": 100000, "cpu_quota": 50000}, {"cpu_period": 200000}, hc("CpuPeriod"),
             (100000, 200000), True),
        case("cpuset_cpus", {"cpuset_cpus": "0-1"}, {"cpuset_cpus": "0"}, hc("CpusetCpus"), ("0-1", "0"), True,
             same=[{"cpuset_cpus": "0,1"}, {"cpuset_cpus": "1,0"}]),
        case("cpuset_mems", {"cpuset_mems": "0"}, {}, hc("CpusetMems"), ("0", ""), False, remove=["cpuset_mems"],
             cid="cpuset_mems", same=[{"cpuset_mems": "0-0"}]),
        case("device_read_bps", {"device_read_bps": [{"path": "/dev/vda", "rate": "10m"}]},
             {"device_read_bps": [{"path": "/dev/vda", "rate": "20m"}]}, hc("BlkioDeviceReadBps"),
             ([{"Path": "/dev/vda", "Rate": 10 * MIB}], [{"Path": "/dev/vda", "Rate": 20 * MIB}]), False,
             same=[{"device_read_bps": [{"path": "/dev/vda", "rate": "10MB"}]}]),
        case("device_write_iops", {"device_write_iops": [{"path": "/dev/vda", "rate": 100}]},
             {"device_write_iops": [{"path": "/dev/vda", "rate": 200}]}, hc("BlkioDeviceWriteIOps"),
             ([{"Path": "/dev/vda", "Rate": 100}], [{"Path": "/dev/vda", "Rate": 200}]), False,
             same=[{"device_write_iops": [{"path": "/dev/vda", "rate": "100"}]}]),
        # ---------------------------------------------------------------- comparisons
        case("comparisons", {"shm_size": "128m"}, {"shm_size": "256m", "comparisons": {"*": "strict"}}, hc("ShmSize"),
             (128 * MIB, 256 * MIB), False, cid="comparisons",
             same=[{"shm_size": "256m", "comparisons": {"shm_size": "ignore"}},
                   {"shm_size": "64m", "comparisons": {"*": "ignore"}}],
             differences=["shm_size"]),
    ]
