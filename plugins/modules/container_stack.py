#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_stack
short_description: Converge a named stack of many Docker containers in one call, in parallel
version_added: 0.1.0
description:
  - Converges every member of a stack in ONE module call. All members are compared with one container
    listing and one inspect each, then created, updated and removed in parallel by a bounded pool of workers.
  - Members are ordered by C(depends_on); a member starts only when its dependencies are done (and healthy
    when they have C(state=healthy)). A member whose dependency failed is skipped, the others carry on.
  - Containers that carry the stack's label (C(hybridops.fleet.stack=NAME)) but are no longer declared are
    removed (O(prune)).
  - Networks and volumes can be declared with the stack; they are created when missing and labelled with
    the stack.
  - When some members fail, the task fails and the result says which members changed, which failed and
    which were skipped; a rerun converges the rest.
  - Full check mode and a per-member structured diff.
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
  - hybridops.fleet.lock
attributes:
  check_mode:
    support: full
    description: Reports exactly which members would be created, updated, recreated or pruned.
  diff_mode:
    support: full
    description: Before/after spec of every member that changes (secret values masked).
options:
  name:
    description: Stack name; stored in the C(hybridops.fleet.stack) label of every member.
    type: str
    required: true
  state:
    description: V(present) converges the members; V(absent) removes every container, and network, labelled with the stack.
    type: str
    choices: [present, absent]
    default: present
  containers:
    description:
      - The members. Each is a dict with the options of M(hybridops.fleet.container) (the suboptions below)
        plus C(depends_on), a list of member names. They are compared exactly as that module compares
        them.
      - Member names are container names. C(state=absent) is not allowed for a member; drop it from the
        list instead.
      - C(secret_env) is a no_log suboption, so its values are hidden from output, diffs and the invocation
        the module logs on the managed host.
      - Every member is validated before anything changes; a bad member fails the task naming
        C(containers[NAME].OPTION) (C(containers[INDEX]) when the name itself is invalid), with the rules of
        M(hybridops.fleet.container). Names that differ only by a leading V(/) are the same member. C(depends_on)
        must be a list.
    type: list
    elements: dict
    default: []
    suboptions:
      blkio_weight:
        description: As O(hybridops.fleet.container#module:blkio_weight).
        type: raw
      cap_drop:
        description: As O(hybridops.fleet.container#module:cap_drop).
        type: raw
      capabilities:
        description: As O(hybridops.fleet.container#module:capabilities).
        type: raw
      cgroup_parent:
        description: As O(hybridops.fleet.container#module:cgroup_parent).
        type: raw
      cgroupns_mode:
        description: As O(hybridops.fleet.container#module:cgroupns_mode).
        type: raw
      auto_remove:
        description: As O(hybridops.fleet.container#module:auto_remove).
        type: raw
      force_kill:
        description: As O(hybridops.fleet.container#module:force_kill).
        type: raw
      kill_signal:
        description: As O(hybridops.fleet.container#module:kill_signal).
        type: raw
      device_cgroup_rules:
        description: As O(hybridops.fleet.container#module:device_cgroup_rules).
        type: raw
      links:
        description: As O(hybridops.fleet.container#module:links).
        type: raw
      paused:
        description: As O(hybridops.fleet.container#module:paused).
        type: raw
      platform:
        description: As O(hybridops.fleet.container#module:platform).
        type: raw
      dns_opts:
        description: As O(hybridops.fleet.container#module:dns_opts).
        type: raw
      dns_search_domains:
        description: As O(hybridops.fleet.container#module:dns_search_domains).
        type: raw
      dns_servers:
        description: As O(hybridops.fleet.container#module:dns_servers).
        type: raw
      domainname:
        description: As O(hybridops.fleet.container#module:domainname).
        type: raw
      env_file:
        description: As O(hybridops.fleet.container#module:env_file).
        type: raw
      etc_hosts:
        description: As O(hybridops.fleet.container#module:etc_hosts).
        type: raw
      exposed_ports:
        description: As O(hybridops.fleet.container#module:exposed_ports).
        type: raw
      interactive:
        description: As O(hybridops.fleet.container#module:interactive).
        type: raw
      mac_address:
        description: As O(hybridops.fleet.container#module:mac_address).
        type: raw
      network_mode:
        description: As O(hybridops.fleet.container#module:network_mode).
        type: raw
      publish_all_ports:
        description: As O(hybridops.fleet.container#module:publish_all_ports).
        type: raw
      stop_signal:
        description: As O(hybridops.fleet.container#module:stop_signal).
        type: raw
      tty:
        description: As O(hybridops.fleet.container#module:tty).
        type: raw
      volumes_from:
        description: As O(hybridops.fleet.container#module:volumes_from).
        type: raw
      restart:
        description: As O(hybridops.fleet.container#module:restart).
        type: raw
      command:
        description: As O(hybridops.fleet.container#module:command).
        type: raw
      comparisons:
        description: As O(hybridops.fleet.container#module:comparisons).
        type: raw
      cpu_period:
        description: As O(hybridops.fleet.container#module:cpu_period).
        type: raw
      cpu_quota:
        description: As O(hybridops.fleet.container#module:cpu_quota).
        type: raw
      cpu_shares:
        description: As O(hybridops.fleet.container#module:cpu_shares).
        type: raw
      cpus:
        description: As O(hybridops.fleet.container#module:cpus).
        type: raw
      cpuset_cpus:
        description: As O(hybridops.fleet.container#module:cpuset_cpus).
        type: raw
      cpuset_mems:
        description: As O(hybridops.fleet.container#module:cpuset_mems).
        type: raw
      depends_on:
        description: Names of the members that must be done (healthy when they have C(state=healthy)) before this one starts.
        type: raw
      device_read_bps:
        description: As O(hybridops.fleet.container#module:device_read_bps).
        type: raw
      device_read_iops:
        description: As O(hybridops.fleet.container#module:device_read_iops).
        type: raw
      device_requests:
        description: As O(hybridops.fleet.container#module:device_requests).
        type: raw
      device_write_bps:
        description: As O(hybridops.fleet.container#module:device_write_bps).
        type: raw
      device_write_iops:
        description: As O(hybridops.fleet.container#module:device_write_iops).
        type: raw
      devices:
        description: As O(hybridops.fleet.container#module:devices).
        type: raw
      entrypoint:
        description: As O(hybridops.fleet.container#module:entrypoint).
        type: raw
      env:
        description: As O(hybridops.fleet.container#module:env).
        type: raw
      groups:
        description: As O(hybridops.fleet.container#module:groups).
        type: raw
      healthcheck:
        description: As O(hybridops.fleet.container#module:healthcheck).
        type: raw
      hostname:
        description: As O(hybridops.fleet.container#module:hostname).
        type: raw
      image:
        description: As O(hybridops.fleet.container#module:image).
        type: raw
      init:
        description: As O(hybridops.fleet.container#module:init).
        type: raw
      ipc_mode:
        description: As O(hybridops.fleet.container#module:ipc_mode).
        type: raw
      keep_volumes:
        description: As O(hybridops.fleet.container#module:keep_volumes). Defaults to O(keep_volumes).
        type: raw
      labels:
        description: As O(hybridops.fleet.container#module:labels).
        type: raw
      log_driver:
        description: As O(hybridops.fleet.container#module:log_driver).
        type: raw
      log_options:
        description: As O(hybridops.fleet.container#module:log_options).
        type: raw
      memory:
        description: As O(hybridops.fleet.container#module:memory).
        type: raw
      memory_reservation:
        description: As O(hybridops.fleet.container#module:memory_reservation).
        type: raw
      memory_swap:
        description: As O(hybridops.fleet.container#module:memory_swap).
        type: raw
      memory_swappiness:
        description: As O(hybridops.fleet.container#module:memory_swappiness).
        type: raw
      mounts:
        description: As O(hybridops.fleet.container#module:mounts).
        type: raw
      name:
        description: Container name (required).
        type: raw
      networks:
        description: As O(hybridops.fleet.container#module:networks).
        type: raw
      oom_killer:
        description: As O(hybridops.fleet.container#module:oom_killer).
        type: raw
      oom_score_adj:
        description: As O(hybridops.fleet.container#module:oom_score_adj).
        type: raw
      pid_mode:
        description: As O(hybridops.fleet.container#module:pid_mode).
        type: raw
      pids_limit:
        description: As O(hybridops.fleet.container#module:pids_limit).
        type: raw
      ports:
        description: As O(hybridops.fleet.container#module:ports).
        type: raw
      privileged:
        description: As O(hybridops.fleet.container#module:privileged).
        type: raw
      pull:
        description: As O(hybridops.fleet.container#module:pull). Defaults to O(pull).
        type: raw
      read_only:
        description: As O(hybridops.fleet.container#module:read_only).
        type: raw
      recreate:
        description: As O(hybridops.fleet.container#module:recreate). Defaults to O(recreate).
        type: raw
      restart_policy:
        description: As O(hybridops.fleet.container#module:restart_policy).
        type: raw
      restart_retries:
        description: As O(hybridops.fleet.container#module:restart_retries).
        type: raw
      runtime:
        description: As O(hybridops.fleet.container#module:runtime).
        type: raw
      secret_env:
        description: As O(hybridops.fleet.container#module:secret_env). The values are no_log (hidden from output, logs and diffs).
        type: raw
      security_opts:
        description: As O(hybridops.fleet.container#module:security_opts).
        type: raw
      shm_size:
        description: As O(hybridops.fleet.container#module:shm_size).
        type: raw
      state:
        description: As O(hybridops.fleet.container#module:state), without V(absent). Defaults to O(member_state).
        type: raw
      stop_timeout:
        description: As O(hybridops.fleet.container#module:stop_timeout).
        type: raw
      storage_opts:
        description: As O(hybridops.fleet.container#module:storage_opts).
        type: raw
      sysctls:
        description: As O(hybridops.fleet.container#module:sysctls).
        type: raw
      tmpfs:
        description: As O(hybridops.fleet.container#module:tmpfs).
        type: raw
      ulimits:
        description: As O(hybridops.fleet.container#module:ulimits).
        type: raw
      user:
        description: As O(hybridops.fleet.container#module:user).
        type: raw
      userns_mode:
        description: As O(hybridops.fleet.container#module:userns_mode).
        type: raw
      uts_mode:
        description: As O(hybridops.fleet.container#module:uts_mode).
        type: raw
      volumes:
        description: As O(hybridops.fleet.container#module:volumes).
        type: raw
      wait_timeout:
        description: As O(hybridops.fleet.container#module:wait_timeout). Defaults to O(wait_timeout).
        type: raw
      working_dir:
        description: As O(hybridops.fleet.container#module:working_dir).
        type: raw
  prune:
    description: Remove containers labelled with this stack that are not declared in O(containers).
    type: bool
    default: true
  networks:
    description:
      - Networks to create when missing (dicts with C(name), C(driver) (default V(bridge)), C(internal),
        C(subnet), C(gateway), C(labels), C(options)), checked and created as by
        M(hybridops.fleet.container_network). Members attach with their own C(networks) option.
      - One that exists with another driver, internal flag, subnet or gateway fails naming
        C(networks[INDEX].OPTION); a stack never recreates a network.
    type: list
    elements: dict
    default: []
  volumes:
    description:
      - Volumes to create when missing (dicts with C(name), C(driver) (default V(local)), C(labels), C(driver_opts)),
        checked and created as by M(hybridops.fleet.container_volume); one that exists with another driver or
        driver options fails naming C(volumes[INDEX].OPTION).
    type: list
    elements: dict
    default: []
  remove_volumes:
    description: With O(state=absent), also remove the volumes labelled with the stack (their data is lost).
    type: bool
    default: false
  max_workers:
    description: Members converged at the same time (at least V(1)).
    type: int
    default: 8
  max_unavailable:
    description:
      - At most this many members are being recreated (or rolled) at the same time. Unset means no limit
        beyond O(max_workers). With C(recreate=rolling) members, old containers keep serving until their
        replacements are healthy, so this bounds the extra load during a rollout.
      - At least V(1).
    type: int
  member_state:
    description: Default C(state) of members.
    type: str
    choices: [present, started, stopped, healthy]
    default: started
  recreate:
    description:
      - Default C(recreate) of members (see M(hybridops.fleet.container)).
      - A C(rolling) default is not applied to members that publish fixed host ports (the old and the new container
        cannot bind them at once); they use C(auto) unless they set C(recreate=rolling) themselves, which fails.
    type: str
    choices: [auto, always, never, rolling]
    default: auto
  pull:
    description: Default C(pull) of members.
    type: str
    choices: [missing, always, never]
    default: missing
  wait_timeout:
    description: Default C(wait_timeout) of members (seconds to wait for health).
    type: int
    default: 120
  keep_volumes:
    description:
      - Default C(keep_volumes) of members (see M(hybridops.fleet.container)), and whether pruned containers
        keep their anonymous volumes. By default anonymous volumes go with the container that is removed.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A three-tier stack, converged in one task
  hybridops.fleet.container_stack:
    name: shop
    networks:
      - name: shop-net
    volumes:
      - name: shop-db
    containers:
      - name: shop-db
        image: hybridops/db:1
        volumes: ["shop-db:/var/lib/db"]
        networks: [{name: shop-net, aliases: [db]}]
        secret_env:
          DB_PASSWORD: "{{ vault_db_password }}"
        state: healthy
      - name: shop-api
        image: hybridops/api:3
        networks: [{name: shop-net, aliases: [api]}]
        depends_on: [shop-db]
        recreate: rolling
      - name: shop-web
        image: hybridops/web:2
        ports: ["8080:8080"]
        networks: [shop-net]
        depends_on: [shop-api]

- name: Tear it down (volumes kept)
  hybridops.fleet.container_stack:
    name: shop
    state: absent
'''

RETURN = r'''
containers:
  description:
    - Outcome per member name, with C(status) (V(ok), V(failed), V(skipped)), C(action)
      (none, create, recreate, rolling, update), C(actions), C(changed), C(differences), C(id), C(running),
      C(health), and C(error) for failed or skipped members.
  returned: always
  type: dict
changed_members:
  description: Members that changed (or would change in check mode).
  returned: always
  type: list
  elements: str
failed_members:
  description: Members whose convergence failed.
  returned: always
  type: list
  elements: str
skipped_members:
  description: Members not touched because a dependency failed.
  returned: always
  type: list
  elements: str
pruned:
  description: Undeclared containers of the stack that were (or would be) removed.
  returned: always
  type: list
  elements: str
networks_created:
  description: Declared networks that were (or would be) created.
  returned: always
  type: list
  elements: str
volumes_created:
  description: Declared volumes that were (or would be) created.
  returned: always
  type: list
  elements: str
recovered:
  description: Leftovers of an earlier killed run that were cleaned up first (temporary containers removed, a parked
    old container renamed back).
  returned: when there were any
  type: list
  elements: str
interrupted:
  description: The signal (V(SIGINT), V(SIGTERM), V(SIGHUP)) that ended the run early; members not yet started are
    skipped with an error saying so.
  returned: when a signal came in
  type: str
'''

from ansible_collections.hybridops.fleet.plugins.module_utils._common.module import FleetModule
from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import LOCK_ARGS, run_with_client
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.stack import (
    MEMBER_SPEC,
    StackManager,
    stack_locks,
)


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        containers=dict(type="list", elements="dict", default=[], options=MEMBER_SPEC),
        prune=dict(type="bool", default=True),
        networks=dict(type="list", elements="dict", default=[]),
        volumes=dict(type="list", elements="dict", default=[]),
        remove_volumes=dict(type="bool", default=False),
        max_workers=dict(type="int", default=8),
        max_unavailable=dict(type="int"),
        member_state=dict(type="str", choices=["present", "started", "stopped", "healthy"], default="started"),
        recreate=dict(type="str", choices=["auto", "always", "never", "rolling"], default="auto"),
        pull=dict(type="str", choices=["missing", "always", "never"], default="missing"),
        wait_timeout=dict(type="int", default=120),
        keep_volumes=dict(type="bool", default=False),
    )
    argument_spec.update(DOCKER_COMMON_ARGS)
    argument_spec.update(LOCK_ARGS)
    module = FleetModule(argument_spec=argument_spec, supports_check_mode=True)
    max_workers = module.params["max_workers"]

    run_with_client(module, manager_func(module, StackManager, max_workers=max_workers),
                    pool_size=max_workers + 2, locks=stack_locks(module.params))


if __name__ == "__main__":
    main()
