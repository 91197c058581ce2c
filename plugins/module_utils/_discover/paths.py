# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which paths a service needs: configuration (read-only in a container) and data (read-write).

Pure functions over path strings; existence checks go through an ``exists``
callable so unit tests do not depend on the machine.
"""

from __future__ import annotations

import posixpath
import re

CONFIG_ROOTS = ("/etc/",)
DATA_ROOTS = ("/var/lib/", "/srv/", "/var/www/", "/var/opt/", "/opt/", "/home/", "/var/spool/", "/var/cache/")
LOG_ROOTS = ("/var/log/",)
# never worth mounting: the OS itself, pseudo file systems, per-boot state
IGNORED_ROOTS = ("/proc/", "/sys/", "/dev/", "/run/", "/tmp/", "/var/tmp/", "/usr/", "/lib/", "/lib64/",
                 "/bin/", "/sbin/", "/boot/", "/var/run/", "/var/lock/", "/memfd:", "/etc/ld.so.cache",
                 "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/nsswitch.conf",
                 "/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/ssl/certs/")
# package config files that belong to the host integration, not to the service itself
HOST_CONFIG = ("/etc/init.d/", "/etc/init/", "/etc/systemd/", "/etc/pam.d/", "/etc/logrotate.d/",
               "/etc/default/", "/etc/sysconfig/", "/etc/cron.", "/etc/ufw/", "/etc/apparmor.d/",
               "/etc/rsyslog.d/", "/etc/sudoers.d/", "/etc/security/", "/etc/profile.d/",
               "/etc/bash_completion.d/", "/etc/network/", "/etc/insserv.conf.d/", "/etc/X11/",
               "/etc/xdg/", "/etc/dbus-1/", "/etc/modprobe.d/", "/etc/sysctl.d/", "/etc/tmpfiles.d/",
               "/etc/update-motd.d/", "/etc/firewalld/", "/etc/selinux/", "/etc/sv/", "/etc/runit/",
               "/etc/monit/", "/etc/logcheck/", "/etc/kernel/", "/etc/apt/", "/etc/dpkg/")


def normalize(path):
    """Absolute, normalized path, or None for anything that is not an absolute path."""
    if not path or not path.startswith("/"):
        return None
    path = path.split(" (deleted)")[0]
    return posixpath.normpath(path)


def _under(path, roots):
    probe = path if path.endswith("/") else path + "/"
    return any(probe.startswith(root) or path.startswith(root) for root in roots)


def classify(path):
    """'config', 'data', 'log' or None (not worth mounting)."""
    path = normalize(path)
    if not path or path in ("/", "/etc", "/var", "/var/lib", "/srv", "/opt", "/home", "/var/www"):
        return None
    if _under(path, IGNORED_ROOTS):
        return None
    if _under(path, CONFIG_ROOTS):
        return None if _under(path, HOST_CONFIG) else "config"
    if _under(path, LOG_ROOTS):
        return "log"
    if _under(path, DATA_ROOTS):
        return "data"
    return None


# options whose value names a config file (``--config=PATH``, ``-c PATH``, ``--defaults-file PATH``)
CONFIG_OPTIONS = ("-c", "-f", "--config", "--conf", "--config-file", "--configfile", "--conf-file", "--conffile",
                  "--config-path", "--cfg", "--settings", "--defaults-file", "--defaults-extra-file", "--rcfile")
# a relative word with one of these endings names a file (resolved against WorkingDirectory=)
CONFIG_SUFFIXES = (".conf", ".cfg", ".cnf", ".ini", ".yml", ".yaml", ".json", ".toml", ".properties", ".xml",
                   ".env", ".hcl", ".lua", ".py", ".rb", ".js")


def _is_config_option(name):
    name = name.lower()
    return name in CONFIG_OPTIONS or (name.startswith("--") and ("config" in name or "conf" in name))


def _relative_file(value):
    """A relative word that names a file: ``conf/app.conf``, ``app.ini``, ``./x`` (not ``8080``, not ``-v``)."""
    if not value or value.startswith(("/", "-", "$", "~")) or "=" in value or "://" in value:
        return False
    return "/" in value.strip("/") or value.startswith("./") or value.lower().endswith(CONFIG_SUFFIXES)


def command_paths(argv, workdir=None):
    """Paths a command line names, each with how: ``[(path, how)]``, in argv order.

    - a bare absolute word (``/etc/app/x.conf``): ``argument``
    - the value of an option, given as ``--config=PATH``, ``--config PATH``, ``-c PATH`` or ``-cPATH``:
      ``option --config`` (any ``--...=/abs`` value counts too, as ``option --name``)
    - a relative value of such an option, or a relative word that looks like a file (``conf/x.conf``,
      ``app.ini``), resolved against ``workdir`` (WorkingDirectory=) when that is absolute:
      ``... relative to WorkingDirectory=``
    Whether the path exists and what kind it is are the caller's business.
    """
    found = []
    seen = set()
    base = workdir if workdir and workdir.startswith("/") and workdir != "/" else None

    def keep(value, how):
        relative = not value.startswith("/")
        if relative:
            if not base or not _relative_file(value):
                return
            value = posixpath.join(base, value)
            how += " relative to WorkingDirectory="
        path = normalize(value)
        if path and path not in seen:
            seen.add(path)
            found.append((path, how))

    words = list(argv[1:])
    for index, word in enumerate(words):
        previous = words[index - 1] if index else ""
        if word.startswith("-"):
            name, sep, value = word.partition("=")
            if sep and value:
                if value.startswith("/") or _is_config_option(name):
                    keep(value, "option " + name)
            elif len(word) > 2 and word[1] != "-" and word[2] == "/":
                keep(word[2:], "option " + word[:2])  # -c/etc/app.conf
            continue
        if previous.startswith("-") and "=" not in previous and _is_config_option(previous):
            keep(word, "option " + previous)
        elif word.startswith("/"):
            keep(word, "argument")
        else:
            _name, sep, value = word.partition("=")
            if sep and value.startswith("/"):
                keep(value, "argument")  # key=/path
            else:
                keep(word, "argument")
    return found


# where programs read their configuration when nothing on the command line says otherwise
# (the binary's, the unit's or the package's name, version suffixes dropped: php-fpm8.2 -> php-fpm)
WELL_KNOWN_CONFIG = {
    "nginx": ("/etc/nginx",),
    "httpd": ("/etc/httpd",),
    "apache2": ("/etc/apache2",),
    "lighttpd": ("/etc/lighttpd",),
    "caddy": ("/etc/caddy",),
    "haproxy": ("/etc/haproxy",),
    "varnishd": ("/etc/varnish",),
    "squid": ("/etc/squid",),
    "traefik": ("/etc/traefik",),
    "redis-server": ("/etc/redis", "/etc/redis.conf"),
    "redis-sentinel": ("/etc/redis", "/etc/redis-sentinel.conf"),
    "valkey-server": ("/etc/valkey",),
    "memcached": ("/etc/memcached.conf",),
    "postgres": ("/etc/postgresql", "/etc/postgresql-common"),
    "pg_ctlcluster": ("/etc/postgresql", "/etc/postgresql-common"),
    "mysqld": ("/etc/mysql", "/etc/my.cnf", "/etc/my.cnf.d"),
    "mariadbd": ("/etc/mysql", "/etc/my.cnf", "/etc/my.cnf.d"),
    "mysqld_safe": ("/etc/mysql", "/etc/my.cnf", "/etc/my.cnf.d"),
    "mongod": ("/etc/mongod.conf",),
    "php-fpm": ("/etc/php", "/etc/php-fpm.conf", "/etc/php-fpm.d"),
    "uwsgi": ("/etc/uwsgi",),
    "named": ("/etc/bind", "/etc/named.conf", "/etc/named"),
    "unbound": ("/etc/unbound",),
    "dnsmasq": ("/etc/dnsmasq.conf", "/etc/dnsmasq.d"),
    "mosquitto": ("/etc/mosquitto",),
    "rabbitmq-server": ("/etc/rabbitmq",),
    "dovecot": ("/etc/dovecot",),
    "postfix": ("/etc/postfix",),
    "vsftpd": ("/etc/vsftpd.conf",),
    "grafana-server": ("/etc/grafana",),
    "grafana": ("/etc/grafana",),
    "prometheus": ("/etc/prometheus",),
    "influxd": ("/etc/influxdb",),
    "elasticsearch": ("/etc/elasticsearch",),
    "etcd": ("/etc/etcd",),
    "consul": ("/etc/consul.d",),
    "vault": ("/etc/vault.d",),
    "tomcat": ("/etc/tomcat",),
}
# other names of the same program (a unit or package name -> the table's key)
WELL_KNOWN_ALIASES = {
    "redis": "redis-server", "postgresql": "postgres", "mysql": "mysqld", "mariadb": "mariadbd",
    "mongodb": "mongod", "bind": "named", "rabbitmq": "rabbitmq-server", "apache": "apache2",
    "nginx-core": "nginx", "nginx-full": "nginx", "nginx-light": "nginx", "nginx-extras": "nginx",
    "mysql-server": "mysqld", "mariadb-server": "mariadbd", "mysql-server-core": "mysqld",
    "mariadb-server-core": "mariadbd", "haproxy-server": "haproxy", "memcache": "memcached",
    "php-fpm": "php-fpm", "php": "php-fpm",
}


def _well_known_key(name):
    if not name:
        return None
    base = posixpath.basename(name).split("@")[0]
    if base.endswith(".service"):
        base = base[:-len(".service")]
    for candidate in (base, re.sub(r"[-.]?[0-9][0-9.]*$", "", base)):
        candidate = candidate.lower()
        if candidate in WELL_KNOWN_CONFIG:
            return candidate
        if candidate in WELL_KNOWN_ALIASES:
            return WELL_KNOWN_ALIASES[candidate]
    return None


def well_known_config(names):
    """The well-known config locations of the program behind ``names`` (binary, ExecStart path, unit,
    package): ``[(path, program)]``; the first name the table knows decides."""
    for name in names:
        key = _well_known_key(name)
        if key:
            return [(path, key) for path in WELL_KNOWN_CONFIG[key]]
    return []


# absolute paths under these roots, as a config file names them (include directives, certificate and key
# files, data directories): after start, quote, '=', ':', '(' or ','; up to a space, quote or delimiter
_REFERENCE = re.compile(r"""(?:^|[\s"'=:(,])(/(?:etc|srv|opt|var/lib|var/www)/[^\s"';,<>(){}\[\]|`$]+)""")
_GLOB = re.compile(r"[*?]")


def referenced_paths(text, limit=100):
    """Absolute paths a config file's text names, outside comment lines, in order (at most ``limit``).

    ``include /etc/nginx/conf.d/*.conf;`` gives the directory before the first glob character
    (``/etc/nginx/conf.d``); trailing dots and slashes are dropped. Whether a path exists, and what kind
    it is, is the caller's business.
    """
    found = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;" or stripped.startswith("//"):
            continue
        for match in _REFERENCE.finditer(stripped):
            path = match.group(1)
            glob = _GLOB.search(path)
            if glob:
                path = path[:glob.start()].rsplit("/", 1)[0]
            path = normalize(path.rstrip("."))
            if path and path not in found:
                found.append(path)
                if len(found) >= limit:
                    return found
    return found


# interpreters: their own /etc locations say nothing about the program they run
INTERPRETERS = ("python", "perl", "ruby", "node", "nodejs", "java", "php", "sh", "bash", "dash", "busybox", "env")


def value_paths(value):
    """Absolute paths in an environment value: the whole value, or the items of a : or , separated list."""
    found = []
    for candidate in value.replace(",", ":").split(":"):
        path = normalize(candidate.strip())
        if path and path not in found:
            found.append(path)
    return found


def _program(name):
    """'nginx.service' -> 'nginx'; '/usr/sbin/php-fpm8.2' -> 'php-fpm8.2'; interpreters -> None."""
    if not name:
        return None
    base = posixpath.basename(name).split("@")[0]
    if base.endswith(".service"):
        base = base[:-len(".service")]
    if len(base) < 3 or base.rstrip("0123456789.").rstrip("-") in INTERPRETERS:
        return None
    return base


def own_config_candidates(unit, binary=None, package=None, exec_path=None):
    """Where a service's own configuration lives without a package saying so: /etc/NAME, /etc/NAME.conf
    and /etc/NAME.d for the unit's name (and its first dash-separated part: the app of ``shop-api``),
    the binary's (and the ExecStart path's, when a link) and the package's names. Interpreters
    (python3, java, ...) are skipped."""
    names = []
    program = _program(unit)
    if program:
        names.append(program)
        head = program.split("-")[0]
        if len(head) >= 3 and head != program:
            names.append(head)
    for other in (binary, exec_path, package):
        program = _program(other)
        if program and program not in names:
            names.append(program)
    result = []
    for name in names:
        for path in ("/etc/" + name, "/etc/%s.conf" % name, "/etc/%s.d" % name):
            if classify(path) == "config" and path not in result:
                result.append(path)
    return result


def sources_of(paths, found):
    """For each kept path, where the paths it covers were found: {path: [source, ...]}."""
    result = {}
    for path in paths:
        prefix = path.rstrip("/") + "/"
        where = []
        for candidate, sources in found.items():
            if candidate == path or candidate.startswith(prefix):
                where.extend(s for s in sources if s not in where)
        result[path] = where
    return result


def reduce_paths(paths):
    """Drop duplicates and paths inside another listed directory path; keep order."""
    unique = []
    for path in paths:
        path = normalize(path)
        if path and path not in unique:
            unique.append(path)
    result = []
    for path in unique:
        if any(other != path and path.startswith(other.rstrip("/") + "/") for other in unique):
            continue
        result.append(path)
    return result


def _related(name, names):
    """/etc/ssh belongs to openssh-server / ssh.service / sshd: one name contains the other."""
    name = name.lower()
    for other in names:
        other = (other or "").lower().rsplit("/", 1)[-1].split(".")[0]
        if len(name) >= 3 and len(other) >= 3 and (name in other or other in name):
            return True
    return False


def group_config(paths, isdir, names=()):
    """Config files in a directory /etc/NAME become that directory when there are 2 or more of them,
    or when NAME is the service's own (related to one of ``names``: package, unit, binary).

    Mounting /etc/nginx beats mounting its 20 files one by one, and brings the
    files that are not package conffiles (sshd_config is generated, not shipped);
    a lone unrelated file stays a file mount.
    """
    by_dir = {}
    for path in paths:
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "etc":
            top = "/etc/" + parts[2]
            by_dir.setdefault(top, []).append(path)
    result = []
    for path in paths:
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "etc":
            top = "/etc/" + parts[2]
            if (len(by_dir[top]) >= 2 or _related(parts[2], names)) and isdir(top) and classify(top) == "config":
                result.append(top)
                continue
        result.append(path)
    return reduce_paths(result)
