"""Whole discovery replayed from a capture of the real Debian 12 lab guest.

The capture (fixtures/debian12-guest.json, made by capture_fixture.py on the
guest) holds every /proc file, fd link and command output discovery used on a
guest running sshd and hybridops-web.service (python3 -m http.server 8080 as a
dedicated user, EnvironmentFile with two secrets, ConfigurationDirectory and
StateDirectory).
"""
import json
import os

import pytest
from discover_replay import ReplayReader, load, replay_run, replay_which

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import FleetError
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import SystemdMissingError, discover
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.systemd import SHOW_PROPERTIES

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "debian12-guest.json")
SECRETS = ("s3cr3t-t0ken-4242", "hunter2-pw-9931")


@pytest.fixture(scope="module")
def capture():
    return load(FIXTURE)


def run_discovery(capture, **params):
    return discover(params, replay_run(capture), ReplayReader(capture), replay_which(capture))


def test_capture_holds_the_secrets_it_must_hide(capture):
    text = capture["read"]["/etc/default/hybridops-web"]
    assert all(secret in text for secret in SECRETS)


def test_default_selection(capture):
    result = run_discovery(capture)
    assert list(result["services"]) == ["hybridops-web.service"]
    assert {s["unit"] for s in result["excluded"]} == {"ssh.service", "systemd-networkd.service"}
    assert result["host"] == {
        "hostname": "debian", "os": {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12 (bookworm)"},
        "systemd_version": 252, "cgroup_version": 2, "package_manager": "dpkg",
        "addresses": [], "memory_total_bytes": None}  # the capture predates both (no fib_trie, meminfo read)


def test_web_service_facts(capture):
    web = run_discovery(capture)["services"]["hybridops-web.service"]
    assert web["listen"] == [{"proto": "tcp", "family": 4, "address": "0.0.0.0", "port": 8080}]
    assert web["user"] == "hybridops-web" and web["uid"] == 999 and web["gid"] == 997
    assert web["exec_start"] == ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/srv/www"]
    assert web["binary"] == "/usr/bin/python3.11"
    assert web["package"] == "python3.11-minimal"
    assert web["config_paths"] == ["/etc/hybridops-web"]
    assert web["data_paths"] == ["/srv/www", "/var/lib/hybridops-web"]
    assert web["environment"] == {"WEB_MODE": "production", "WEB_TITLE": "Hybrid Ops", "WEB_GREETING": "hello",
                                  "WEB_API_TOKEN": "********", "DB_PASSWORD": "********"}
    assert web["secret_env_keys"] == ["DB_PASSWORD", "WEB_API_TOKEN"]
    assert web["environment_files"] == ["/etc/default/hybridops-web"]
    assert web["enabled"] and web["active"] and web["main_pid"] == 430
    assert web["memory_bytes"] > 1024 * 1024 and web["cpu_seconds"] > 0
    assert web["migratable"] is True and web["reasons"] == []
    assert web["probe"] == {"type": "http", "port": 8080, "path": "/"}


def test_web_container_spec(capture):
    spec = run_discovery(capture)["services"]["hybridops-web.service"]["container_spec"]
    assert spec["name"] == "hybridops-web"
    assert spec["image"] == "python:3.11-slim"
    assert spec["command"] == ["python3", "-m", "http.server", "8080", "--directory", "/srv/www"]
    assert spec["ports"] == ["8080:8080/tcp"]
    assert spec["user"] == "999:997"
    assert spec["working_dir"] == "/srv/www"
    assert spec["restart_policy"] == "unless-stopped"
    assert spec["env"] == {"WEB_MODE": "production", "WEB_TITLE": "Hybrid Ops", "WEB_GREETING": "hello"}
    assert spec["mounts"] == [
        {"type": "bind", "source": "/etc/hybridops-web", "target": "/etc/hybridops-web", "read_only": True},
        {"type": "bind", "source": "/srv/www", "target": "/srv/www", "read_only": False},
        {"type": "bind", "source": "/var/lib/hybridops-web", "target": "/var/lib/hybridops-web", "read_only": False},
    ]
    assert spec["healthcheck"]["test"][:2] == ["CMD", "python3"]
    assert "8080" in spec["healthcheck"]["test"][3]


def test_named_services_keyed_by_the_asked_name(capture):
    result = run_discovery(capture, services=["hybridops-web", "sshd"])
    assert sorted(result["services"]) == ["hybridops-web.service", "sshd.service"]
    ssh = result["services"]["sshd.service"]
    assert ssh["unit"] == "ssh.service" and "sshd.service" in ssh["names"]
    assert ssh["package"] == "openssh-server" and ssh["package_version"].startswith("1:9.2p1")
    assert ssh["binary"] == "/usr/sbin/sshd"
    # sshd rewrites its process title; the command comes from ExecStart with $SSHD_OPTS expanded
    assert ssh["cmdline"][0].startswith("sshd: ")
    assert ssh["command"] == ["/usr/sbin/sshd", "-D"]
    assert {(s["address"], s["port"]) for s in ssh["listen"]} == {("0.0.0.0", 22), ("::", 22)}
    assert ssh["config_paths"] == ["/etc/ssh"]
    assert ssh["migratable"] is False
    assert any("core" in reason for reason in ssh["reasons"])
    assert ssh["container_spec"]["ports"] == ["22:22/tcp"]


def test_no_secret_anywhere_in_the_result(capture):
    for params in ({}, {"services": ["hybridops-web", "sshd"]}):
        text = json.dumps(run_discovery(capture, **params))
        for secret in SECRETS:
            assert secret not in text


def test_sockets_map_to_processes_and_units(capture):
    sockets = run_discovery(capture)["sockets"]
    by_port = dict(((s["proto"], s["address"], s["port"]), s) for s in sockets)
    assert by_port[("tcp", "0.0.0.0", 22)]["process"] == "sshd"
    assert by_port[("tcp", "0.0.0.0", 8080)]["unit"] == "hybridops-web.service"
    assert by_port[("udp", "192.168.122.227", 68)]["unit"] == "systemd-networkd.service"


def test_propose_false(capture):
    web = run_discovery(capture, propose=False)["services"]["hybridops-web.service"]
    assert "container_spec" not in web


def test_missing_unit_fails(capture):
    capture = json.loads(json.dumps(capture))
    with open(os.path.join(os.path.dirname(FIXTURE), "systemctl-show-not-found.txt")) as handle:
        not_found = handle.read()  # `systemctl show -p <SHOW_PROPERTIES> nosuch.service` on the guest
    argv = ["systemctl", "show", "--no-pager", "-p", ",".join(SHOW_PROPERTIES), "nosuch.service"]
    capture["run"].append({"argv": argv, "rc": 0, "stdout": not_found, "stderr": ""})
    with pytest.raises(FleetError, match="no such systemd unit: nosuch.service") as info:
        run_discovery(capture, services=["nosuch"])
    assert info.value.option == "services[0]" and info.value.accepted


def test_not_systemd_fails_clearly(capture):
    capture = json.loads(json.dumps(capture))
    capture["read"]["/proc/1/comm"] = "bash\n"
    capture["isdir"]["/run/systemd/system"] = False
    with pytest.raises(SystemdMissingError, match="PID 1 is systemd; PID 1 here is 'bash'"):
        run_discovery(capture)


def test_units_are_passed_after_double_dash(capture):
    calls = []
    run = replay_run(capture)

    def recording(argv):
        calls.append(list(argv))
        return run(argv)

    discover({"services": ["hybridops-web", "sshd"]}, recording, ReplayReader(capture), replay_which(capture))
    shows = [argv for argv in calls if argv[:2] == ["systemctl", "show"]]
    assert shows
    for argv in shows:
        assert argv[argv.index("--") + 1:] == ["hybridops-web.service", "sshd.service"]


@pytest.mark.parametrize("name,index", [
    (["ssh", "bad unit"], 1), (["x\n.service"], 0), (["a/b"], 0), (["u" * 300], 0)])
def test_bad_unit_names_fail_before_any_command(capture, name, index):
    calls = []

    def recording(argv):
        calls.append(argv)
        return replay_run(capture)(argv)

    with pytest.raises(FleetError) as info:
        discover({"services": name}, recording, ReplayReader(capture), replay_which(capture))
    assert info.value.option == "services[%d]" % index and "unit name" in str(info.value)
    assert calls == []


def test_secret_values_only_when_asked(capture):
    plain = run_discovery(capture)["services"]["hybridops-web.service"]
    assert "secret_env" not in plain and "_secret_env" not in plain
    result = run_discovery(capture, secret_values=True)
    web = result["services"]["hybridops-web.service"]
    # the real values, read with systemd's rules from the EnvironmentFile, for exactly the withheld keys
    assert sorted(web["secret_env"]) == web["secret_env_keys"] == ["DB_PASSWORD", "WEB_API_TOKEN"]
    assert set(web["secret_env"].values()) == set(SECRETS)
    # and nowhere else in the result
    rest = dict(result, services={"hybridops-web.service": dict((k, v) for k, v in web.items() if k != "secret_env")})
    text = json.dumps(rest)
    for secret in SECRETS:
        assert secret not in text


def test_config_read_once_and_closed_is_found_from_the_unit(capture):
    """Files no package ships and no process holds open: named by the unit's environment, next to its
    EnvironmentFile, or in the service's own /etc location; each path says where it was found."""
    import copy
    edited = copy.deepcopy(capture)
    for path, isdir in (("/etc/hybridops", True), ("/etc/hybridops/shared.conf", False),
                        ("/etc/webapp-extra.conf", False), ("/srv/reports", True)):
        edited["exists"][path] = True
        edited["isdir"][path] = isdir
    for answer in edited["run"]:
        if answer["argv"][:2] == ["systemctl", "show"]:
            answer["stdout"] = answer["stdout"].replace(
                "Environment=WEB_MODE=production", "Environment=EXTRA_CONF=/etc/webapp-extra.conf "
                "REPORTS=/srv/reports:/nonexistent WEB_MODE=production")
    web = run_discovery(edited)["services"]["hybridops-web.service"]
    assert web["config_paths"] == ["/etc/hybridops-web", "/etc/webapp-extra.conf", "/etc/hybridops"], web["config_paths"]
    assert "/srv/reports" in web["data_paths"]
    sources = web["path_sources"]
    assert sources["/etc/webapp-extra.conf"] == ["environment variable EXTRA_CONF"]
    assert sources["/etc/hybridops"] == ["the service's own /etc location"]  # hybridops-web -> /etc/hybridops
    assert "ConfigurationDirectory=" in sources["/etc/hybridops-web"]
    assert set(sources) == set(web["config_paths"] + web["data_paths"] + web["log_paths"])
    assert all(sources.values()), sources


def test_own_config_candidates_skip_interpreters():
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover import paths
    assert paths.own_config_candidates("shop-api.service", "/usr/bin/python3.11", "python3.11-minimal")[:6] == [
        "/etc/shop-api", "/etc/shop-api.conf", "/etc/shop-api.d", "/etc/shop", "/etc/shop.conf", "/etc/shop.d"]
    assert not any("python" in p for p in paths.own_config_candidates("x.service", "/usr/bin/python3", None))
    assert paths.own_config_candidates("nginx.service", "/usr/sbin/nginx", "nginx-core")[:3] == [
        "/etc/nginx", "/etc/nginx.conf", "/etc/nginx.d"]
    assert paths.value_paths("/a:/b,/c") == ["/a", "/b", "/c"] and paths.value_paths("yes") == []


def test_config_named_only_by_the_unit_is_found(capture):
    """A file the service read at start and closed, shipped by no package and held open by no process:
    found from ExecStart (``-c /etc/common/x.conf``, a relative ``--config`` under WorkingDirectory=),
    from ExecStartPre (a config check) and from the service's own /etc directory; each says where."""
    import copy
    edited = copy.deepcopy(capture)
    for path, isdir in (("/etc/common", True), ("/etc/common/x.conf", False), ("/etc/precheck", True),
                        ("/etc/precheck/rules.conf", False), ("/srv/www/conf/site.ini", False),
                        ("/etc/hybridops-web/only-read-at-start.conf", False)):
        edited["exists"][path] = True
        edited["isdir"][path] = isdir
    for answer in edited["run"]:
        if answer["argv"][:2] == ["systemctl", "show"] and "hybridops-web.service" in answer["argv"]:
            old = "argv[]=/usr/bin/python3 -m http.server 8080 --directory /srv/www ;"
            assert old in answer["stdout"]
            answer["stdout"] = answer["stdout"].replace(old, (
                "argv[]=/usr/bin/python3 -m http.server 8080 --directory /srv/www -c /etc/common/x.conf "
                "--config conf/site.ini ;")).replace("Slice=system.slice\nControlGroup=/system.slice/hybridops-web", (
                    "ExecStartPre={ path=/usr/bin/test ; argv[]=/usr/bin/test -r /etc/precheck/rules.conf ; "
                    "ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n"
                    "Slice=system.slice\nControlGroup=/system.slice/hybridops-web"))
    web = run_discovery(edited)["services"]["hybridops-web.service"]
    assert web["config_paths"] == ["/etc/common/x.conf", "/etc/precheck/rules.conf", "/etc/hybridops-web"], \
        web["config_paths"]
    sources = web["path_sources"]
    assert sources["/etc/common/x.conf"] == ["ExecStart option -c"]
    assert sources["/etc/precheck/rules.conf"] == ["ExecStartPre argument"]
    assert "ExecStart option --config relative to WorkingDirectory=" in sources["/srv/www"]
    assert "the service's own /etc location" in sources["/etc/hybridops-web"]
    # the candidate container gets them: read-only binds in the proposed spec
    mounts = [(m["source"], m["read_only"]) for m in web["container_spec"]["mounts"]]
    assert ("/etc/common/x.conf", True) in mounts and ("/etc/precheck/rules.conf", True) in mounts
    assert ("/etc/hybridops-web", True) in mounts


class _Files:
    """A file system of a few paths (files: a set, or a dict path -> text), for Discovery.add_paths."""

    def __init__(self, files, dirs):
        self.texts = files if isinstance(files, dict) else dict((f, "") for f in files)
        self.files, self.dirs = set(self.texts), set(dirs)

    def exists(self, path):
        return path in self.files or path in self.dirs

    def isdir(self, path):
        return path in self.dirs

    def listdir(self, path):
        prefix = path.rstrip("/") + "/"
        return sorted(set(p[len(prefix):].split("/")[0] for p in self.files | self.dirs if p.startswith(prefix)))

    def read(self, path):
        return self.texts.get(path)

    def size(self, path):
        return len(self.texts[path]) if path in self.texts else None


def test_well_known_location_of_the_binary():
    """nginx built from source (/usr/local/sbin, no package): its config under /etc/nginx is found from
    the binary's name alone, although no process holds it open and no argument names it."""
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import Discovery
    files = _Files({"/etc/nginx/nginx.conf", "/etc/nginx/conf.d/site.conf", "/etc/redis.conf"},
                   {"/etc/nginx", "/etc/nginx/conf.d", "/var/www/html"})
    discovery = Discovery(run=None, reader=files, which=None)
    facts = {"unit": "web-frontend.service", "binary": "/usr/local/sbin/nginx", "package": None}
    props = {"WorkingDirectory": "", "ExecStartPre": ""}
    discovery.add_paths(facts, props, [], ["/usr/local/sbin/nginx", "-g", "daemon off;"], [], [])
    assert facts["config_paths"] == ["/etc/nginx"]
    assert facts["path_sources"]["/etc/nginx"] == ["the service's own /etc location", "well-known location of nginx"]
    facts = {"unit": "cache.service", "binary": "/usr/bin/redis-server", "package": "redis-server"}
    discovery.add_paths(facts, {}, [], ["/usr/bin/redis-server", "--port", "6379"], [], [])
    assert facts["config_paths"] == ["/etc/redis.conf"]
    # /etc/redis.conf is no /etc/NAME of the unit, binary or package: only the table knows it
    assert facts["path_sources"]["/etc/redis.conf"] == ["well-known location of redis-server"]


FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 192.168.122.0/24 2 0 2
           |-- 192.168.122.227
              /32 host LOCAL
        |-- 192.168.122.255
           /32 link BROADCAST
"""


def test_connections_and_host_addresses(capture):
    """hybridops-web talks to a database on another VM (192.168.122.30:5432) and serves a client on 8080;
    the host's own addresses and memory come from /proc (the estate plan maps connections to VMs by them)."""
    import copy
    edited = copy.deepcopy(capture)
    edited["listdir"]["/proc/430/fd"] = ["0", "1", "2", "3", "4", "5"]
    edited["readlink"]["/proc/430/fd/4"] = "socket:[777001]"
    edited["readlink"]["/proc/430/fd/5"] = "socket:[777002]"
    edited["read"]["/proc/net/tcp"] += (
        "   3: E37AA8C0:9C40 1E7AA8C0:1538 01 00000000:00000000 00:00000000 00000000   999        0 777001 1 0 20 4 1 10 -1\n"
        "   4: E37AA8C0:1F90 0A7AA8C0:D431 01 00000000:00000000 00:00000000 00000000   999        0 777002 1 0 20 4 1 10 -1\n")
    edited["read"]["/proc/net/fib_trie"] = FIB_TRIE
    edited["read"]["/proc/net/if_inet6"] = (
        "fd000000000000000000000000000002 02 40 00 80     enp1s0\n"
        "fe80000000000000505400fffe123456 02 40 20 80     enp1s0\n"
        "00000000000000000000000000000001 01 80 10 80       lo\n")
    edited["read"]["/proc/meminfo"] = "MemTotal:         492040 kB\nMemFree:  1000 kB\n"
    result = run_discovery(edited)
    assert result["host"]["addresses"] == ["192.168.122.227", "fd00::2"]
    assert result["host"]["memory_total_bytes"] == 492040 * 1024
    web = result["services"]["hybridops-web.service"]
    assert web["connections"] == [
        {"direction": "out", "proto": "tcp", "address": "192.168.122.30", "port": 5432},
        {"direction": "in", "proto": "tcp", "address": "192.168.122.10", "port": 8080},
    ]
    assert web["connections_truncated"] is False


def test_unit_connections_limit_and_mapped_addresses():
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover.procnet import unit_connections
    socks = [{"port": 8080, "remote_address": "::ffff:10.0.0.%d" % i, "remote_port": 40000 + i} for i in range(5)]
    socks.append({"port": 51000, "remote_address": "127.0.0.1", "remote_port": 6379})
    conns, truncated = unit_connections(socks, {8080}, limit=3)
    assert truncated is True
    assert conns[0] == {"direction": "out", "proto": "tcp", "address": "127.0.0.1", "port": 6379}
    assert [c["address"] for c in conns[1:]] == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]


def test_paths_named_inside_the_config_files():
    """nginx's own config names a shared file elsewhere in /etc (an include), its TLS key and its web root:
    found by reading the config files discovery already found (comments skipped, globs cut, too large files
    left unread)."""
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import Discovery
    site = ("server {\n  listen 443 ssl;\n  root /var/www/shop;\n  ssl_certificate_key /etc/ssl/private/shop.key;\n"
            "  include /etc/common/x.conf;\n  include /etc/nginx/snippets/*.conf;\n"
            "  # include /etc/old/unused.conf;\n}\n")
    files = _Files({"/etc/nginx/nginx.conf": "include /etc/nginx/sites-enabled/*;\n",
                    "/etc/nginx/sites-enabled/shop": site,
                    "/etc/nginx/big.conf": "x" * (Discovery.CONFIG_SCAN_BYTES + 1) + " /etc/never/read.conf",
                    "/etc/common/x.conf": "gzip on;\n", "/etc/ssl/private/shop.key": "KEY",
                    "/etc/old/unused.conf": "", "/etc/never/read.conf": "",
                    "/var/www/shop/index.html": "hi"},
                   {"/etc/nginx", "/etc/nginx/sites-enabled", "/etc/nginx/snippets", "/etc/common", "/etc/ssl",
                    "/etc/ssl/private", "/etc/old", "/etc/never", "/var/www/shop"})
    discovery = Discovery(run=None, reader=files, which=None)
    facts = {"unit": "nginx.service", "binary": "/usr/sbin/nginx", "package": "nginx-core"}
    discovery.add_paths(facts, {}, [], ["/usr/sbin/nginx", "-g", "daemon on; master_process on;"], [], [])
    assert facts["config_paths"] == ["/etc/nginx", "/etc/ssl/private/shop.key", "/etc/common/x.conf"]
    assert facts["data_paths"] == ["/var/www/shop"]
    sources = facts["path_sources"]
    assert sources["/etc/common/x.conf"] == ["named in /etc/nginx/sites-enabled/shop"]
    assert sources["/etc/ssl/private/shop.key"] == ["named in /etc/nginx/sites-enabled/shop"]
    assert sources["/var/www/shop"] == ["named in /etc/nginx/sites-enabled/shop"]


def test_referenced_paths():
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover import paths
    text = ("# include /etc/commented.conf\n; /etc/also-commented\n"
            "include \"/etc/app/a.conf\";\nkey=/etc/app/b.key\ndirs: /srv/data, /opt/app/etc/c.yml\n"
            "path /usr/share/x /var/lib/app/db. /etc/app/conf.d/*.conf\nurl http://example.invalid/etc/x\n")
    assert paths.referenced_paths(text) == ["/etc/app/a.conf", "/etc/app/b.key", "/srv/data", "/opt/app/etc/c.yml",
                                            "/var/lib/app/db", "/etc/app/conf.d"]
    assert paths.referenced_paths("/etc/a /etc/b /etc/c", limit=2) == ["/etc/a", "/etc/b"]
    assert paths.referenced_paths(None) == []
