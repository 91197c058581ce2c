"""Secret redaction, verdicts and the proposed container spec."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._discover import secrets, spec

OPTION_NAMES = {"name", "image", "command", "entrypoint", "env", "secret_env", "labels", "ports", "mounts",
                "volumes", "restart_policy", "restart_retries", "healthcheck", "user", "working_dir", "hostname",
                "memory", "cpus", "pids_limit", "networks", "log_driver", "log_options", "stop_timeout"}


def service(**extra):
    base = {
        "unit": "redis-server.service", "binary": "/usr/bin/redis-check-rdb", "package": "redis-server",
        "package_version": "5:7.0.15-1~deb12u1", "exec_start": ["/usr/bin/redis-server", "/etc/redis/redis.conf"],
        "command": ["/usr/bin/redis-server", "/etc/redis/redis.conf"], "type": "notify", "active_state": "active",
        "enabled": True, "restart": "always", "uid": 101, "gid": 104, "environment": {}, "secret_env_keys": [],
        "listen": [{"proto": "tcp", "family": 4, "address": "127.0.0.1", "port": 6379},
                   {"proto": "tcp", "family": 6, "address": "::1", "port": 6379}],
        "config_paths": ["/etc/redis"], "data_paths": ["/var/lib/redis"], "log_paths": ["/var/log/redis"],
        "working_directory": "/var/lib/redis",
    }
    base.update(extra)
    return base


@pytest.mark.parametrize("name,secret", [
    ("DB_PASSWORD", True), ("api-token", True), ("SECRET_KEY_BASE", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("PASSWD", True), ("TLS_KEY_FILE", False), ("PWD", False), ("WEB_GREETING", False), ("PATH", False),
])
def test_secret_names(name, secret):
    assert secrets.is_secret_name(name) is secret


def test_redact_argv_and_urls():
    found = set()
    argv = ["/bin/app", "--password", "pw123456", "--api-key=k-abcdef", "--ssl-key", "/etc/ssl/app.key",
            "--db=postgres://app:dbpass99@db/app", "-v"]
    assert secrets.redact_argv(argv, found) == [
        "/bin/app", "--password", "********", "--api-key=********", "--ssl-key", "/etc/ssl/app.key",
        "--db=postgres://app:********@db/app", "-v"]
    assert found == {"pw123456", "k-abcdef", "dbpass99"}


def test_scrub_everywhere_but_not_short_substrings():
    found = {"hunter2-pw", "ab"}
    data = {"a": ["x hunter2-pw y", "ab", "cab"], "hunter2-pw": 1}
    assert secrets.scrub(data, found) == {"a": ["x ******** y", "********", "cab"], "********": 1}


def test_redis_proposal():
    svc = service()
    proposal = spec.propose_container_spec(svc)
    assert set(proposal) <= OPTION_NAMES
    assert proposal["image"] == "redis:7.0"
    assert proposal["command"] == ["redis-server", "/etc/redis/redis.conf"]
    assert proposal["ports"] == ["127.0.0.1:6379:6379/tcp"]
    assert proposal["mounts"] == [
        {"type": "bind", "source": "/etc/redis", "target": "/etc/redis", "read_only": True},
        {"type": "bind", "source": "/var/lib/redis", "target": "/var/lib/redis", "read_only": False},
        {"type": "bind", "source": "/var/log/redis", "target": "/var/log/redis", "read_only": False},
    ]
    assert proposal["user"] == "101:104" and proposal["restart_policy"] == "unless-stopped"
    assert proposal["healthcheck"]["test"] == ["CMD-SHELL", "nc -z 127.0.0.1 6379 || exit 1"]
    assert "memory" not in proposal and "cpus" not in proposal
    limited = spec.propose_container_spec(service(memory_max=268435456, cpu_quota=0.5))
    assert limited["memory"] == "268435456" and limited["cpus"] == 0.5
    ok, reasons, notes = spec.assess(svc)
    assert ok and not reasons
    assert any("loopback" in n for n in notes)


def test_ports_wildcard_covers_specific():
    listen = [{"proto": "tcp", "family": 4, "address": "10.0.0.5", "port": 80},
              {"proto": "tcp", "family": 4, "address": "0.0.0.0", "port": 80},
              {"proto": "tcp", "family": 6, "address": "::", "port": 80},
              {"proto": "udp", "family": 6, "address": "fd00::5", "port": 53}]
    assert spec._ports(listen) == ["80:80/tcp", "[fd00::5]:53:53/udp"]


def test_not_migratable():
    svc = service(unit="chrony.service", type="oneshot", ambient_capabilities=["cap_sys_time"],
                  binary="/usr/lib/systemd/systemd-timesyncd")
    ok, reasons, _notes = spec.assess(svc, devices=["/dev/rtc0"], raw_sockets=True)
    assert not ok
    text = " | ".join(reasons)
    for word in ("core", "systemd component", "oneshot", "cap_sys_time", "/dev/rtc0", "raw or packet"):
        assert word in text


def test_http_guess_and_lift_image():
    svc = service(unit="shop.service", binary="/opt/shop/bin/shop", package=None, package_version=None,
                  listen=[{"proto": "tcp", "family": 4, "address": "0.0.0.0", "port": 8443}])
    svc["probe"] = spec.guess_probe(svc)
    assert svc["probe"] == {"type": "https", "port": 8443, "path": "/"}
    image, reason = spec.guess_image(svc, {"ID": "debian", "VERSION_ID": "12"})
    assert image == "debian:12" and "lift" in reason
    proposal = spec.propose_container_spec(svc, {"ID": "debian", "VERSION_ID": "12"})
    assert proposal["healthcheck"]["test"][0] == "CMD-SHELL" and "https://127.0.0.1:8443/" in proposal["healthcheck"]["test"][1]
    assert spec.guess_image(svc)[0] is None


def test_container_name():
    assert spec.container_name("foo@bar baz.service") == "foo-bar-baz"
    assert spec.is_core_unit("systemd-resolved.service") and spec.is_core_unit("getty@tty1.service")
    assert not spec.is_core_unit("nginx.service")
