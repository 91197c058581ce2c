# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From discovered service facts to a verdict (migratable?) and a proposed container spec.

``propose_container_spec(service)`` returns options for
``hybridops.fleet.container`` (and members of ``container_stack``): name,
image, command, env, ports, mounts, user, working_dir, restart_policy,
healthcheck, labels, and memory/cpus when the unit sets MemoryMax=/CPUQuota=. Secret variables are never in it: their names are in the
service's ``secret_env_keys`` and the caller supplies their values through the
container module's ``secret_env`` (no_log) option, e.g. read from the service's
EnvironmentFile on the VM.
"""

from __future__ import annotations

import fnmatch
import re

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.procnet import is_loopback, is_wildcard

# units that make the VM a VM: never proposed for migration (glob patterns)
CORE_UNITS = (
    "systemd-*", "dbus*", "ssh.service", "sshd.service", "sshd@*", "getty@*", "serial-getty@*",
    "console-getty.service", "user@*", "user-runtime-dir@*", "cron.service", "crond.service",
    "anacron.service", "atd.service", "rsyslog.service", "syslog*", "auditd.service", "polkit*",
    "udisks2.service", "NetworkManager*", "networking.service", "ifup@*", "dhcpcd*", "dhclient*",
    "wpa_supplicant*", "chrony*", "ntp*", "openntpd*", "cloud-*", "qemu-guest-agent.service",
    "docker.service", "containerd.service", "podman*", "libvirtd*", "virt*", "firewalld.service",
    "ufw.service", "apparmor.service", "unattended-upgrades.service", "snapd*", "lvm2-*",
    "multipathd*", "irqbalance.service", "ModemManager.service", "accounts-daemon.service",
    "rpcbind*", "nfs-*", "iscsid*", "tuned.service", "kdump*", "sssd*", "avahi-daemon*",
    "getty*", "plymouth*", "kmod*", "e2scrub*", "fstrim*", "apt-*", "dpkg-*", "man-db*",
    "logrotate.service", "rc-local.service", "emergency.service", "rescue.service", "ifupdown*",
    "open-iscsi*", "dnf-*", "packagekit*", "rhsmcertd*", "insights-*", "sysstat*", "smartd*",
)

HTTP_PORTS = frozenset((80, 8000, 8008, 8080, 8081, 8088, 8888, 3000, 5000, 9000, 9090))
HTTPS_PORTS = frozenset((443, 8443))
HTTP_BINARIES = ("nginx", "apache2", "httpd", "lighttpd", "caddy", "gunicorn", "uvicorn", "hypercorn", "traefik")

# capabilities that tie a process to the host kernel or network
HOST_CAPS = ("cap_net_admin", "cap_sys_admin", "cap_sys_module", "cap_sys_time", "cap_sys_rawio",
             "cap_sys_boot", "cap_bpf", "cap_perfmon", "cap_sys_ptrace", "cap_mknod", "cap_sys_resource")
# devices any process may hold open without needing the host
HARMLESS_DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full", "/dev/tty",
                    "/dev/console", "/dev/ptmx", "/dev/pts/", "/dev/shm/", "/dev/log", "/dev/stdin",
                    "/dev/stdout", "/dev/stderr")

# package or binary name -> official image name (a guess; the caller may override)
IMAGE_GUESSES = (
    (r"^nginx", "nginx"), (r"^(apache2|httpd)", "httpd"), (r"^redis", "redis"),
    (r"^postgresql", "postgres"), (r"^mariadb", "mariadb"), (r"^mysql", "mysql"),
    (r"^memcached", "memcached"), (r"^haproxy", "haproxy"), (r"^rabbitmq", "rabbitmq"),
    (r"^mosquitto", "eclipse-mosquitto"), (r"^(nodejs|node)$", "node"), (r"^caddy", "caddy"),
    (r"^traefik", "traefik"), (r"^mongo", "mongo"), (r"^(squid)", "ubuntu/squid"),
)
STANDARD_BIN_DIRS = ("/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/local/bin/", "/usr/local/sbin/")


def is_core_unit(unit):
    return any(fnmatch.fnmatchcase(unit, pattern) for pattern in CORE_UNITS)


def container_name(unit):
    """'hybridops-web.service' -> 'hybridops-web'; 'foo@bar.service' -> 'foo-bar'."""
    base = re.sub(r"\.service$", "", unit)
    name = re.sub(r"[^a-zA-Z0-9_.-]+", "-", base).strip("-.")
    return name or "service"


def _interpreter(binary):
    """'/usr/bin/python3.11' -> ('python', '3.11'); other binaries -> (None, None)."""
    match = re.match(r"^python(\d)(?:\.(\d+))?$", (binary or "").rsplit("/", 1)[-1])
    if match:
        return "python", "%s.%s" % (match.group(1), match.group(2)) if match.group(2) else match.group(1)
    return None, None


def _short_version(version):
    """Debian/RPM version '1.22.1-9+deb12u1' -> '1.22'; None when it does not look like x.y."""
    match = re.match(r"^(?:\d+:)?(\d+)\.(\d+)", version or "")
    return "%s.%s" % (match.group(1), match.group(2)) if match else None


def guess_image(service, os_release=None):
    """(image, reason) for a service: official image by package/binary, or the OS base image."""
    kind, version = _interpreter(service.get("binary"))
    if kind == "python":
        return "python:%s-slim" % version, "the service runs the Python %s interpreter" % version
    names = [n for n in (service.get("package"), (service.get("binary") or "").rsplit("/", 1)[-1]) if n]
    for name in names:
        for pattern, image in IMAGE_GUESSES:
            if re.search(pattern, name):
                short = _short_version(service.get("package_version")) if name == service.get("package") else None
                tag = ":" + short if short else ""
                return image + tag, "official image for %s%s" % (name, " " + short if short else "")
    os_release = os_release or {}
    if os_release.get("ID") and os_release.get("VERSION_ID"):
        base = "%s:%s" % (os_release["ID"], os_release["VERSION_ID"].split(".")[0])
        return base, ("no known image for %s; %s is the VM's own OS, usable to lift the service's files "
                      "into an image" % (names[0] if names else service.get("unit"), base))
    return None, "no known image for this service: name one"


def guess_probe(service):
    """How to tell the service is healthy from outside: {type: http|https|tcp|udp, port, path}."""
    listen = service.get("listen") or []
    tcp = [s for s in listen if s["proto"] == "tcp"]
    if not tcp:
        udp = [s for s in listen if s["proto"] == "udp"]
        return {"type": "udp", "port": udp[0]["port"]} if udp else None
    # prefer ports reachable from outside, then the lowest
    tcp.sort(key=lambda s: (is_loopback(s["address"]), s["port"]))
    port = tcp[0]["port"]
    argv = " ".join(service.get("exec_start") or [])
    binary = (service.get("binary") or "").rsplit("/", 1)[-1]
    httpish = any(binary.startswith(b) for b in HTTP_BINARIES) or "http.server" in argv \
        or any(b in (service.get("package") or "") for b in HTTP_BINARIES)
    if port in HTTPS_PORTS:
        return {"type": "https", "port": port, "path": "/"}
    if port in HTTP_PORTS or httpish:
        return {"type": "http", "port": port, "path": "/"}
    return {"type": "tcp", "port": port}


def guess_healthcheck(service, image):
    """A Docker healthcheck for the probe, written for what the image is likely to contain."""
    probe = service.get("probe") or guess_probe(service)
    if not probe or probe["type"] == "udp":
        return None
    port = probe["port"]
    python = (image or "").startswith("python") or _interpreter(service.get("binary"))[0] == "python"
    if python:
        if probe["type"] in ("http", "https"):
            client = "HTTPSConnection" if probe["type"] == "https" else "HTTPConnection"
            context = ", context=__import__('ssl')._create_unverified_context()" if probe["type"] == "https" else ""
            code = ("import http.client, sys; c = http.client.%s('127.0.0.1', %d, timeout=5%s); "
                    "c.request('GET', '%s'); sys.exit(c.getresponse().status >= 500)"
                    % (client, port, context, probe.get("path", "/")))
        else:
            code = "import socket; socket.create_connection(('127.0.0.1', %d), 5).close()" % port
        test = ["CMD", "python3", "-c", code]
    elif probe["type"] in ("http", "https"):
        scheme = probe["type"]
        url = "%s://127.0.0.1:%d%s" % (scheme, port, probe.get("path", "/"))
        test = ["CMD-SHELL", "curl -fsSk -o /dev/null %s || wget -q --no-check-certificate -O /dev/null %s || exit 1"
                % (url, url)]
    else:
        test = ["CMD-SHELL", "nc -z 127.0.0.1 %d || exit 1" % port]
    return {"test": test, "interval": "10s", "timeout": "5s", "retries": 3, "start_period": "10s"}


def assess(service, devices=None, raw_sockets=False):
    """(migratable, reasons, notes): reasons block a migration, notes are caveats."""
    reasons = []
    notes = []
    unit = service["unit"]
    if is_core_unit(unit):
        reasons.append("%s is part of the VM's own operating system (core/infrastructure service)" % unit)
    binary = service.get("binary") or ""
    if binary.startswith(("/usr/lib/systemd/", "/lib/systemd/")):
        reasons.append("runs a systemd component (%s)" % binary)
    if service.get("type") == "oneshot":
        reasons.append("Type=oneshot: a task, not a long-running daemon")
    if not service.get("exec_start"):
        reasons.append("no ExecStart command")
    caps = [c for c in (service.get("ambient_capabilities") or []) if c in HOST_CAPS]
    if caps:
        reasons.append("needs kernel capabilities %s (AmbientCapabilities)" % ", ".join(caps))
    if service.get("device_allow"):
        reasons.append("needs host devices (DeviceAllow=%s)" % service["device_allow"])
    for dev in devices or []:
        reasons.append("holds host device %s open" % dev)
    if raw_sockets:
        reasons.append("uses raw or packet sockets (needs the host network)")
    if service.get("active_state") != "active":
        notes.append("not running: listening ports, open files and resource usage could not be observed")
    if service.get("type") == "forking":
        notes.append("Type=forking: the container command must keep the daemon in the foreground "
                     "(e.g. nginx -g 'daemon off;')")
    if service.get("triggered_by"):
        notes.append("socket-activated by %s: in a container the daemon must open its port itself"
                     % ", ".join(service["triggered_by"]))
    for sock in service.get("listen") or []:
        if is_loopback(sock["address"]):
            notes.append("%s port %d listens on loopback only (%s): inside a container it must listen on all "
                         "addresses for the published port to work" % (sock["proto"], sock["port"], sock["address"]))
        elif not is_wildcard(sock["address"]):
            notes.append("%s port %d is bound to the host address %s: the proposal publishes it on that address"
                         % (sock["proto"], sock["port"], sock["address"]))
    if not service.get("listen") and service.get("active_state") == "active":
        notes.append("listens on no port: health can only be checked through the container's state")
    if (service.get("uid") or 0) == 0 and service.get("active_state") == "active":
        notes.append("runs as root")
    if service.get("secret_env_keys"):
        notes.append("secret variables %s are left out of the spec: pass them with the container module's "
                     "secret_env option" % ", ".join(service["secret_env_keys"]))
    return not reasons, reasons, notes


def _ports(listen):
    seen = []
    for sock in listen or []:
        if is_wildcard(sock["address"]):
            host_ip = ""
        elif is_loopback(sock["address"]):
            host_ip = "127.0.0.1"
        elif sock["family"] == 6:
            host_ip = "[%s]" % sock["address"]
        else:
            host_ip = sock["address"]
        entry = "%s%d:%d/%s" % (host_ip + ":" if host_ip else "", sock["port"], sock["port"], sock["proto"])
        wild = "%d:%d/%s" % (sock["port"], sock["port"], sock["proto"])
        if entry in seen or wild in seen:
            continue
        if not host_ip:
            # a wildcard binding covers the specific ones of the same port
            seen = [p for p in seen if not p.endswith(":" + wild)]
        seen.append(entry)
    return seen


def _command(service):
    argv = list(service.get("command") or service.get("exec_start") or [])
    if argv and argv[0].startswith(STANDARD_BIN_DIRS):
        argv[0] = argv[0].rsplit("/", 1)[-1]
    return argv


def propose_container_spec(service, os_release=None):
    """A ``hybridops.fleet.container`` spec that runs ``service`` the way systemd runs it."""
    image, _reason = guess_image(service, os_release)
    mounts = []
    for path in service.get("config_paths") or []:
        mounts.append({"type": "bind", "source": path, "target": path, "read_only": True})
    for path in (service.get("data_paths") or []) + (service.get("log_paths") or []):
        mounts.append({"type": "bind", "source": path, "target": path, "read_only": False})
    restart = service.get("restart") or "no"
    if service.get("enabled") or restart == "always":
        restart_policy = "unless-stopped"
    elif restart != "no":
        restart_policy = "on-failure"
    else:
        restart_policy = "no"
    spec = {
        "name": container_name(service["unit"]),
        "image": image,
        "command": _command(service),
        "env": dict((k, v) for k, v in (service.get("environment") or {}).items()
                    if k not in (service.get("secret_env_keys") or [])),
        "ports": _ports(service.get("listen")),
        "mounts": mounts,
        "restart_policy": restart_policy,
        "labels": {"hybridops.fleet.source-unit": service["unit"]},
    }
    if service.get("uid"):
        spec["user"] = "%d:%d" % (service["uid"], service.get("gid") or 0)
    workdir = service.get("working_directory")
    if workdir and workdir.startswith("/") and workdir != "/":
        spec["working_dir"] = workdir
    # the unit's own limits carry over (MemoryMax=, CPUQuota=)
    if service.get("memory_max"):
        spec["memory"] = str(service["memory_max"])
    if service.get("cpu_quota"):
        spec["cpus"] = service["cpu_quota"]
    health = guess_healthcheck(service, image)
    if health:
        spec["healthcheck"] = health
    return spec
