"""Parsers of /proc, systemctl, dpkg output, on text captured from the lab guest and this machine."""
import os

import pytest
from discover_replay import load

from ansible_collections.hybridops.fleet.plugins.module_utils._discover import packages, paths, proc, procnet, systemd

HERE = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture_text(name):
    with open(os.path.join(HERE, name)) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def capture():
    return load(os.path.join(HERE, "debian12-guest.json"))


def _show_output(capture):
    return [c for c in capture["run"] if c["argv"][:2] == ["systemctl", "show"]]


# ------------------------------------------------------------------ /proc/net

def test_decode_address():
    assert procnet.decode_address("0100007F:0050", "little") == ("127.0.0.1", 80)
    assert procnet.decode_address("00000000000000000000000001000000:0016", "little") == ("::1", 22)
    assert procnet.decode_address("0000000000000000FFFF00000100007F:1F90", "little") == ("::ffff:127.0.0.1", 8080)
    assert procnet.decode_address("7F000001:0050", "big") == ("127.0.0.1", 80)


def test_guest_listening_sockets(capture):
    tables = dict((p, capture["read"]["/proc/net/" + p]) for p in procnet.PROTOCOLS)
    found = [(s["proto"], s["address"], s["port"]) for s in procnet.listening_sockets(tables, "little")]
    assert found == [("tcp", "0.0.0.0", 22), ("tcp", "::", 22), ("tcp", "0.0.0.0", 8080),
                     ("udp", "192.168.122.227", 68)]


def test_established_connections_are_not_listening():
    text = fixture_text("host-proc-net-tcp.txt")  # this machine: a listener and live connections
    sockets = procnet.parse_proc_net(text, "tcp", "little")
    assert any(not s["listening"] for s in sockets)
    assert [s["port"] for s in sockets if s["listening"]] and all(s["state"] == 0x0A for s in sockets if s["listening"])


def test_loopback_and_wildcard():
    assert procnet.is_loopback("127.0.0.53") and procnet.is_loopback("::1") and procnet.is_loopback("::ffff:127.0.0.1")
    assert not procnet.is_loopback("0.0.0.0") and not procnet.is_loopback("not an address")
    assert procnet.is_wildcard("::") and not procnet.is_wildcard("10.0.0.1")


# ------------------------------------------------------------------ /proc/PID

def test_guest_process_files(capture):
    status = proc.parse_status(capture["read"]["/proc/430/status"])
    assert status["name"] == "python3" and status["uid"] == 999 and status["gid"] == 997
    assert status["rss_bytes"] > 1024 * 1024
    assert proc.parse_cgroup(capture["read"]["/proc/430/cgroup"]) == "/system.slice/hybridops-web.service"
    utime, stime = proc.parse_stat_times(capture["read"]["/proc/430/stat"])
    assert utime + stime > 0


def test_cgroup_v1_and_units():
    v1 = "12:pids:/system.slice/nginx.service\n1:name=systemd:/system.slice/nginx.service\n0::/\n"
    assert proc.parse_cgroup(v1) == "/system.slice/nginx.service"
    assert proc.unit_from_cgroup("/system.slice/docker-0123abcd.scope") == "docker-0123abcd.scope"
    assert proc.unit_from_cgroup("/user.slice/user-0.slice/session-3.scope") == "session-3.scope"
    assert proc.unit_from_cgroup("/system.slice/containerd.service/sub") == "containerd.service"
    assert proc.unit_from_cgroup("/init.scope") == "init.scope"
    assert proc.unit_from_cgroup("/") is None


def test_stat_with_spaces_in_comm():
    line = "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 50 1000 10"
    assert proc.parse_stat_times(line) == (7, 3)


def test_cmdline_and_socket_links(capture):
    assert proc.parse_cmdline(b"/usr/bin/python3\0-m\0http.server\0") == ["/usr/bin/python3", "-m", "http.server"]
    links = [v for k, v in capture["readlink"].items() if k.startswith("/proc/430/fd/")]
    assert [proc.socket_inode(link) for link in links if proc.socket_inode(link)]
    assert proc.socket_inode("/dev/null") is None


def test_cgroup_usage_files():
    assert proc.parse_cpu_stat_usec("usage_usec 1487699\nuser_usec 1000\n") == 1487699
    assert proc.parse_cgroup_memory("18964480\n") == 18964480
    assert proc.parse_cgroup_memory("max") is None


# ------------------------------------------------------------------ systemctl

def test_show_web_unit(capture):
    units = [u for call in _show_output(capture) for u in systemd.parse_show(call["stdout"])]
    web = next(u for u in units if u.get("Id") == "hybridops-web.service")
    assert systemd.parse_exec(web["ExecStart"]) == [{
        "path": "/usr/bin/python3", "argv": ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/srv/www"],
        "ignore_errors": False}]
    assert systemd.parse_environment(web["Environment"]) == [("WEB_MODE", "production"), ("WEB_TITLE", "Hybrid Ops")]
    assert systemd.parse_environment_files(web["EnvironmentFiles"]) == [
        {"path": "/etc/default/hybridops-web", "optional": False}]
    assert web["StateDirectory"] == "hybridops-web" and web["ConfigurationDirectory"] == "hybridops-web"
    assert systemd.int_or_none(web["MemoryCurrent"]) > 0


def test_show_core_units():
    units = systemd.parse_show(fixture_text("systemctl-show-core.txt"))
    assert [u["Id"] for u in units] == ["systemd-journald.service", "systemd-networkd.service", "getty@tty1.service"]
    journald = units[0]
    assert journald["DeviceAllow"] == "char-rtc r char-* rw"  # printed on two lines
    assert journald["TriggeredBy"].split()[0] == "systemd-journald-audit.socket"
    getty = systemd.parse_exec(units[2]["ExecStart"])[0]
    assert getty["ignore_errors"] is True and getty["argv"][-1] == "$TERM"


def test_show_not_found():
    unit = systemd.parse_show(fixture_text("systemctl-show-not-found.txt"))[0]
    assert unit["Id"] == "nosuch.service" and unit["LoadState"] == "not-found"


def test_list_units(capture):
    call = next(c for c in capture["run"] if c["argv"][:2] == ["systemctl", "list-units"])
    units = systemd.parse_list_units(call["stdout"])
    names = [u["unit"] for u in units]
    assert "ssh.service" in names and "hybridops-web.service" in names
    ssh = units[names.index("ssh.service")]
    assert (ssh["load"], ssh["active"], ssh["sub"]) == ("loaded", "active", "running")


def test_env_file(capture):
    pairs = systemd.parse_env_file(capture["read"]["/etc/default/hybridops-web"])
    assert [k for k, _v in pairs] == ["WEB_GREETING", "WEB_API_TOKEN", "DB_PASSWORD"]
    assert dict(pairs)["DB_PASSWORD"] == "hunter2-pw-9931"  # quotes removed
    assert systemd.parse_env_file(capture["read"]["/etc/default/ssh"]) == [("SSHD_OPTS", "")]
    assert systemd.parse_env_file("export A='x y'\n; c\nB=\"q\\\"s\"\nC=1 \\\n2\n") == [
        ("A", "x y"), ("B", 'q"s'), ("C", "1 2")]


def test_expand_argv():
    env = {"OPTS": "-a  -b", "PORT": "80"}
    assert systemd.expand_argv(["/bin/d", "$OPTS", "--port=${PORT}", "$UNSET", "${UNSET}x"], env) == [
        "/bin/d", "-a", "-b", "--port=80", "x"]


def test_normalize_unit():
    assert systemd.normalize_unit("nginx") == "nginx.service"
    assert systemd.normalize_unit("ssh.socket") == "ssh.socket"
    assert systemd.normalize_unit("foo@bar.service") == "foo@bar.service"


# ------------------------------------------------------------------ packages

def test_dpkg_output(capture):
    searches = [c for c in capture["run"] if c["argv"][:2] == ["dpkg", "-S"]]
    owners = {}
    for call in searches:
        owners.update(packages.parse_dpkg_search(call["stdout"]))
    assert owners["/usr/sbin/sshd"] == ["openssh-server"]
    assert owners["/usr/bin/python3.11"] == ["python3.11-minimal"]
    query = next(c for c in capture["run"] if c["argv"][0] == "dpkg-query" and c["argv"][-1] == "openssh-server")
    version, conffiles = packages.parse_dpkg_query(query["stdout"])
    assert version.startswith("1:9.2p1") and "/etc/ssh/moduli" in conffiles


def test_dpkg_multiarch_and_diversions():
    text = ("diversion by dash from: /bin/sh\nlibc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n"
            "libc-bin, libc6:amd64: /etc/ld.so.conf.d\n")
    owners = packages.parse_dpkg_search(text)
    assert owners == {"/lib/x86_64-linux-gnu/libc.so.6": ["libc6"], "/etc/ld.so.conf.d": ["libc-bin", "libc6"]}


def test_rpm_output():
    assert packages.parse_rpm_qf("openssh-server\t8.7p1-38.el9\n") == ("openssh-server", "8.7p1-38.el9")
    assert packages.parse_rpm_qf("file /usr/local/bin/x is not owned by any package\n") == (None, None)


def test_path_candidates():
    assert packages.path_candidates("/usr/bin/bash")[:2] == ["/usr/bin/bash", "/bin/bash"] or \
        "/bin/bash" in packages.path_candidates("/usr/bin/bash")
    assert "/usr/sbin/sshd" in packages.path_candidates("/sbin/sshd")


def test_package_db_falls_back_to_rpm():
    calls = []

    def run(argv):
        calls.append(argv)
        if argv[:2] == ["rpm", "-qf"] and argv[-1] == "/usr/sbin/sshd":
            return 0, "openssh-server\t8.7p1-38.el9\n", ""
        return 1, "", "file %s is not owned by any package\n" % argv[-1]

    db = packages.PackageDB(run, "rpm")
    assert db.owner("/usr/sbin/sshd") == "openssh-server"
    assert db.owner("/usr/sbin/sshd") == "openssh-server" and len(calls) == 1  # cached
    assert packages.detect_manager(lambda n: "/usr/bin/" + n if n == "rpm" else None) == "rpm"


# ------------------------------------------------------------------ paths

@pytest.mark.parametrize("path,kind", [
    ("/etc/nginx/nginx.conf", "config"), ("/etc/pam.d/sshd", None), ("/etc/default/ssh", None),
    ("/var/lib/redis/dump.rdb", "data"), ("/srv/www", "data"), ("/var/log/nginx/access.log", "log"),
    ("/usr/lib/x86_64-linux-gnu/libc.so.6", None), ("/dev/null", None), ("/etc", None), ("relative", None),
    ("/etc/ld.so.cache", None), ("/var/lib", None),
])
def test_classify(path, kind):
    assert paths.classify(path) == kind


def test_reduce_and_group():
    assert paths.reduce_paths(["/srv/www/index.html", "/srv/www", "/srv/www/", "/var/lib/a"]) == ["/srv/www", "/var/lib/a"]
    isdir = {"/etc/nginx", "/etc/ssh"}.__contains__
    assert paths.group_config(["/etc/nginx/nginx.conf", "/etc/nginx/mime.types", "/etc/foo.conf"], isdir) == [
        "/etc/nginx", "/etc/foo.conf"]
    assert paths.group_config(["/etc/ssh/moduli"], isdir) == ["/etc/ssh/moduli"]
    assert paths.group_config(["/etc/ssh/moduli"], isdir, ["ssh.service", "openssh-server"]) == ["/etc/ssh"]


def test_command_paths():
    assert paths.command_paths(["/usr/bin/app", "--config=/etc/app.conf", "-d", "/srv/data", "8080"]) == [
        ("/etc/app.conf", "option --config"), ("/srv/data", "argument")]


def test_command_paths_option_forms_and_relative_files():
    argv = ["/usr/local/bin/shopd", "-c", "/etc/shop/x.conf", "-f/etc/shop/y.conf", "--conf", "conf/z.yml",
            "--defaults-file=my.cnf", "--log-dir=/var/log/shop", "--port", "8080", "-v", "serve",
            "http.server", "app.ini", "DB=/srv/db", "--url=http://localhost/x"]
    assert paths.command_paths(argv, "/opt/shop") == [
        ("/etc/shop/x.conf", "option -c"),
        ("/etc/shop/y.conf", "option -f"),
        ("/opt/shop/conf/z.yml", "option --conf relative to WorkingDirectory="),
        ("/opt/shop/my.cnf", "option --defaults-file relative to WorkingDirectory="),
        ("/var/log/shop", "option --log-dir"),
        ("/opt/shop/app.ini", "argument relative to WorkingDirectory="),
        ("/srv/db", "argument"),
    ]
    # no WorkingDirectory= (or /): relative words name nothing we can find
    assert paths.command_paths(["/usr/bin/app", "-c", "app.conf"]) == []
    assert paths.command_paths(["/usr/bin/app", "-c", "app.conf"], "/") == []
    # a value is taken once, by its option (not again as a bare word)
    assert paths.command_paths(["/usr/bin/app", "--config", "/etc/a.conf", "/etc/a.conf"]) == [
        ("/etc/a.conf", "option --config")]


def test_well_known_config():
    assert paths.well_known_config(["/usr/sbin/nginx", None, "nginx.service", "nginx-core"]) == [
        ("/etc/nginx", "nginx")]
    assert paths.well_known_config(["/usr/lib/postgresql/15/bin/postgres"])[0] == ("/etc/postgresql", "postgres")
    assert paths.well_known_config([None, None, "postgresql@15-main.service"])[0] == ("/etc/postgresql", "postgres")
    assert paths.well_known_config(["/usr/sbin/php-fpm8.2"])[0] == ("/etc/php", "php-fpm")
    assert [p for p, _program in paths.well_known_config(["/usr/sbin/mariadbd"])] == [
        "/etc/mysql", "/etc/my.cnf", "/etc/my.cnf.d"]
    assert paths.well_known_config(["/usr/bin/redis-check-rdb", None, "redis-server.service"]) == [
        ("/etc/redis", "redis-server"), ("/etc/redis.conf", "redis-server")]
    assert paths.well_known_config(["/usr/bin/memcached"]) == [("/etc/memcached.conf", "memcached")]
    assert paths.well_known_config(["/usr/bin/python3.11", "/usr/bin/python3", "shop-api.service", None]) == []
    # every listed location is a config path (under /etc, not host integration)
    for locations in paths.WELL_KNOWN_CONFIG.values():
        assert all(paths.classify(p) == "config" for p in locations), locations
    assert all(v in paths.WELL_KNOWN_CONFIG for v in paths.WELL_KNOWN_ALIASES.values())


def test_limits():
    # `systemctl show -p Id,MemoryMax,CPUQuotaPerSecUSec` on the guest: a transient unit with
    # MemoryMax=256M CPUQuota=50%, and ssh.service without limits
    limited, ssh = systemd.parse_show(fixture_text("systemctl-show-limits.txt"))
    assert systemd.int_or_none(limited["MemoryMax"]) == 256 * 1024 * 1024
    assert systemd.timespan_seconds(limited["CPUQuotaPerSecUSec"]) == 0.5
    assert systemd.int_or_none(ssh["MemoryMax"]) is None
    assert systemd.timespan_seconds(ssh["CPUQuotaPerSecUSec"]) is None
    assert systemd.timespan_seconds("1min 30s") == 90.0


def test_passwd_lookup():
    from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import parse_passwd
    passwd = fixture_text("etc-passwd-excerpt.txt")  # lines of the guest's /etc/passwd
    assert parse_passwd(passwd, "root") == (0, 0)
    uid, gid = parse_passwd(passwd, "systemd-network")
    assert uid > 0 and gid > 0
    assert parse_passwd(passwd, "nobody-here") == (None, None)
