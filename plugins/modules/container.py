#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container
short_description: Manage one Docker container declaratively
version_added: 0.1.0
description:
  - Converges one container to a spec. The spec is compared with the inspected container; the image is
    compared by image ID, not by tag string, and the image's own CMD, ENTRYPOINT, ENV, labels,
    healthcheck, USER and WORKDIR are inherited defaults, never drift.
  - A container is recreated only on a real difference. Memory, memory reservation and swap, CPUs, CPU
    shares, period, quota and sets, block I/O weight, PIDs limit and restart policy are updated in place;
    networks are connected/disconnected in place (except a move into or out of the
    V(host) or V(none) network, which needs a new container).
  - Values the engine or the daemon fills in are not drift - the daemon's default C(log-opts) from its
    C(daemon.json), the aliases the engine adds to network endpoints, paths the engine cleans
    (trailing slashes) - and the diff of an unchanged container shows identical before and after.
  - When a container is replaced, its anonymous volumes (those of an image's C(VOLUME) not given a name)
    are removed with it unless O(keep_volumes=true); see there for why this differs from community.docker.
  - O(recreate=rolling) starts the replacement beside the old container, waits until it is healthy and only
    then removes the old one. If the replacement never gets healthy it is removed, the old container keeps
    serving, and the task fails saying so.
  - O(comparisons) chooses per option whether it is compared strictly, ignored, or may have more entries on the
    container than declared.
  - Supports check mode (exact prediction) and diff mode (structured before/after).
  - Usually runs on the VM that hosts the engine (Ansible connects over SSH, the module talks to the local
    socket).
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
  - hybridops.fleet.lock
attributes:
  check_mode:
    support: full
    description: Reports exactly what would change; nothing is created, pulled or removed.
  diff_mode:
    support: full
    description: Before/after of the container spec (secret values masked).
options:
  name:
    description: Container name; 2 or more letters, digits, V(_), V(.), V(-), starting with a letter or digit (Docker's rule).
    type: str
    required: true
  image:
    description:
      - Image reference (C(repo:tag), C(repo@sha256:...) or an image ID). Required to create a container;
        without it an existing container named O(name) is started, stopped or restarted by O(state) and
        O(restart) alone, and nothing else is compared.
      - The container is compared with the image's ID, so re-tagging a new build triggers a recreate and
        naming the same image differently does not (nor does it show in the diff).
    type: str
  pull:
    description:
      - When to pull O(image). V(missing) pulls only when the image is not on the engine, V(always) pulls
        every run (keeping the local image if the registry is unreachable), V(never) requires the image to be
        present (load or build it with M(hybridops.fleet.container_image)).
    type: str
    choices: [missing, always, never]
    default: missing
  command:
    description: Command (list, or a string split like a shell). Defaults to the image's CMD.
    type: raw
  entrypoint:
    description:
      - Entrypoint (list or string). Defaults to the image's ENTRYPOINT. Giving it drops the image's CMD.
      - V([]) clears the image's ENTRYPOINT (like C(docker run --entrypoint "")); the image's CMD is then
        still inherited unless O(command) is given.
    type: raw
  env:
    description: Environment variables (added to the image's ENV). Names must be non-empty and contain no V(=).
    type: dict
  secret_env:
    description: Environment variables whose values are secret; never shown in output, logs or diffs.
    type: dict
  labels:
    description: Labels (added to the image's labels).
    type: dict
  ports:
    description:
      - Published ports, C([HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]), e.g. V(8080:80), V(127.0.0.1:8443:443/tcp),
        V(53/udp) (random host port), V(8000-8001:80-81). PROTO is tcp, udp or sctp.
      - HOST_IP is an IPv4 address or a bracketed IPv6 address (V([::1]:8080:80)); an invalid address fails the
        task instead of publishing on every interface.
    type: list
    elements: raw
  mounts:
    description: Mounts.
    type: list
    elements: dict
    suboptions:
      type:
        description: Mount type.
        type: str
        choices: [bind, volume, tmpfs]
        default: volume
      source:
        description:
          - Host path (bind) or volume name (volume); not for tmpfs. A volume mount without a source is an
            anonymous volume (see O(keep_volumes)).
          - Paths are compared the way the engine stores them, so V(/srv/data/) and V(/srv/data) are the same.
        type: str
      target:
        description: Absolute path in the container.
        type: str
        required: true
      read_only:
        description: Mount read-only.
        type: bool
        default: false
      propagation:
        description: Bind propagation (bind mounts only). Omitted is the engine's V(rprivate), so V(rprivate) is no change.
        type: str
        choices: [private, rprivate, shared, rshared, slave, rslave]
      selinux:
        description:
          - SELinux relabelling, V(z) (shared label) or V(Z) (private label), like C(:z) in O(volumes).
          - Such a mount is passed as a bind string (the engine's mount API has no relabelling). Engines without
            SELinux accept and ignore it.
        type: str
        choices: [z, Z]
      no_copy:
        description: Do not copy the image's files at the target into a new volume (volume mounts only).
        type: bool
        default: false
      labels:
        description:
          - Labels of the volume the engine creates for this mount (volume mounts only).
          - Like O(mounts[].volume_driver) and O(mounts[].volume_options), they apply when the engine creates the
            volume (an anonymous volume, or a named one that does not exist yet); they are compared with what the
            container was created with.
        type: dict
      volume_driver:
        description: Driver of the volume the engine creates for this mount (volume mounts only).
        type: str
      volume_options:
        description:
          - Driver options of the volume the engine creates for this mount, such as C(type=tmpfs) and
            C(device=tmpfs) for the V(local) driver (volume mounts only).
        type: dict
      tmpfs_size:
        description:
          - Size of a tmpfs mount, in the docker CLI's units (V(64m), V(1g), V(65536k); binary). Omitted is the
            kernel's default (half of the memory). Sizes that mean the same bytes are no change.
        type: str
      tmpfs_mode:
        description: Permission mode of a tmpfs mount, octal (V(1777), V(0700)).
        type: str
  volumes:
    description:
      - Short form of O(mounts), C(SOURCE:/target[:OPTIONS]). An absolute SOURCE is a bind mount, otherwise a
        named volume; C(/target) alone is an anonymous volume. A target may appear only once across O(mounts)
        and O(volumes).
      - OPTIONS are comma-separated C(ro), C(rw) (the default), C(z) or C(Z) (SELinux labels), C(nocopy) and a
        propagation mode (C(private), C(rprivate), C(shared), C(rshared), C(slave), C(rslave)). C(consistent),
        C(cached) and C(delegated) are accepted and have no effect on Linux engines.
      - Named volumes keep their data when the container is recreated.
    type: list
    elements: str
  restart_policy:
    description: Restart policy (updated in place). Defaults to V(no).
    type: str
    choices: ['no', always, unless-stopped, on-failure]
  restart_retries:
    description:
      - Maximum restarts for O(restart_policy=on-failure); V(0) means no limit.
      - V(0) is accepted with every policy (it is what the engine stores for them); a positive value needs
        O(restart_policy=on-failure).
    type: int
  healthcheck:
    description:
      - Healthcheck. Fields not given are taken from the image's HEALTHCHECK.
      - When omitted, the container has the image's healthcheck (or none when the image has none), so a
        healthcheck removed from the spec is a difference and the container is recreated without it.
    type: dict
    suboptions:
      test:
        description: Probe command; a list (C(CMD) form) or a string (run by a shell). V([NONE]) disables.
        type: raw
      interval:
        description: Time between probes (V(30s), V(1m30s), or seconds).
        type: str
      timeout:
        description: Probe timeout.
        type: str
      start_period:
        description: Grace period before failures count.
        type: str
      retries:
        description: Consecutive failures before the container is unhealthy.
        type: int
      disable:
        description: Disable the image's healthcheck.
        type: bool
        default: false
  user:
    description: User (name or UID[:GID]). Defaults to the image's USER.
    type: str
  working_dir:
    description:
      - Working directory, an absolute path. Defaults to the image's WORKDIR.
      - Compared as the engine stores it (V(/tmp/) is V(/tmp)).
    type: str
  hostname:
    description: Container hostname (not compared when omitted); a DNS name of at most 64 characters.
    type: str
  memory:
    description:
      - Memory limit, e.g. V(256m), V(512MB), V(1GiB) (updated in place; removing it recreates).
      - Units follow the docker CLI and community.docker, not the libvirt options of this collection - V(k),
        V(m), V(g), V(KB), V(MB), V(GB) and V(KiB), V(MiB), V(GiB) are all powers of 1024
        (V(512MB) is 512 MiB); a bare number is bytes.
    type: str
  cpus:
    description: CPU limit in CPUs, e.g. V(0.5) (updated in place).
    type: float
  pids_limit:
    description:
      - Maximum number of processes (updated in place).
      - V(0) and V(-1) (Docker's two spellings) mean unlimited; values below V(-1) fail.
    type: int
  networks:
    description:
      - Networks to attach, each a name or a dict with C(name), C(aliases) (list), C(ipv4_address) and
        C(ipv6_address). The first is used at creation, the others are connected. Changes are applied in place.
      - V(host) or V(none) replaces the container's network stack and cannot be combined with other
        networks; moving a container into or out of them recreates it.
      - V([]) means no network at all, the same as V([none]) (a container left without any network in the
        default mode would be put back on the default bridge when it starts).
      - Aliases the engine adds itself (the container ID) are neither compared nor shown in the diff.
      - When omitted, networks are not managed (the engine's default bridge at creation).
    type: list
    elements: raw
  log_driver:
    description: Logging driver (not compared when omitted).
    type: str
  log_options:
    description:
      - Options of O(log_driver).
      - Only the keys given are compared - the daemon merges its own default C(log-opts) (C(daemon.json))
        into the container's, and those are not drift. Removing a key from the spec therefore leaves the
        container as it is; change a value or O(log_driver) to recreate it.
    type: dict
  stop_timeout:
    description: Seconds to wait for the container to stop before killing it.
    type: int
  comparisons:
    description:
      - How options are compared with the container, like community.docker's C(comparisons). Keys are option
        names (or V(*) for the default of every option not named), values V(strict) (the container must show
        exactly the declared value; an omitted option means the image's or the engine's default), V(ignore)
        (never compared, never causes an update or recreate) or V(allow_more_present) (the container may have
        more entries than declared; only for list and dict options).
      - V(allow_more_present) is accepted for O(env), O(labels), O(mounts), O(ports), O(networks), O(capabilities),
        O(cap_drop), O(security_opts), O(ulimits), O(sysctls), O(devices), O(tmpfs), O(groups), O(storage_opts) and
        the O(device_read_bps) family; every other option (and V(*)) takes V(strict) or V(ignore). V(image) can be
        V(ignore)d too. Every option defaults to V(strict).
      - Values the engine or the daemon fills in are never a difference in V(strict) mode either - the daemon's
        default C(log-opts), the aliases the engine adds to network endpoints, paths the engine cleans, image
        defaults, capabilities stored as C(CAP_X), the engine's default C(/dev/shm) size and IPC mode.
    type: dict
  memory_reservation:
    description:
      - Soft memory limit (docker CLI sizes, as O(memory)); must be below O(memory). Updated in place; removing it
        recreates (the update endpoint cannot lift a limit).
    type: str
  memory_swap:
    description:
      - Memory plus swap limit (docker CLI sizes, as O(memory)), at least O(memory); V(-1) is unlimited swap.
        Needs O(memory) unless V(-1). Updated in place.
      - When omitted the engine's default applies - twice O(memory) (no limit without O(memory)) - and that is
        not a difference.
    type: str
  memory_swappiness:
    description: Swappiness of the container's memory, V(0) to V(100). Omitted means the host's (inspect shows null).
    type: int
  cpu_shares:
    description: Relative CPU weight (the engine's default is 1024 when omitted). Updated in place.
    type: int
  cpu_period:
    description: CFS period in microseconds (V(1000) to V(1000000)); with O(cpu_quota). Updated in place. Not with O(cpus).
    type: int
  cpu_quota:
    description: CFS quota in microseconds per O(cpu_period). Updated in place. Not with O(cpus).
    type: int
  cpuset_cpus:
    description:
      - CPUs the container may run on, e.g. V(0-2) or V(0,1). Updated in place.
      - Compared as a set of CPUs, so V(0,1,2) and V(0-2) are the same.
    type: str
  cpuset_mems:
    description: Memory nodes (NUMA) the container may use, e.g. V(0) or V(0-1); compared like O(cpuset_cpus). Updated in place.
    type: str
  blkio_weight:
    description:
      - Block I/O weight, V(10) to V(1000). Updated in place.
      - Kernels without the block I/O weight controller discard it (the engine warns and stores V(0)); on those
        set O(comparisons) C(blkio_weight=ignore) or leave it out.
    type: int
  device_read_bps:
    description: Read rate limits per host device, each C(path) and C(rate) (docker CLI sizes per second, e.g. V(10m)).
    type: list
    elements: dict
    suboptions:
      path:
        description: Device on the host, e.g. V(/dev/sda).
        type: str
        required: true
      rate:
        description: Bytes per second (V(1m), V(512k), or a number).
        type: str
        required: true
  device_write_bps:
    description: Write rate limits per host device, as O(device_read_bps).
    type: list
    elements: dict
    suboptions:
      path:
        description: Device on the host.
        type: str
        required: true
      rate:
        description: Bytes per second.
        type: str
        required: true
  device_read_iops:
    description: Read operations per second per host device, each C(path) and C(rate) (an integer).
    type: list
    elements: dict
    suboptions:
      path:
        description: Device on the host.
        type: str
        required: true
      rate:
        description: Operations per second.
        type: int
        required: true
  device_write_iops:
    description: Write operations per second per host device, as O(device_read_iops).
    type: list
    elements: dict
    suboptions:
      path:
        description: Device on the host.
        type: str
        required: true
      rate:
        description: Operations per second.
        type: int
        required: true
  storage_opts:
    description:
      - Storage driver options of the container's root filesystem, e.g. C(size=10G) (needs a driver that supports
        it, like overlay2 on xfs with project quotas).
      - C(kernel_memory) of community.docker is not offered - the engine ignores (and newer engines reject) kernel
        memory limits.
    type: dict
  privileged:
    description: Run privileged (every capability and device). Omitted is V(false).
    type: bool
  capabilities:
    description:
      - Capabilities to add (C(--cap-add); community.docker's name), e.g. V(NET_ADMIN). V(net_admin), V(NET_ADMIN)
        and V(CAP_NET_ADMIN) are the same; the order does not matter.
    type: list
    elements: str
  cap_drop:
    description: Capabilities to drop (C(--cap-drop)), spelled like O(capabilities); V(ALL) drops every one.
    type: list
    elements: str
  security_opts:
    description:
      - Security options, e.g. V(no-new-privileges), V(apparmor=unconfined), V(seccomp=unconfined),
        V(label=disable). The legacy V(seccomp:unconfined) spelling is the same as V(seccomp=unconfined).
      - A seccomp profile is passed as given (the engine expects the profile's JSON, not a file name).
    type: list
    elements: str
  read_only:
    description: Mount the container's root filesystem read-only. Omitted is V(false).
    type: bool
  init:
    description: Run an init process (tini) as PID 1 that reaps zombies. Omitted is V(false) (the daemon's C(init) default).
    type: bool
  ulimits:
    description: Resource limits, C(NAME:SOFT[:HARD]) like V(nofile:1024:2048) (HARD defaults to SOFT; V(-1) is unlimited).
    type: list
    elements: str
  sysctls:
    description: Namespaced kernel parameters, e.g. C(net.ipv4.ip_forward=1) as a dict.
    type: dict
  device_cgroup_rules:
    description:
      - Rules added to the container's device cgroup, C(TYPE MAJOR:MINOR ACCESS) like V(c 1:3 mr) or V(b 8:* rw)
        (C(docker run --device-cgroup-rule)). Compared as a set; spacing and the order of the access letters do not
        matter. Omitted is none.
    type: list
    elements: str
  devices:
    description:
      - Host devices, C(HOST_PATH[:CONTAINER_PATH][:PERMISSIONS]) like V(/dev/fuse) or V(/dev/sdc:/dev/xvdc:r).
        The container path defaults to the host path and the permissions to V(rwm), so V(/dev/fuse) and
        V(/dev/fuse:/dev/fuse:rwm) are the same.
    type: list
    elements: str
  device_requests:
    description: Device requests for device drivers such as GPUs (C(--gpus)).
    type: list
    elements: dict
    suboptions:
      driver:
        description: Device driver, e.g. V(nvidia).
        type: str
      count:
        description: Number of devices; V(-1) is all. Not with O(device_requests[].device_ids).
        type: int
      device_ids:
        description: Device IDs or UUIDs.
        type: list
        elements: str
      capabilities:
        description: Lists of capabilities, any of which must match, e.g. V([[gpu]]).
        type: list
        elements: list
      options:
        description: Driver-specific options.
        type: dict
  shm_size:
    description:
      - Size of C(/dev/shm) (docker CLI sizes, as O(memory)). Omitted is the engine's default, 64 MiB.
      - On a daemon with a C(default-shm-size) of its own, give O(shm_size) or set O(comparisons) C(shm_size=ignore).
    type: str
  tmpfs:
    description:
      - tmpfs mounts in community.docker's form, C(/PATH[:OPTIONS]) like V(/run) or V(/run:size=64m,mode=1777).
      - Compared by meaning - V(size=64m) and V(size=65536k) are the same, option order does not matter.
        A path may not also be a target of O(mounts) or O(volumes).
    type: list
    elements: str
  runtime:
    description: OCI runtime, e.g. V(runc). Omitted means the daemon's C(default-runtime) and is not compared.
    type: str
  groups:
    description: Additional groups (names or GIDs) of the container's process.
    type: list
    elements: str
  userns_mode:
    description: User namespace mode, V(host) to leave the daemon's user namespace remapping. Omitted is the daemon's default.
    type: str
  ipc_mode:
    description:
      - IPC namespace, V(private), V(shareable), V(host), V(none) or C(container:NAME).
      - Omitted means the daemon's C(default-ipc-mode) (V(private) or V(shareable)); either is not a difference.
    type: str
  pid_mode:
    description: PID namespace, V(host) or C(container:NAME). Omitted is the container's own.
    type: str
  uts_mode:
    description: UTS namespace, V(host). Omitted is the container's own.
    type: str
  cgroupns_mode:
    description: Cgroup namespace mode. Omitted means the daemon's default (V(private) on cgroup v2, V(host) on v1) and is not compared.
    type: str
    choices: [host, private]
  cgroup_parent:
    description: Parent cgroup of the container's cgroup. Omitted is the daemon's.
    type: str
  oom_killer:
    description: Whether the kernel OOM killer may kill the container's processes; V(false) is C(--oom-kill-disable). Omitted is V(true).
    type: bool
  oom_score_adj:
    description: OOM score adjustment, V(-1000) to V(1000). Omitted is V(0).
    type: int
  network_mode:
    description:
      - Network mode, community.docker's option - V(bridge) (also V(default)), V(host), V(none),
        C(container:NAME) (share the network stack of another container) or the name of a network.
      - With O(networks) given it must be the first of them (or be V(host), V(none) or C(container:NAME) with
        O(networks) omitted); O(networks) then manages the endpoints. Not compared when omitted.
      - C(container:NAME) is compared with the container the name stands for now (the engine stores its ID), so
        the target container being recreated is a difference.
    type: str
  dns_servers:
    description: DNS servers (IP addresses), in order. Omitted is none (the engine's resolver configuration).
    type: list
    elements: str
  dns_search_domains:
    description: DNS search domains, in order. Omitted is none.
    type: list
    elements: str
  dns_opts:
    description: Resolver options (C(ndots:2), C(timeout:1)), in order. Omitted is none.
    type: list
    elements: str
  etc_hosts:
    description: Extra C(/etc/hosts) entries, host name to IP address. Omitted is none.
    type: dict
  exposed_ports:
    description:
      - Container ports to expose without publishing them, C(PORT[/PROTO]) or a range (V(80), V(53/udp), V(9000-9001)).
      - They are added to the image's C(EXPOSE) and to the published O(ports), which are never a difference.
      - Not compared when omitted.
    type: list
    elements: raw
  publish_all_ports:
    description: Publish every exposed port on a random host port. Omitted is V(false).
    type: bool
  mac_address:
    description: MAC address of the container's first endpoint. Compared only when given (the engine assigns one otherwise).
    type: str
  domainname:
    description: Domain name of the container. Omitted is none.
    type: str
  links:
    description:
      - Legacy links, C(CONTAINER) or C(CONTAINER:ALIAS) (C(CONTAINER) alone is aliased by its name), on the default
        bridge network only; on user-defined networks use the C(aliases) of O(networks). Compared as a set; omitted is none.
    type: list
    elements: str
  volumes_from:
    description: Mount every volume of these containers (C(NAME), C(NAME:ro) or C(NAME:rw); C(NAME) is read-write).
    type: list
    elements: str
  env_file:
    description:
      - File on the managed host with C(KEY=VALUE) lines (blank lines and C(#) comments are skipped; values
        are taken as written, quotes included, like C(docker run --env-file)).
      - Its variables are added to O(env); O(env) and O(secret_env) win over the file.
    type: str
  stop_signal:
    description:
      - Signal that stops the container, a name or number (V(SIGKILL), V(KILL) and V(9) are the same).
      - Omitted is the image's C(STOPSIGNAL) (or the engine's SIGTERM).
    type: str
  tty:
    description: Allocate a pseudo-TTY. Omitted is V(false).
    type: bool
  interactive:
    description: Keep stdin open (C(docker run -i)). Omitted is V(false).
    type: bool
  paused:
    description:
      - Pause the container's processes (C(docker pause)); V(false) unpauses it. Changed in place, with the same
        container; a new, started or restarted container is paused after it starts.
      - V(true) needs O(state=started). Omitted is V(false), so a container paused by hand is unpaused.
    type: bool
  platform:
    description:
      - Platform to create the container for, C(OS[/ARCH[/VARIANT]]) like V(linux/amd64) or V(linux/arm64).
      - The engine does not keep it on the container, so, as in community.docker, the container's platform is its
        image's. Spellings are normalized as containerd does (V(linux/x86_64) is V(linux/amd64), V(amd64/v1) and
        V(arm64/v8) are the default variants, V(arm) is V(arm/v7)); parts left out are not compared (V(linux)
        matches every architecture). A difference recreates the container.
      - The task fails before any change when the image on the engine is built for another platform (older engines
        would create the container from it anyway). Omitted is not compared.
    type: str
  auto_remove:
    description:
      - The engine removes the container when its process exits (C(docker run --rm)). Omitted is V(false).
      - A stopped auto-removed container is gone, so O(state=stopped) removes it.
    type: bool
  state:
    description:
      - V(started) exists and runs; V(healthy) runs and is healthy (waits up to O(wait_timeout); without a
        healthcheck, running); V(stopped) exists and is stopped; V(present) exists, running state untouched
        (a new container is created but not started); V(absent) removed.
    type: str
    choices: [present, started, stopped, absent, healthy]
    default: started
  recreate:
    description:
      - V(auto) recreates on a difference that cannot be applied in place. The replacement is created first
        (as C(NAME.hybridops-new-XXXXXX)); if the engine refuses it the old container is left running. Only
        then is the old one stopped and set aside, the new one renamed and started (so fixed host ports work);
        if it cannot start, the old one is brought back. See the containers guide.
      - V(rolling) starts the new container beside the old one (temporary name C(NAME-hybridops-next)), waits
        until it is healthy (its healthcheck, or running when it has none), then removes the old one and
        renames the new one. Not possible with fixed host ports.
      - V(always) recreates every run; V(never) fails instead of recreating.
    type: str
    choices: [auto, always, never, rolling]
    default: auto
  wait_timeout:
    description: Seconds to wait for a container to become healthy (O(state=healthy), O(recreate=rolling)).
    type: int
    default: 120
  restart:
    description:
      - Restart the container (stop, then start) when it is running and needs no change, as community.docker's
        C(restart) does. A container that is created, recreated or started anyway is not restarted again.
      - The diff shows C(restarted) in after; O(restart=true) therefore always reports a change.
    type: bool
    default: false
  force_kill:
    description:
      - Stop a running container with C(docker kill) (the signal O(kill_signal)) instead of C(docker stop)
        (the stop signal, then SIGKILL after O(stop_timeout)) - for O(state=stopped), O(state=absent), and the old
        container of a recreate or a rolling replace.
    type: bool
    default: false
    aliases: [forcekill]
  kill_signal:
    description:
      - The signal of O(force_kill), a name or number (V(SIGKILL), V(KILL) and V(9) are the same). Omitted is
        V(SIGKILL). Only with O(force_kill=true). A signal the container's process survives leaves it running
        (O(state=stopped) then tries again on the next run).
    type: str
  keep_volumes:
    description:
      - Keep the anonymous volumes of a container this module removes (a recreate, a rolling replace,
        O(state=absent)). By default they are removed with it, like C(docker rm -v).
      - Named volumes and bind mounts are never removed.
      - community.docker's C(keep_volumes) defaults to V(true). Here the default is V(false) because the
        replacement container gets a fresh anonymous volume and nothing can reach the old one but its
        ID, so every recreate of an image that declares C(VOLUME) would leak one. Data that must outlive
        a container belongs in a named volume (O(volumes)); set V(true) to keep the old behaviour.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A web server with a volume, published port and healthcheck
  hybridops.fleet.container:
    name: web
    image: hybridops/web:1
    ports: ["8080:8080"]
    volumes: ["webdata:/www/data"]
    env:
      MODE: production
    secret_env:
      API_TOKEN: "{{ vault_api_token }}"
    restart_policy: unless-stopped
    memory: 128m
    healthcheck:
      interval: 5s
    state: healthy

- name: Replace with a new image without downtime (rolling, health-gated)
  hybridops.fleet.container:
    name: api
    image: hybridops/api:2
    networks:
      - name: appnet
        aliases: [api]
    recreate: rolling
    wait_timeout: 60

- name: Remove
  hybridops.fleet.container:
    name: web
    state: absent
'''

RETURN = r'''
container:
  description: Inspect data of the container after the run (secret env values masked); null when absent.
  returned: success
  type: dict
action:
  description: What was (or, in check mode, would be) done to the container.
  returned: always
  type: str
  sample: recreate
  choices: [none, create, recreate, rolling, update, remove]
actions:
  description: Every step taken, e.g. V([recreate, start]) or V([update, pause]) (O(paused)).
  returned: always
  type: list
  elements: str
differences:
  description:
    - Each differing option with option-form before/after values and how it is applied (C(update)) - V(in_place)
      (C(docker update)), V(network) (connect/disconnect), V(pause) (C(docker pause)/C(unpause)) or V(recreate).
  returned: always
  type: list
  elements: dict
  sample: [{option: memory, before: 64MiB, after: 128MiB, update: in_place}]
rolled_back:
  description:
    - Set when a recreate or rolling replace failed. V(true) when the new container was removed (the old one still
      serves, or was brought back); V(false) when removing it failed too (the engine went away), in which case the
      next run removes it.
  returned: failure
  type: bool
old_container_id:
  description: ID of the container that a failed recreate or rolling replace left in place.
  returned: failure
  type: str
removed_leftover:
  description:
    - The name of the replacement container (V(NAME-hybridops-next)) that a rolling replace cut short left behind;
      this run removed it (or, in check mode, would).
  returned: when there was one
  type: str
recovered:
  description: Leftovers of an earlier killed run that were cleaned up first (temporary containers removed, a parked
    old container renamed back); in check mode, what would be.
  returned: when there were any
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import (
    CONTAINER_RUN_ARGS,
    CONTAINER_SPEC_ARGS,
    ContainerManager,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import LOCK_ARGS, lock_key, run_with_client


def main():
    argument_spec = dict(CONTAINER_SPEC_ARGS)
    argument_spec.update(CONTAINER_RUN_ARGS)
    argument_spec.update(DOCKER_COMMON_ARGS)
    argument_spec.update(LOCK_ARGS)
    # image: required to create a container, not to start, stop or restart an existing one (checked by the manager)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_with_client(module, manager_func(module, ContainerManager),
                    locks=[lock_key(module.params, "container", module.params["name"])])


if __name__ == "__main__":
    main()
