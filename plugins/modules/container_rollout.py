#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_rollout
short_description: Zero-downtime, health-gated rollout of a container service behind HAProxy
version_added: 0.1.0
description:
  - Rolls a service that users reach on a fixed port from one image to another without a failed request.
    HAProxy owns the fixed port; the service's containers sit behind it in two I(slots), the two servers of
    one HAProxy backend (for example C(server blue 127.0.0.1:18080) and C(server green 127.0.0.1:18081)). The
    container of slot C(S) is named C(NAME-S) and publishes O(port) on that server's address and port, which the
    module reads from HAProxy, so the proxy's configuration is the only place they are written.
  - "A rollout: the new container is started in the idle slot, whose server stays in maintenance; it is gated on
    its own healthcheck and then on a probe from the host at the server's address (O(probe)); only then is its
    server set C(ready) and, once HAProxy counts it running, the old server is set to C(drain) (no new
    sessions), waited for until its sessions reach 0 or O(proxy.drain_timeout), put in maintenance, and the old
    container is stopped and removed. HAProxy's server state is then saved to O(proxy.state_file)."
  - If the new container fails its gate, it is removed, its server stays in maintenance and the task fails
    saying which gate failed and why; traffic never left the old container.
  - A run with nothing new changes nothing (no proxy command, no container touched). A container left in the
    idle slot by an interrupted run is removed (drained first if it takes traffic).
  - Talks to HAProxy only through its runtime API (the unix stats socket, C(level admin)); it never writes
    HAProxy's configuration. The role C(hybridops.fleet.container_deploy) writes it.
  - Supports check mode (exact prediction, nothing changed) and diff mode (slot, image and server states).
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
  - hybridops.fleet.lock
attributes:
  check_mode:
    support: full
    description: Reads HAProxy and the engine and reports what a run would do; nothing is started, switched or removed.
  diff_mode:
    support: full
    description: Before/after of the serving slot, its container, image and the backend's server states.
options:
  name:
    description:
      - Service name; the containers are C(NAME-SLOT). The HAProxy backend defaults to this name.
    type: str
    required: true
  image:
    description:
      - Image of the new version; compared by image ID with the serving container.
      - Exactly one of O(image) and O(rollback) is given.
    type: str
  rollback:
    description:
      - Go back to a version that served before, from the image the host kept for it (see O(keep_versions)); no
        registry is asked. The rollback is a rollout like any other, gated and switched the same way.
      - V(previous) is the version that served before the serving one; each run with V(previous) steps back once
        more (the version rolled back from becomes the previous one), so a playbook that must be idempotent names
        the version instead.
      - A named version is the image reference it was rolled out as (for example V(registry.example.com/web:1),
        even when that tag has moved since) or its image ID (at least 12 hex digits). When it is the version that
        serves, nothing is done.
      - A version that is not kept fails naming O(rollback) and listing the kept versions.
    type: str
  keep_versions:
    description:
      - How many earlier versions the host keeps for O(rollback), newest first. Their images are kept by the tags
        C(hybridops-rollout/NAME:ID12) (so that neither a moved tag nor C(docker image prune) removes them); a
        version that falls out of the history loses its tag after the next successful switch, and its image is
        removed when nothing else uses or tags it.
      - The history is kept on the serving container (label C(hybridops.fleet.rollout.history)); V(0) keeps none.
    type: int
    default: 3
  port:
    description: Container port the service listens on; published on the slot server's address and port.
    type: int
    required: true
  container:
    description:
      - Other options of the containers, as in M(hybridops.fleet.container) (compared exactly as that module
        compares them); a difference is rolled out like a new image.
      - C(name), C(image) and C(ports) are set by the rollout and cannot be given here.
    type: dict
    default: {}
    suboptions:
      auto_remove:
        description: As O(hybridops.fleet.container#module:auto_remove).
        type: raw
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
      device_cgroup_rules:
        description: As O(hybridops.fleet.container#module:device_cgroup_rules).
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
      entrypoint:
        description: As O(hybridops.fleet.container#module:entrypoint).
        type: raw
      env:
        description: As O(hybridops.fleet.container#module:env).
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
      groups:
        description: As O(hybridops.fleet.container#module:groups).
        type: raw
      healthcheck:
        description: As O(hybridops.fleet.container#module:healthcheck).
        type: raw
      hostname:
        description: As O(hybridops.fleet.container#module:hostname).
        type: raw
      init:
        description: As O(hybridops.fleet.container#module:init).
        type: raw
      interactive:
        description: As O(hybridops.fleet.container#module:interactive).
        type: raw
      ipc_mode:
        description: As O(hybridops.fleet.container#module:ipc_mode).
        type: raw
      labels:
        description: As O(hybridops.fleet.container#module:labels).
        type: raw
      links:
        description: As O(hybridops.fleet.container#module:links).
        type: raw
      log_driver:
        description: As O(hybridops.fleet.container#module:log_driver).
        type: raw
      log_options:
        description: As O(hybridops.fleet.container#module:log_options).
        type: raw
      mac_address:
        description: As O(hybridops.fleet.container#module:mac_address).
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
      network_mode:
        description: As O(hybridops.fleet.container#module:network_mode).
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
      platform:
        description: As O(hybridops.fleet.container#module:platform).
        type: raw
      privileged:
        description: As O(hybridops.fleet.container#module:privileged).
        type: raw
      publish_all_ports:
        description: As O(hybridops.fleet.container#module:publish_all_ports).
        type: raw
      read_only:
        description: As O(hybridops.fleet.container#module:read_only).
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
        description: As O(hybridops.fleet.container#module:secret_env).
        type: raw
      security_opts:
        description: As O(hybridops.fleet.container#module:security_opts).
        type: raw
      shm_size:
        description: As O(hybridops.fleet.container#module:shm_size).
        type: raw
      stop_signal:
        description: As O(hybridops.fleet.container#module:stop_signal).
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
      tty:
        description: As O(hybridops.fleet.container#module:tty).
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
      volumes_from:
        description: As O(hybridops.fleet.container#module:volumes_from).
        type: raw
      working_dir:
        description: As O(hybridops.fleet.container#module:working_dir).
        type: raw
  pull:
    description: When to pull O(image), as O(hybridops.fleet.container#module:pull).
    type: str
    choices: [missing, always, never]
    default: missing
  wait_timeout:
    description:
      - Seconds to wait for the new container to become healthy (when it has a healthcheck; running otherwise),
        and then for HAProxy to count its server running.
    type: int
    default: 120
  proxy:
    description: The HAProxy in front of the service.
    type: dict
    default: {}
    suboptions:
      socket:
        description: HAProxy's runtime API socket (C(stats socket PATH level admin) in its global section).
        type: path
        default: /run/haproxy/admin.sock
      backend:
        description: Backend whose two servers are the slots. Defaults to O(name).
        type: str
      state_file:
        description:
          - HAProxy's C(server-state-file). After a change the module saves C(show servers state) there, so that a
            reload (with C(load-server-state-from-file)) keeps the serving slot instead of the configuration's.
          - Not saved when omitted.
        type: path
      drain_timeout:
        description:
          - Seconds to wait for the old server's sessions (current and queued) to reach 0 once it drains; it is
            then put in maintenance and its container stopped either way (the result's C(drain) says how many were left).
        type: int
        default: 30
      timeout:
        description: Seconds to wait for one answer of the runtime API.
        type: int
        default: 10
  probe:
    description:
      - The probe from the host that gates the new container after its healthcheck; it is sent to the slot's
        server address and port, where HAProxy will send traffic.
    type: dict
    default: {}
    suboptions:
      type:
        description: V(http) (a GET, status and body checked) or V(tcp) (a connect).
        type: str
        choices: [http, tcp]
        default: http
      path:
        description: HTTP path.
        type: str
        default: /
      status:
        description: HTTP status codes that pass.
        type: list
        elements: int
        default: [200]
      body:
        description: A regular expression the HTTP body must match (searched, the first 64 KiB).
        type: str
      host_header:
        description: HTTP C(Host) header to send.
        type: str
      successes:
        description: Probes in a row that must pass.
        type: int
        default: 1
      timeout:
        description: Seconds to keep probing (once a second) before the gate fails.
        type: int
        default: 60
      request_timeout:
        description: Seconds one probe may take.
        type: int
        default: 5
notes:
  - HAProxy 2.x with the runtime API at C(level admin). The slot servers should be declared C(disabled) in the
    configuration, with C(server-state-file) and C(load-server-state-from-file global), so that HAProxy starts
    with no slot serving and a reload keeps the state this module set (the role's template does so).
  - C(option redispatch) and C(retries) in the backend (also in the template) retry a connection that fails on
    one slot on the other one.
seealso:
  - module: hybridops.fleet.container
  - name: HAProxy management guide (runtime API)
    description: The C(show servers state), C(show stat) and C(set server) commands used here.
    link: https://docs.haproxy.org/2.6/management.html
'''

EXAMPLES = r'''
- name: Roll web out to version 2 behind HAProxy (backend web with servers blue and green)
  hybridops.fleet.container_rollout:
    name: web
    image: registry.example.com/web:2
    port: 8080
    container:
      env:
        LOG_LEVEL: info
      restart_policy: unless-stopped
    probe:
      path: /health
      body: '"status": *"ok"'
    proxy:
      state_file: /var/lib/haproxy/server-state
      drain_timeout: 20

- name: Roll web back to the version before, from the image the host kept (no registry needed)
  hybridops.fleet.container_rollout:
    name: web
    rollback: previous
    port: 8080
    proxy:
      state_file: /var/lib/haproxy/server-state

- name: Roll web back to a named version (idempotent)
  hybridops.fleet.container_rollout:
    name: web
    rollback: registry.example.com/web:1
    port: 8080
'''

RETURN = r'''
history:
  description: The earlier versions kept for O(rollback) after the run (in check mode, that would be), newest first.
  returned: success
  type: list
  elements: dict
  contains:
    image: {description: The image reference the version was rolled out as., type: str}
    id: {description: Its image ID., type: str}
pruned_versions:
  description: The history tags removed (or that would be) because their versions fell out of O(keep_versions).
  returned: success
  type: list
  elements: str
slot:
  description: The slot that serves after the run (in check mode, that would).
  returned: success
  type: str
  sample: green
previous_slot:
  description: The slot that served before a rollout; null when nothing was rolled out or nothing served.
  returned: success
  type: str
rolled_out:
  description: Whether a new container was (or would be) started and switched to.
  returned: always
  type: bool
image:
  description: The image reference of the version that serves after the run (O(image), or the version O(rollback) named).
  returned: always
  type: str
backend:
  description: The HAProxy backend.
  returned: always
  type: str
differences:
  description: What differed between the serving container and the spec (options with before/after).
  returned: always
  type: list
  elements: dict
servers:
  description: Admin state (V(ready), V(drain), V(maint)) of each slot's server after the run.
  returned: success
  type: dict
  sample: {blue: maint, green: ready}
container:
  description: Inspect data of the serving container (secret values masked); not returned in check mode with a rollout.
  returned: when a container serves
  type: dict
drain:
  description: How draining the old slot went (C(server), C(seconds), C(sessions_left), C(timed_out)).
  returned: when an old slot was drained
  type: dict
steps:
  description: The steps taken, in order (also on failure).
  returned: always
  type: list
  elements: str
rolled_back:
  description: On a failed gate, true when the new container was removed and its server left in maintenance.
  returned: failure
  type: bool
failed_slot:
  description: On a failed gate, the slot of the new container.
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.rollout import ROLLOUT_ARGS, RolloutManager
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import LOCK_ARGS, lock_key, run_with_client
from ansible_collections.hybridops.fleet.plugins.module_utils._haproxy.client import RuntimeClient


def main():
    argument_spec = dict(ROLLOUT_ARGS)
    argument_spec.update(DOCKER_COMMON_ARGS)
    argument_spec.update(LOCK_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    proxy = module.params["proxy"] or {}
    runtime = RuntimeClient(proxy.get("socket") or "/run/haproxy/admin.sock", proxy.get("timeout") or 10)
    run_with_client(module, manager_func(module, RolloutManager, proxy_client=runtime),
                    locks=[lock_key(module.params, "rollout", module.params["name"])])


if __name__ == "__main__":
    main()
