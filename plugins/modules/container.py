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
  - A container is recreated only on a real difference. Memory, CPUs, PIDs limit and restart policy are
    updated in place; networks are connected/disconnected in place (except a move into or out of the
    V(host) or V(none) network, which needs a new container).
  - Values the engine or the daemon fills in are not drift - the daemon's default C(log-opts) from its
    C(daemon.json), the aliases the engine adds to network endpoints, paths the engine cleans
    (trailing slashes) - and the diff of an unchanged container shows identical before and after.
  - When a container is replaced, its anonymous volumes (those of an image's C(VOLUME) not given a name)
    are removed with it unless O(keep_volumes=true); see there for why this differs from community.docker.
  - O(recreate=rolling) starts the replacement beside the old container, waits until it is healthy and only
    then removes the old one. If the replacement never gets healthy it is removed, the old container keeps
    serving, and the task fails saying so.
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
      - Image reference (C(repo:tag), C(repo@sha256:...) or an image ID). Required unless O(state=absent).
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
          - Host path (bind) or volume name (volume); not for tmpfs.
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
  volumes:
    description:
      - Short form of O(mounts), C(SOURCE:/target[:ro|rw]). An absolute SOURCE is a bind mount, otherwise a
        named volume. A target may appear only once across O(mounts) and O(volumes).
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
      - Networks to attach, each a name or a dict with C(name), C(aliases) (list) and C(ipv4_address). The
        first is used at creation, the others are connected. Changes are applied in place.
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
  description: Every step taken, e.g. V([recreate, start]).
  returned: always
  type: list
  elements: str
differences:
  description: Each differing option with option-form before/after values and how it is applied.
  returned: always
  type: list
  elements: dict
  sample: [{option: memory, before: 64MiB, after: 128MiB, update: in_place}]
rolled_back:
  description:
    - Set when a recreate or rolling replace failed and the new container was removed (the old one still serves,
      or was brought back).
  returned: failure
  type: bool
old_container_id:
  description: ID of the container that a failed recreate or rolling replace left in place.
  returned: failure
  type: str
recovered:
  description: Leftovers of an earlier killed run that were cleaned up first (temporary containers removed, a parked
    old container renamed back).
  returned: when there were any
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.container import (
    CONTAINER_RUN_ARGS, CONTAINER_SPEC_ARGS, ContainerManager)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import LOCK_ARGS, lock_key, run_with_client


def main():
    argument_spec = dict(CONTAINER_SPEC_ARGS)
    argument_spec.update(CONTAINER_RUN_ARGS)
    argument_spec.update(DOCKER_COMMON_ARGS)
    argument_spec.update(LOCK_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[("state", "present", ["image"]), ("state", "started", ["image"]),
                                        ("state", "stopped", ["image"]), ("state", "healthy", ["image"])])
    run_with_client(module, lambda client: ContainerManager(client, check_mode=module.check_mode).ensure(module.params),
                    locks=[lock_key(module.params, "container", module.params["name"])])


if __name__ == "__main__":
    main()
