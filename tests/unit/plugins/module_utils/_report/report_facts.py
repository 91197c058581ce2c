"""Realistic facts for fleet_report tests, in the shapes the info modules return.

Hypervisor: libvirt_vm_info's ``host``; VMs: libvirt_vm_info's ``vms``
(vm_read.vm_facts + uri); containers: _docker/info.py ``container_summary`` plus
``limits`` (limits_from_inspect) and ``usage`` (usage_from_stats); discovery:
vm_discover's result. Also used by tests/integration/test_report_html.py.
"""
import copy
import zlib

MIB = 1024 * 1024
HOSTILE = '<script>alert("pwn")</script>&"\'|`*_'


def meminfo(total_kb, available_kb):
    return ("MemTotal:       %8d kB\nMemFree:        %8d kB\nMemAvailable:   %8d kB\nBuffers:           12345 kB\n"
            "Cached:           234567 kB\nSwapCached:            0 kB\nHugePages_Total:       0\n"
            "Hugepagesize:       2048 kB\n" % (total_kb, available_kb // 2, available_kb))


def hypervisor(uri="qemu:///system", hostname="hv1", cpus=8, memory_mib=15872):
    return {"uri": uri, "hostname": hostname, "cpus": cpus, "memory_mib": memory_mib,
            "cpu_model": "Intel Xeon E-2236", "libvirt_version": "9.0.0", "extra_key": "ignored"}


def vm(name, memory=1024, vcpus=1, state="running", uri="qemu:///system", ip="192.168.122.10"):
    return {
        "name": name, "uri": uri, "uuid": "00000000-0000-4000-8000-%012d" % (zlib.crc32(name.encode()) % 10 ** 12),
        "state": state, "autostart": False, "memory": memory, "vcpus": vcpus, "tags": ["lab"], "managed": True,
        "disks": [{"path": "/var/lib/libvirt/images/%s.qcow2" % name, "target": "vda", "bus": "virtio",
                   "capacity": 10737418240, "volume": "%s.qcow2" % name, "pool": "default"}],
        "interfaces": [{"network": "default", "mac": "52:54:00:12:34:56", "model": "virtio",
                        "ips": [ip] if ip and state == "running" else []}],
        "ip": ip if state == "running" else None,
    }


def container(name, used_mib, limit_mib=None, state="running", health=None, stack=None, cpus=None, cpu_percent=1.5,
              image="lab/web:1", ports=("8080/tcp",)):
    status = "Up 3 minutes" + (" (%s)" % ("health: starting" if health == "starting" else health) if health else "")
    entry = {
        "name": name, "id": "%064x" % (zlib.crc32(name.encode())), "image": image, "image_id": "sha256:" + "a" * 64,
        "command": "python3 -m http.server", "created": 1700000000, "state": state,
        "status": status if state == "running" else "Exited (0) 2 minutes ago", "running": state == "running",
        "health": health, "labels": {"hybridops.fleet.stack": stack} if stack else {}, "stack": stack,
        "ports": list(ports), "networks": {"bridge": {"ip": "172.17.0.2", "mac": "02:42:ac:11:00:02"}},
        "mounts": [],
        "limits": {"memory_limit_bytes": int(limit_mib * MIB) if limit_mib else None, "cpus": cpus,
                   "pids_limit": None, "restart_policy": "unless-stopped", "restart_count": 0,
                   "started_at": "2026-11-27T08:00:00.000000000Z", "exit_code": 0, "oom_killed": False},
    }
    if state == "running":
        entry["usage"] = {"cpu_percent": cpu_percent, "memory_bytes": int(used_mib * MIB),
                          "memory_limit_bytes": int(limit_mib * MIB) if limit_mib else 2000 * MIB, "pids": 3,
                          "network_rx_bytes": 1000, "network_tx_bytes": 2000}
    return entry


def engine():
    return {"address": "unix:///var/run/docker.sock", "version": "20.10.24+dfsg1", "api_version": "1.41",
            "os": "linux", "arch": "amd64"}


def guest(containers, total_mib=984, used_mib=400, discovery=None, nproc=1, load="0.52 0.31 0.20 1/123 456"):
    total_kb = int(total_mib * 1024)
    return {"reachable": True, "error": None, "engine": engine(), "containers": containers,
            "meminfo": meminfo(total_kb, total_kb - int(used_mib * 1024)), "nproc": nproc, "loadavg": load,
            "discovery": discovery}


def discovery():
    return {
        "changed": False,
        "host": {"hostname": "db1", "os": {"id": "debian", "version_id": "12"}, "systemd_version": 252,
                 "cgroup_version": 2, "package_manager": "dpkg"},
        "services": {
            "postgresql@15-main.service": {
                "unit": "postgresql@15-main.service", "description": "PostgreSQL Cluster 15-main", "enabled": True,
                "active": True, "listen": [{"proto": "tcp", "family": 4, "address": "127.0.0.1", "port": 5432}],
                "memory_bytes": 48 * MIB, "migratable": True, "reasons": [], "notes": ["data in /var/lib/postgresql"],
                "image_guess": {"image": "postgres:15", "reason": "official image for postgresql 15"},
                "environment": {"PGPASSWORD": "********"}, "secret_env_keys": ["PGPASSWORD"],
                "container_spec": {"name": "postgresql-15-main", "image": "postgres:15", "env": {"PGDATA": "/data"},
                                   "ports": ["5432:5432/tcp"], "restart_policy": "unless-stopped"},
            },
            "hostile-agent.service": {
                "unit": "hostile-agent.service", "active": True, "listen": [], "memory_bytes": 5 * MIB,
                "migratable": False, "reasons": ["uses CAP_NET_ADMIN"], "image_guess": {"image": None},
            },
        },
        "sockets": [], "excluded": [{"unit": "ssh.service", "reason": "core/infrastructure service of the VM",
                                     "ports": [22]}],
    }


def fleet():
    """Module params for a small, realistic fleet."""
    web1 = [container("api", 180, limit_mib=256, stack="shop", cpus=0.5, health="healthy",
                      ports=("0.0.0.0:8080:8080/tcp", ":::8080:8080/tcp")),
            container("worker", 120, stack="shop"),
            container("old-job", 0, state="exited")]
    web2 = [container(HOSTILE, 40, health="unhealthy", ports=("127.0.0.1:8081:80/tcp",)),
            container("cache", 60, limit_mib=64, image="redis:7", ports=("6379/tcp",))]
    return {
        "hypervisors": [hypervisor(), hypervisor("qemu+ssh://root@hv2/system", "hv2", 4, 7936)],
        "vms": [vm("web1", 1024, 2, ip="192.168.122.11"), vm("web2", 1024, 1, ip="192.168.122.12"),
                vm("db1", 2048, 2, ip="192.168.122.13"), vm("legacy1", 512, 1, uri="qemu+ssh://root@hv2/system",
                                                            ip="192.168.122.14"),
                vm("old1", 512, 1, state="stopped", uri="qemu+ssh://root@hv2/system")],
        "guests": {
            "web1": guest(web1, total_mib=984, used_mib=520),
            "web2": guest(web2, total_mib=984, used_mib=250),
            "db1": guest([], total_mib=1984, used_mib=300, discovery=discovery(), nproc=2),
            "legacy1": {"reachable": False, "error": "ssh: connect to host 192.168.122.14 port 22: No route to host",
                        "engine": None, "containers": None, "meminfo": None, "nproc": None, "loadavg": None,
                        "discovery": None},
        },
        "title": "Lab fleet",
    }


def params(tmp_path, **overrides):
    result = copy.deepcopy(fleet())
    result.update({"dest": str(tmp_path), "basename": "fleet-report", "formats": ["json", "markdown", "html"],
                   "vm_capacity_mib": None, "headroom_percent": 20})
    result.update(overrides)
    return result
