"""Pure helpers of container_info."""
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.info import (
    container_summary,
    health_from_status,
    usage_from_stats,
)


def test_health_from_status():
    assert health_from_status("Up 3 minutes (healthy)") == "healthy"
    assert health_from_status("Up 1 second (health: starting)") == "starting"
    assert health_from_status("Up 2 hours (unhealthy)") == "unhealthy"
    assert health_from_status("Exited (0) 5 seconds ago") is None


def test_usage_from_stats_excludes_cache_and_computes_cpu():
    stats = {"cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
             "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
             "memory_stats": {"usage": 5000, "limit": 10000, "stats": {"inactive_file": 1000}},
             "pids_stats": {"current": 3}, "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20}}}
    usage = usage_from_stats(stats)
    assert usage == {"cpu_percent": 40.0, "memory_bytes": 4000, "memory_limit_bytes": 10000, "pids": 3,
                     "network_rx_bytes": 10, "network_tx_bytes": 20}


def test_container_summary_shape():
    item = {"Id": "abc", "Names": ["/web"], "Image": "web:1", "ImageID": "sha256:1", "State": "running",
            "Status": "Up 1 minute (healthy)", "Labels": {"hybridops.fleet.stack": "s"},
            "Ports": [{"PrivatePort": 8080, "Type": "tcp", "PublicPort": 18080, "IP": "127.0.0.1"},
                      {"PrivatePort": 53, "Type": "udp"}],
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "MacAddress": "02:42"}}},
            "Mounts": [{"Type": "volume", "Name": "data", "Destination": "/data", "RW": True}]}
    summary = container_summary(item)
    assert summary["name"] == "web" and summary["running"] is True and summary["health"] == "healthy"
    assert summary["stack"] == "s"
    assert summary["ports"] == ["127.0.0.1:18080:8080/tcp", "53/udp"]
    assert summary["networks"] == {"bridge": {"ip": "172.17.0.2", "mac": "02:42"}}
    assert summary["mounts"] == [{"type": "volume", "source": "data", "target": "/data", "read_only": False}]
