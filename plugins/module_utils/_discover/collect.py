# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery of what a systemd host runs: ``discover(params, run, reader, which)`` -> result dict.

Read-only by construction: it reads /proc, /sys/fs/cgroup and files the
units name, and runs ``systemctl show/list-units``, ``dpkg -S``/``dpkg-query``
or ``rpm -qf``/``rpm -qc``. ``run(argv) -> (rc, stdout, stderr)`` and
``which(name) -> path or None`` are injected (AnsibleModule in the module,
captured outputs in unit tests); ``reader`` is a :class:`ProcReader`.
"""

from __future__ import annotations

import os
import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import FleetError, ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._discover import paths, systemd
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.packages import PackageDB, detect_manager
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.procnet import (
    established_sockets,
    listening_sockets,
    parse_fib_trie_local,
    parse_if_inet6,
    unit_connections,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.secrets import (
    is_secret_name,
    redact_argv,
    redact_env,
    redact_text,
    scrub,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.spec import (
    HARMLESS_DEVICES,
    assess,
    guess_image,
    guess_probe,
    is_core_unit,
    propose_container_spec,
)


class SystemdMissingError(FleetError):
    """The host is not managed by systemd (PID 1 is something else)."""


def check_systemd(reader):
    """Raise SystemdMissingError unless systemd is PID 1 (sd_booted(): /run/systemd/system exists)."""
    comm = (reader.read("proc/1/comm") or "").strip()
    booted = reader.isdir("/run/systemd/system")
    if comm == "systemd" or (booted and comm in ("", "init")):
        return
    raise SystemdMissingError(
        "vm_discover needs a host whose PID 1 is systemd; PID 1 here is %r%s. Discovery reads units "
        "through systemctl and maps processes to units through their systemd cgroup."
        % (comm or "unknown", "" if booted else " and /run/systemd/system does not exist"),
        pid1=comm or None)


def parse_os_release(text):
    result = {}
    for key, value in systemd.parse_env_file(text or ""):
        result[key] = value
    return result


def _raw_inodes(reader):
    """Inodes of raw and packet sockets (a process holding one needs the host network)."""
    inodes = set()
    for name in ("raw", "raw6", "packet"):
        text = reader.read("proc/net/" + name) or ""
        lines = text.splitlines()[1:]
        for line in lines:
            fields = line.split()
            if not fields:
                continue
            column = -1 if name == "packet" else 9
            try:
                inodes.add(int(fields[column]))
            except (ValueError, IndexError):
                continue
    return inodes


def _run_ok(run, argv):
    rc, out, err = run(argv)
    if rc != 0:
        raise FleetError("%s failed (rc=%s): %s" % (" ".join(argv), rc, (err or out).strip()[:500]),
                         command=argv, rc=rc)
    return out


def _env_files(reader, files):
    """Read EnvironmentFiles (as root, like systemd does) -> list of (key, value), files read."""
    pairs = []
    read = []
    for item in files:
        text = reader.read(item["path"])
        if text is None:
            continue
        read.append(item["path"])
        pairs.extend(systemd.parse_env_file(text))
    return pairs, read


def _meminfo_total(text):
    """MemTotal of /proc/meminfo text in bytes, or None."""
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text or "", re.M)
    return int(match.group(1)) * 1024 if match else None


def parse_passwd(text, name):
    """(uid, gid) of user ``name`` in /etc/passwd text, or (None, None)."""
    for line in (text or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == name and fields[2].isdigit() and fields[3].isdigit():
            return int(fields[2]), int(fields[3])
    return None, None


def _trust_cmdline(cmdline, exec_path, exe, realpath):
    """A daemon may rewrite its process title ('sshd: /usr/sbin/sshd -D [listener] ...'): only
    trust /proc/PID/cmdline when its argv[0] is the unit's binary or the process executable."""
    if not cmdline:
        return False
    first = cmdline[0]
    if " " in first or ":" in first:
        return False
    names = set()
    for path in (exec_path, exe):
        if path:
            names.add(path)
            names.add(path.rsplit("/", 1)[-1])
            names.add(realpath(path).rsplit("/", 1)[-1])
    return first in names or first.rsplit("/", 1)[-1] in names


def _data_dir(path, isdir):
    """Mount unit of a data file: its directory /var/lib/NAME, /srv/NAME, ... (files stay files at the root)."""
    for root in paths.DATA_ROOTS:
        if path.startswith(root):
            rest = path[len(root):].split("/")
            top = root + rest[0]
            if len(rest) > 1 or isdir(top):
                return top
            return path
    return path


def _log_dir(path):
    """/var/log/nginx/access.log -> /var/log/nginx; /var/log/foo.log stays."""
    rest = path[len("/var/log/"):].split("/")
    return "/var/log/" + rest[0] if len(rest) > 1 else path


class Discovery:
    """One discovery run over a host."""

    def __init__(self, run, reader, which):
        self.run = run
        self.reader = reader
        self.which = which
        self.secrets = set()
        self.isdir = reader.isdir
        self.exists = reader.exists

    # ------------------------------------------------------------------ host-wide facts
    def host_facts(self):
        os_release = parse_os_release(self.reader.read("etc/os-release") or self.reader.read("usr/lib/os-release"))
        rc, out, _err = self.run(["systemctl", "--version"])
        match = re.match(r"systemd (\d+)", out or "") if rc == 0 else None
        self.manager = detect_manager(self.which)
        self.os_release = os_release
        return {
            "hostname": (self.reader.read("proc/sys/kernel/hostname") or "").strip() or None,
            "os": {"id": os_release.get("ID"), "version_id": os_release.get("VERSION_ID"),
                   "pretty_name": os_release.get("PRETTY_NAME")},
            "systemd_version": int(match.group(1)) if match else None,
            "cgroup_version": 2 if self.exists("sys/fs/cgroup/cgroup.controllers") else 1,
            "package_manager": self.manager,
            # where other hosts reach this one (the estate plan maps connections to hosts by these)
            "addresses": (parse_fib_trie_local(self.reader.read("proc/net/fib_trie"))
                          + parse_if_inet6(self.reader.read("proc/net/if_inet6"))),
            "memory_total_bytes": _meminfo_total(self.reader.read("proc/meminfo")),
        }

    # ------------------------------------------------------------------ sockets and processes
    def scan(self):
        self.processes = self.reader.processes()
        self.raw = _raw_inodes(self.reader)
        by_inode = {}
        for pid, proc in self.processes.items():
            for inode in proc["sockets"]:
                by_inode.setdefault(inode, []).append(pid)
        self.sockets = []
        tables = self.reader.net_tables()
        self.established = established_sockets(tables)
        for sock in listening_sockets(tables):
            pids = sorted(by_inode.get(sock["inode"], []))
            units = sorted(set(self.processes[p]["unit"] for p in pids if self.processes[p]["unit"]))
            # socket activation: PID 1 holds the socket too; the service is the other holder
            service_units = [u for u in units if u != "init.scope"] or units
            self.sockets.append({
                "proto": sock["proto"], "family": sock["family"], "address": sock["address"],
                "port": sock["port"], "inode": sock["inode"], "pids": pids,
                "process": self.processes[pids[0]]["name"] if pids else None,
                "unit": service_units[0] if service_units else None,
            })

        self.resolve_socket_activation()

    def resolve_socket_activation(self):
        """Sockets that only systemd (PID 1) holds belong to a .socket unit: name the service it triggers."""
        held = [s for s in self.sockets if s["pids"] and all(self.processes[p]["unit"] == "init.scope" for p in s["pids"])]
        if not held:
            return
        out = _run_ok(self.run, ["systemctl", "list-units", "--type=socket", "--all", "--plain", "--no-legend",
                                 "--no-pager"])
        units = [u["unit"] for u in systemd.parse_list_units(out) if u["unit"].endswith(".socket")]
        if not units:
            return
        out = _run_ok(self.run, ["systemctl", "show", "--no-pager", "-p", "Id,Listen,Triggers", "--"] + units)
        by_port = {}
        for props in systemd.parse_show(out):
            triggers = [t for t in (props.get("Triggers") or "").split() if t.endswith(".service")]
            for proto_port in systemd.parse_listen(props.get("Listen")):
                by_port[proto_port] = (props.get("Id"), triggers[0] if triggers else None)
        for sock in held:
            socket_unit, service = by_port.get((sock["proto"], sock["port"]), (None, None))
            if socket_unit:
                sock["socket_unit"] = socket_unit
                sock["unit"] = service or socket_unit

    def unit_processes(self, unit):
        return [p for p in self.processes.values() if p["unit"] == unit]

    # ------------------------------------------------------------------ units
    def list_service_units(self):
        out = _run_ok(self.run, ["systemctl", "list-units", "--type=service", "--all", "--plain",
                                 "--no-legend", "--no-pager"])
        return [u["unit"] for u in systemd.parse_list_units(out) if u["load"] != "not-found"]

    def show(self, units):
        if not units:
            return []
        # units after "--": a name starting with '-' (valid: -.mount) is not an option
        out = _run_ok(self.run, ["systemctl", "show", "--no-pager", "-p", ",".join(systemd.SHOW_PROPERTIES), "--"]
                      + list(units))
        return systemd.parse_show(out)

    def base_facts(self, props):
        """What `systemctl show` and /proc say about a unit, before the costly look-ups."""
        unit = props.get("Id")
        exec_cmds = systemd.parse_exec(props.get("ExecStart"))
        main = exec_cmds[0] if exec_cmds else {"path": None, "argv": []}
        procs = self.unit_processes(unit)
        main_pid = systemd.int_or_none(props.get("MainPID")) or None
        listen = []
        for sock in self.sockets:
            if sock["unit"] == unit:
                listen.append(dict((k, sock[k]) for k in ("proto", "family", "address", "port")))
        return {
            "unit": unit,
            "names": (props.get("Names") or unit).split(),
            "description": props.get("Description"),
            "load_state": props.get("LoadState"),
            "active_state": props.get("ActiveState"),
            "sub_state": props.get("SubState"),
            "unit_file_state": props.get("UnitFileState") or None,
            "enabled": (props.get("UnitFileState") or "").startswith(("enabled", "linked", "alias")),
            "active": props.get("ActiveState") == "active",
            "type": props.get("Type") or None,
            "main_pid": main_pid,
            "pids": sorted(p["pid"] for p in procs),
            "fragment_path": props.get("FragmentPath") or None,
            "_exec": main,
            "_procs": procs,
            "_props": props,
            "listen": listen,
        }

    def enrich(self, facts, packages):
        props = facts.pop("_props")
        main = facts.pop("_exec")
        procs = facts.pop("_procs")
        secrets = self.secrets
        # environment: Environment= then EnvironmentFiles, later assignments win (like systemd)
        env_files = systemd.parse_environment_files(props.get("EnvironmentFiles"))
        file_pairs, files_read = _env_files(self.reader, env_files)
        pairs = systemd.parse_environment(props.get("Environment")) + file_pairs
        raw_env = dict(pairs)
        environment = redact_env(list(raw_env.items()), secrets)
        secret_keys = sorted(k for k, v in raw_env.items() if v and is_secret_name(k))
        exec_start = list(main["argv"])
        # systemctl show loses quoting; take the unit file's argv when it is the same command
        file_argv = self.unit_file_argv(props)
        if file_argv and " ".join(file_argv) == " ".join(exec_start):
            exec_start = file_argv
        expanded = systemd.expand_argv(exec_start, raw_env)
        main_proc = self.processes.get(facts["main_pid"]) if facts["main_pid"] else None
        cmdline = main_proc["cmdline"] if main_proc else []
        command = cmdline if _trust_cmdline(cmdline, main["path"], main_proc and main_proc["exe"], self.reader.realpath) else expanded
        binary = self.reader.realpath(main["path"]) if main["path"] else None
        user = props.get("User") or None
        uid = main_proc.get("uid") if main_proc else None
        gid = main_proc.get("gid") if main_proc else None
        if uid is None and not user:
            uid, gid = 0, 0
        elif uid is None:
            # not running: the unit's User= from the local user database (DynamicUser= has none)
            uid, gid = parse_passwd(self.reader.read("/etc/passwd"), user)
        facts.update({
            "exec_start": redact_argv(exec_start, secrets),
            "command": redact_argv(command, secrets),
            "cmdline": redact_argv(cmdline, secrets),
            "binary": binary,
            "user": user or ("root" if uid == 0 else None),
            "group": props.get("Group") or None,
            "uid": uid,
            "gid": gid,
            "dynamic_user": props.get("DynamicUser") == "yes",
            "environment": environment,
            "environment_files": [f["path"] for f in env_files],
            "secret_env_keys": secret_keys,
            # the values themselves leave discovery only when asked for (secret_values), never scrubbed into text
            "_secret_env": dict((k, raw_env[k]) for k in secret_keys),
            "working_directory": props.get("WorkingDirectory") or None,
            "restart": props.get("Restart") or None,
            "triggered_by": (props.get("TriggeredBy") or "").split(),
            "ambient_capabilities": (props.get("AmbientCapabilities") or "").split(),
            "device_allow": props.get("DeviceAllow") or None,
        })
        facts["description"] = redact_text(facts["description"], secrets)
        # packages
        package = packages.owner(binary) if binary else None
        if not package and facts["fragment_path"]:
            package = packages.owner(facts["fragment_path"])
        version, conffiles = packages.info(package)
        facts["package"] = package
        facts["package_version"] = version
        facts["unit_package"] = packages.owner(facts["fragment_path"]) if facts["fragment_path"] else None
        # paths
        self.add_paths(facts, props, procs, expanded, conffiles, files_read, pairs,
                       cmdline if command is cmdline else ())
        # usage
        memory = systemd.int_or_none(props.get("MemoryCurrent"))
        cpu_ns = systemd.int_or_none(props.get("CPUUsageNSec"))
        cg_memory, cg_cpu = self.reader.cgroup_usage(props.get("ControlGroup"))
        if memory is None:
            memory = cg_memory
        if memory is None and procs:
            memory = sum(p.get("rss_bytes", 0) for p in procs)
        cpu = cpu_ns / 1e9 if cpu_ns is not None else cg_cpu
        if cpu is None and procs:
            cpu = sum(p.get("utime", 0) + p.get("stime", 0) for p in procs) / float(self.reader.clock_ticks())
        # TCP connections of the unit's processes: whom it talks to, who talks to it
        inodes = set(i for p in procs for i in p["sockets"])
        ports = set(s["port"] for s in facts["listen"] if s["proto"] == "tcp")
        facts["connections"], facts["connections_truncated"] = unit_connections(
            [s for s in self.established if s["inode"] in inodes], ports)
        facts["memory_bytes"] = memory
        facts["cpu_seconds"] = round(cpu, 3) if cpu is not None else None
        facts["tasks"] = systemd.int_or_none(props.get("TasksCurrent"))
        facts["memory_max"] = systemd.int_or_none(props.get("MemoryMax"))
        quota = systemd.timespan_seconds(props.get("CPUQuotaPerSecUSec"))
        facts["cpu_quota"] = round(quota, 3) if quota else None
        # verdict
        devices = sorted(set(f for p in procs for f in p["files"]
                             if f.startswith("/dev/") and not f.startswith(HARMLESS_DEVICES)))
        raw = any(i in self.raw for p in procs for i in p["sockets"])
        facts["probe"] = guess_probe(facts)
        facts["migratable"], facts["reasons"], facts["notes"] = assess(facts, devices, raw)
        image, reason = guess_image(facts, self.os_release)
        facts["image_guess"] = {"image": image, "reason": reason}
        return facts

    # bounds of the scan of config files for the paths they name (per service)
    CONFIG_SCAN_FILES = 100
    CONFIG_SCAN_BYTES = 256 * 1024

    def config_files(self, config):
        """The files of the config paths found so far (the files inside a config directory, two levels deep),
        at most CONFIG_SCAN_FILES, each at most CONFIG_SCAN_BYTES (larger ones are not read)."""
        result = []
        pending = [(p, 0) for p in paths.reduce_paths(config)]
        while pending and len(result) < self.CONFIG_SCAN_FILES:
            path, depth = pending.pop(0)
            if self.isdir(path):
                if depth < 2:
                    pending.extend((path.rstrip("/") + "/" + name, depth + 1) for name in self.reader.listdir(path))
                continue
            size = self.reader.size(path)
            if path not in result and (size is None or size <= self.CONFIG_SCAN_BYTES):
                result.append(path)
        return result

    def unit_file_argv(self, props):
        files = [props.get("FragmentPath")] + (props.get("DropInPaths") or "").split()
        texts = [self.reader.read(path) for path in files if path]
        if not texts or texts[0] is None:
            return None
        return systemd.unit_file_exec_start([t for t in texts if t is not None])

    def add_paths(self, facts, props, procs, argv, conffiles, env_files_read, env_pairs=(), cmdline=()):
        config, data, logs = [], [], []
        sources = {}  # path as found -> where it was found (each kept path says where it came from)

        def add(path, explicit, source):
            path = paths.normalize(path)
            kind = paths.classify(path)
            if not kind or not self.exists(path):
                return
            if kind == "config":
                found = path
                config.append(path)
            elif kind == "log":
                found = _log_dir(path)
                logs.append(found)
            elif explicit and self.isdir(path):
                found = path
                data.append(path)
            elif explicit:
                parent = os.path.dirname(path)
                found = parent if paths.classify(parent) == "data" else path
                data.append(found)
            else:
                found = _data_dir(path, self.isdir)
                data.append(found)
            where = sources.setdefault(found, [])
            if source not in where:
                where.append(source)

        workdir = (props.get("WorkingDirectory") or "").lstrip("!-")
        for path, how in paths.command_paths(argv, workdir):
            add(path, True, "ExecStart " + how)
        if cmdline and cmdline != argv:
            for path, how in paths.command_paths(cmdline, workdir):
                add(path, True, "process command line " + how)
        # ExecStartPre= (a config check such as `nginx -t -c FILE`), ExecStartPost=, ExecReload=: config only
        for prop in ("ExecStartPre", "ExecStartPost", "ExecReload"):
            for command in systemd.parse_exec(props.get(prop)):
                for path, how in paths.command_paths(command["argv"], workdir):
                    if paths.classify(path) == "config":
                        add(path, True, "%s %s" % (prop, how))
        if workdir.startswith("/"):
            add(workdir, True, "WorkingDirectory=")
        for path in systemd.split_paths(props.get("ReadWritePaths")):
            add(path, True, "ReadWritePaths=")
        for prop, root in (("StateDirectory", "/var/lib/"), ("CacheDirectory", "/var/cache/"),
                           ("LogsDirectory", "/var/log/"), ("ConfigurationDirectory", "/etc/")):
            for name in systemd.split_paths(props.get(prop)):
                add(root + name, True, prop + "=")
        # read once at start and closed, shipped by no package: only the unit itself names these
        for key, value in env_pairs:
            for path in paths.value_paths(value):
                add(path, False, "environment variable " + key)
        for path in env_files_read:
            directory = os.path.dirname(path)
            if paths.classify(directory) == "config" and self.isdir(directory):
                add(directory, True, "directory of EnvironmentFile " + path)
        exec_path = argv[0] if argv and argv[0].startswith("/") else None
        for path in paths.own_config_candidates(facts["unit"], facts.get("binary"), facts.get("package"),
                                                exec_path):
            add(path, True, "the service's own /etc location")
        for path, program in paths.well_known_config([facts.get("binary"), exec_path, facts["unit"],
                                                      facts.get("package")]):
            add(path, True, "well-known location of " + program)
        for path in conffiles:
            add(path, False, "package conffile")
        for proc in procs:
            for path in proc["files"]:
                add(path, False, "open file")
        # what those config files name (an include of a shared /etc/APP/x.conf, a certificate, a data
        # directory): read, never executed; one level deep, bounded
        for source_file in self.config_files(config):
            for path in paths.referenced_paths(self.reader.read(source_file)):
                add(path, True, "named in " + source_file)
        env_files = set(env_files_read)
        config = [p for p in config if p not in env_files]
        names = [facts["unit"], facts.get("package"), facts.get("binary")]
        facts["config_paths"] = paths.group_config(paths.reduce_paths(config), self.isdir, names)
        facts["data_paths"] = paths.reduce_paths(data)
        facts["log_paths"] = paths.reduce_paths(logs)
        facts["path_sources"] = paths.sources_of(facts["config_paths"] + facts["data_paths"] + facts["log_paths"],
                                                 sources)

    # ------------------------------------------------------------------ the whole run
    def discover(self, services=None, include_all=False, propose=True, secret_values=False):
        requested = [validators.check_unit_name(systemd.normalize_unit(s), "services[%d]" % index)
                     for index, s in enumerate(services or [])]
        check_systemd(self.reader)
        host = self.host_facts()
        self.scan()
        units = requested or self.list_service_units()
        shown = self.show(units)
        if len(shown) != len(units):
            raise FleetError("systemctl show returned %d units for %d asked" % (len(shown), len(units)))
        selected = []
        excluded = []
        missing = []
        for name, props in zip(units, shown):
            if props.get("LoadState") == "not-found":
                if requested:
                    missing.append(name)
                continue
            facts = self.base_facts(props)
            if requested:
                selected.append((name, facts))
                continue
            # a socket-activated service that is not running is neither enabled nor active,
            # but systemd listens for it (its socket unit is)
            if not (facts["enabled"] or facts["active"] or facts["listen"]):
                continue
            if is_core_unit(facts["unit"]):
                if facts["listen"]:
                    excluded.append({"unit": facts["unit"], "reason": "core/infrastructure service of the VM",
                                    "ports": sorted(set(s["port"] for s in facts["listen"]))})
                continue
            if facts["listen"] or include_all:
                selected.append((facts["unit"], facts))
        if missing:
            index = units.index(missing[0])
            raise ValidationError("services[%d]" % index, "no such systemd unit: %s" % ", ".join(missing),
                                  accepted="units that exist on the host (systemctl list-units --all)", missing=missing)
        packages = PackageDB(self.run, self.manager)
        result_services = {}
        secret_env = {}
        for key, facts in selected:
            facts = self.enrich(facts, packages)
            secret_env[key] = facts.pop("_secret_env")
            if propose:
                facts["container_spec"] = propose_container_spec(facts, self.os_release)
            result_services[key] = facts
        sockets = [dict((k, v) for k, v in s.items() if k != "inode") for s in self.sockets]
        result = {
            "host": host,
            "services": result_services,
            "sockets": sockets,
            "excluded": excluded,
        }
        result = scrub(result, self.secrets)
        if secret_values:
            # added after the scrub: these are the values the scrub hides everywhere else
            for key, values in secret_env.items():
                result["services"][key]["secret_env"] = values
        return result


def discover(params, run, reader, which):
    """Module entry point: params has services, include_all, propose, secret_values."""
    return Discovery(run, reader, which).discover(
        services=params.get("services"), include_all=params.get("include_all", False),
        propose=params.get("propose", True), secret_values=params.get("secret_values", False))
