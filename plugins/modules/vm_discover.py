#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: vm_discover
short_description: Discover the services a systemd VM runs and propose container specs for them
version_added: 0.1.0
description:
  - Runs on the VM (Ansible connects over SSH) and reports its systemd services, the TCP/UDP sockets they
    listen on (mapped to process and unit through C(/proc/net) and C(/proc/PID/fd)), the package that owns
    each service's binary (dpkg or rpm), its configuration files and data directories, its environment and
    its memory and CPU usage.
  - For each service it decides whether the service can move into a container (O(services) named
    explicitly are always reported, with the reasons when not) and proposes a spec for
    M(hybridops.fleet.container) (the same keys as that module's options) with ports, environment, bind
    mounts for configuration (read-only) and data (read-write), user, restart policy and a healthcheck
    guessed from the port.
  - Values of environment variables and command-line options whose names look secret (PASSWORD, SECRET,
    TOKEN, KEY, PAT, PW, ...), URL passwords and tokens used as the URL user, C(password=)/C(Pwd=) in JDBC
    URLs and connection strings, C(-Dfoo.password=), C(access_token=)/C(api_key=) in query strings,
    C(Authorization) headers, and the password options of known programs (C(mysql -pX), C(sshpass -p X),
    C(curl -u user:X), C(docker login -p X); C(-p) of other programs is left alone) are replaced by
    C(********) and removed from every string of the result. The proposed spec leaves secret variables out; their names are in RV(services.secret_env_keys)
    for the container module's O(hybridops.fleet.container#module:secret_env) option.
  - Read-only. Needs systemd as PID 1 and root (to read other users' C(/proc/PID/fd)); Python 3.9+ standard
    library only.
author: hybridops.fleet developers (@hybridops)
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  services:
    description:
      - Units to report, e.g. V(nginx) or V(ssh.service) (V(.service) is added when no unit suffix is given).
        Results are keyed by these names. A unit that does not exist fails the task.
      - Names are checked against systemd's unit name characters (letters, digits, V(:), V(_), V(.), V(\\), V(@),
        V(-); up to 255) before any command runs, and passed to C(systemctl) after C(--).
      - When omitted, every enabled or active service that listens on a port (or whose socket unit listens for
        it), except the VM's own core and
        infrastructure services (sshd, systemd-*, cron, docker, cloud-init...; listed in RV(excluded)).
    type: list
    elements: str
  include_all:
    description: Without O(services), also report enabled or active non-core services that listen on no port.
    type: bool
    default: false
  propose:
    description: Add RV(services.container_spec), a proposed M(hybridops.fleet.container) spec, to each service.
    type: bool
    default: true
  secret_values:
    description:
      - Also return the values of the secret variables (RV(services.secret_env)), read from the unit's
        C(Environment=) and C(EnvironmentFile=) with systemd's quoting rules, for passing to
        M(hybridops.fleet.container)'s O(hybridops.fleet.container#module:secret_env) without parsing the files
        again. Every other part of the result stays scrubbed.
      - "Refused unless the task has C(no_log: true), so the values never reach the output or the logs."
    type: bool
    default: false
notes:
  - Listening sockets are read in the module's network namespace, the VM's own; ports published by Docker
    show as C(docker-proxy) in C(docker.service).
  - The image in the proposal is a guess (the official image of the package, C(python:X.Y-slim) for Python
    services, else the VM's OS base image for lifting the service's own files); name the image yourself when
    migrating. The command keeps the service's own arguments.
seealso:
  - module: hybridops.fleet.container
'''

EXAMPLES = r'''
- name: What does this VM run?
  hybridops.fleet.vm_discover:
  register: discovered

- name: One service, with its proposed container
  hybridops.fleet.vm_discover:
    services: [hybridops-web]
  register: web

- name: Read the values of its secret variables (the proposal leaves them out)
  hybridops.fleet.vm_discover:
    services: [hybridops-web]
    propose: false
    secret_values: true
  register: web_secrets
  no_log: true

- name: Run it as a container beside the service, with its secrets
  hybridops.fleet.container: "{{ web.services['hybridops-web.service'].container_spec
    | combine({'name': 'web-candidate', 'ports': ['18080:8080'],
               'secret_env': web_secrets.services['hybridops-web.service'].secret_env}) }}"
'''

RETURN = r'''
host:
  description: Facts about the VM.
  returned: always
  type: dict
  contains:
    hostname: {description: Host name., type: str}
    os: {description: "C(id), C(version_id), C(pretty_name) from os-release.", type: dict}
    systemd_version: {description: systemd's version number., type: int}
    cgroup_version: {description: 1 or 2., type: int}
    package_manager: {description: "V(dpkg), V(rpm) or null.", type: str}
    addresses:
      description: The host's own addresses (IPv4 from C(/proc/net/fib_trie), global IPv6 from C(/proc/net/if_inet6);
        loopback left out). The estate plan (C(playbooks/migrate_plan.yml)) maps connections to hosts by them.
      type: list
      elements: str
    memory_total_bytes: {description: "MemTotal of C(/proc/meminfo) in bytes, null when unknown.", type: int}
services:
  description: Reported services keyed by unit name (the name given in O(services), with V(.service) added).
  returned: always
  type: dict
  contains:
    unit: {description: "The unit's Id (e.g. V(ssh.service) when V(sshd) was asked).", type: str}
    names: {description: The unit's names (Id and aliases)., type: list, elements: str}
    description: {description: Description., type: str}
    enabled: {description: UnitFileState is enabled (or linked/alias)., type: bool}
    active: {description: ActiveState is active., type: bool}
    active_state: {description: ActiveState., type: str}
    sub_state: {description: SubState., type: str}
    unit_file_state: {description: UnitFileState., type: str}
    type: {description: "Service Type= (simple, forking, notify, ...).", type: str}
    main_pid: {description: "Main PID, null when not running.", type: int}
    pids: {description: All PIDs in the unit's cgroup., type: list, elements: int}
    exec_start: {description: ExecStart argv as the unit declares it (variables not expanded)., type: list, elements: str}
    command: {description: "The argv that runs: the main process's command line, or ExecStart with variables
      expanded when the process rewrites its title.", type: list, elements: str}
    binary: {description: Executable path (symlinks resolved)., type: str}
    package: {description: Package owning the binary (else the unit file)., type: str, sample: openssh-server}
    package_version: {description: Version of RV(services.package)., type: str}
    unit_package: {description: Package owning the unit file., type: str}
    user: {description: User= (V(root) when unset)., type: str}
    group: {description: Group=., type: str}
    uid: {description: Real UID of the main process., type: int}
    gid: {description: Real GID of the main process., type: int}
    environment:
      description: Environment= and EnvironmentFile= variables; secret-looking values are C(********).
      type: dict
    environment_files: {description: EnvironmentFile= paths., type: list, elements: str}
    secret_env_keys: {description: Names of the variables whose values were withheld., type: list, elements: str}
    secret_env:
      description: The withheld variables with their real values.
      type: dict
      returned: with O(secret_values=true)
    working_directory: {description: WorkingDirectory=., type: str}
    listen:
      description: Listening sockets of the unit's processes.
      type: list
      elements: dict
      contains:
        proto: {description: V(tcp) or V(udp)., type: str}
        family: {description: 4 or 6., type: int}
        address: {description: "Bound address (V(0.0.0.0), V(::) for all).", type: str}
        port: {description: Port., type: int}
    config_paths:
      description:
        - Configuration under /etc (ExecStart arguments, ConfigurationDirectory=, the package's config files, open
          files); files sharing a /etc/NAME directory are given as that directory.
        - A file read once at start and closed that no package ships is found from the unit itself - ExecStart
          arguments (bare paths, C(--config=PATH), C(--config PATH), C(-c PATH), C(-cPATH); a relative value
          of a config option, or a relative word that names a file such as C(conf/app.yml), is resolved against
          WorkingDirectory=), config paths named by ExecStartPre=, ExecStartPost= and ExecReload= (a config
          check such as C(nginx -t -c FILE)), paths in its environment variables, the directory of an
          EnvironmentFile under /etc, the service's own /etc locations (C(/etc/NAME), C(/etc/NAME.conf),
          C(/etc/NAME.d) for the unit's name, its first dash-separated part, the binary's, the ExecStart path's
          and the package's names; interpreters such as python3 are skipped) and the well-known config
          locations of common programs (nginx, httpd, apache2, haproxy, redis-server, memcached, postgres,
          mysqld/mariadbd, php-fpm, named, ...; known by the binary's, unit's or package's name).
        - The config files found are then read (not run) for the absolute paths they name under /etc, /srv,
          /opt, /var/lib and /var/www outside comment lines - an include of a shared C(/etc/APP/x.conf), a TLS
          key, a web root (a glob such as C(conf.d/*.conf) gives its directory); one level deep, at most 100
          files of at most 256 KiB per service, the files of a config directory two levels down.
        - Only paths that exist are kept; nothing restarts or traces the service.
          RV(services.path_sources) says where each path was found.
      type: list
      elements: str
    data_paths:
      description: Data (ExecStart arguments, WorkingDirectory=, ReadWritePaths=, StateDirectory=,
        CacheDirectory=, open files under /var/lib, /srv, /var/www, /opt, /home, /var/cache, /var/spool).
      type: list
      elements: str
    log_paths: {description: Log files and directories under /var/log., type: list, elements: str}
    path_sources:
      description: For each path of RV(services.config_paths), RV(services.data_paths) and RV(services.log_paths),
        where it (or what it covers) was found, e.g. V(ExecStart argument), V(ExecStart option --config),
        V(ExecStart option -c relative to WorkingDirectory=), V(ExecStartPre argument),
        V(process command line argument), V(WorkingDirectory=), V(package conffile), V(open file),
        V(environment variable APP_CONFIG), V(directory of EnvironmentFile /etc/app/env),
        V(the service's own /etc location), V(well-known location of nginx),
        V(named in /etc/nginx/sites-enabled/shop).
      type: dict
    connections:
      description:
        - Established TCP connections of the unit's processes, deduplicated (a snapshot; read from
          C(/proc/net/tcp) and C(/proc/net/tcp6), nothing is traced).
        - V(direction=out) is one the unit opened, to RV(services.connections[].address):RV(services.connections[].port)
          (a dependency); V(direction=in) was accepted on one of the unit's listening ports
          RV(services.connections[].port) from the client RV(services.connections[].address).
        - At most 100 of each direction; RV(services.connections_truncated) says when more were left out.
      type: list
      elements: dict
      contains:
        direction: {description: V(out) or V(in)., type: str}
        proto: {description: V(tcp)., type: str}
        address: {description: "The peer's address (IPv4-mapped IPv6 given as IPv4).", type: str}
        port: {description: "The server's port: the peer's for V(out), the unit's own for V(in).", type: int}
    connections_truncated: {description: More connections existed than RV(services.connections) lists., type: bool}
    memory_bytes: {description: Memory of the unit's cgroup (else the sum of RSS)., type: int}
    cpu_seconds: {description: CPU time used by the unit., type: float}
    tasks: {description: Tasks in the unit's cgroup., type: int}
    memory_max: {description: "MemoryMax= in bytes, null when unlimited.", type: int}
    cpu_quota: {description: "CPUQuota= in CPUs (50% is 0.5), null when unlimited.", type: float}
    probe:
      description: How to check the service from outside, C({type, port, path}); type is V(http), V(https),
        V(tcp) or V(udp).
      type: dict
    migratable: {description: Whether moving the service into a container is sound., type: bool}
    reasons: {description: Why it is not migratable (empty when it is)., type: list, elements: str}
    notes: {description: Caveats for the migration., type: list, elements: str}
    image_guess: {description: "C({image, reason}): the image the proposal uses and why.", type: dict}
    container_spec:
      description: Options for M(hybridops.fleet.container) (name, image, command, env, ports, mounts, user,
        working_dir, restart_policy, healthcheck, labels; memory and cpus when the unit limits them). Only with
        O(propose).
      type: dict
      sample:
        name: hybridops-web
        image: python:3.11-slim
        command: [python3, -m, http.server, "8080", --directory, /srv/www]
        env: {WEB_GREETING: hello}
        ports: ["8080:8080/tcp"]
        mounts: [{type: bind, source: /srv/www, target: /srv/www, read_only: false}]
        user: "999:999"
        restart_policy: unless-stopped
        healthcheck: {test: [CMD, python3, -c, "..."], interval: 10s, timeout: 5s, retries: 3, start_period: 10s}
        labels: {hybridops.fleet.source-unit: hybridops-web.service}
sockets:
  description: Every listening socket of the VM with its owner.
  returned: always
  type: list
  elements: dict
  contains:
    proto: {description: V(tcp) or V(udp)., type: str}
    family: {description: 4 or 6., type: int}
    address: {description: Bound address., type: str}
    port: {description: Port., type: int}
    pids: {description: Processes holding the socket., type: list, elements: int}
    process: {description: Name of the first of them., type: str}
    unit:
      description: Their systemd unit; for a socket that only systemd holds (socket activation), the service
        its socket unit triggers.
      type: str
    socket_unit: {description: The .socket unit of a socket that only systemd holds., type: str, returned: when socket-activated}
excluded:
  description: Listening services left out because they belong to the VM itself (only without O(services)).
  returned: always
  type: list
  elements: dict
  sample: [{unit: ssh.service, reason: core/infrastructure service of the VM, ports: [22]}]
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    FleetError,
    fail_from_error,
    fail_unexpected,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import discover
from ansible_collections.hybridops.fleet.plugins.module_utils._discover.proc import ProcReader


def main():
    module = AnsibleModule(
        argument_spec=dict(
            services=dict(type="list", elements="str"),
            include_all=dict(type="bool", default=False),
            propose=dict(type="bool", default=True),
            secret_values=dict(type="bool", default=False, no_log=False),  # a switch, not a secret
        ),
        supports_check_mode=True,
    )
    if module.params["secret_values"] and not module.no_log:
        module.fail_json(msg="secret_values: returns secret values and is accepted only in a task with "
                             "no_log: true (so they reach neither the output nor the logs)")

    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C", "SYSTEMD_COLORS": "0"})

    def which(name):
        return module.get_bin_path(name)

    if os.geteuid() != 0:
        module.warn("vm_discover is not running as root (use become): other users' processes, sockets and "
                    "EnvironmentFiles cannot be read, so ports and paths of their services are missing")
    try:
        result = discover(module.params, run, ProcReader("/"), which)
    except FleetError as exc:
        fail_from_error(module, exc, changed=False)
    except Exception as exc:  # pylint: disable=broad-except
        fail_unexpected(module, exc, changed=False)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
