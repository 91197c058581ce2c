#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_vms
short_description: Converge a list of libvirt VMs in one task, concurrently, on one or several hypervisors
version_added: 0.3.0
description:
  - Each item of O(vms) is one VM with the options of M(hybridops.fleet.libvirt_vm), converged exactly as that
    module converges it (the same code), so results, check mode and diffs mean the same.
  - The VMs are converged on a thread pool of O(max_workers), with one libvirt connection per hypervisor URI
    (an item's C(uri), else O(uri)) shared by that hypervisor's VMs. Their waits (O(vms[].wait)) run concurrently.
  - One task in place of a loop of M(hybridops.fleet.libvirt_vm) tasks, so one module start-up and one connection
    per hypervisor instead of one per VM; that is what a fleet playbook spends its time on when little changes.
  - Two passes. Every VM is first planned (validated, and its pools, volumes and networks looked up, as in check
    mode); only when every plan succeeds are the VMs converged. So bad input in any item, or a missing pool, changes
    nothing anywhere, and the message names the item as C(vms[NAME]).
  - A VM that fails while it is converged does not stop the others; the task fails listing each failed VM and why,
    and RV(results) says what was done to each.
author:
  - hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.libvirt
  - hybridops.fleet.lock
attributes:
  check_mode:
    description: The plan pass alone, for every VM; predicts what a real run does.
    support: full
  diff_mode:
    description: Structured before and after of each VM, keyed by VM name (C(URI/NAME) when two hypervisors hold the same name).
    support: full
options:
  vms:
    description:
      - The VMs. Each is a dict with the options of M(hybridops.fleet.libvirt_vm) (the suboptions below), with
        that module's defaults, plus C(uri) for a VM on another hypervisor.
      - A VM may be listed once per hypervisor.
      - C(cloud_init.user_data) and C(xml) are no_log, as in M(hybridops.fleet.libvirt_vm).
    type: list
    elements: dict
    required: true
    suboptions:
      adopt:
        description: As O(hybridops.fleet.libvirt_vm#module:adopt).
        type: raw
      arch:
        description: As O(hybridops.fleet.libvirt_vm#module:arch).
        type: raw
      autostart:
        description: As O(hybridops.fleet.libvirt_vm#module:autostart).
        type: raw
      cloud_init:
        description: As O(hybridops.fleet.libvirt_vm#module:cloud_init).
        type: dict
        suboptions:
          hostname:
            description: As O(hybridops.fleet.libvirt_vm#module:cloud_init.hostname).
            type: str
          meta_data:
            description: As O(hybridops.fleet.libvirt_vm#module:cloud_init.meta_data).
            type: raw
          network_config:
            description: As O(hybridops.fleet.libvirt_vm#module:cloud_init.network_config).
            type: raw
          pool:
            description: As O(hybridops.fleet.libvirt_vm#module:cloud_init.pool).
            type: str
          ssh_authorized_keys:
            description: As O(hybridops.fleet.libvirt_vm#module:cloud_init.ssh_authorized_keys).
            type: list
            elements: str
          user_data:
            description: As O(hybridops.fleet.libvirt_vm#module:cloud_init.user_data) (no_log).
            type: raw
      cmdline:
        description: As O(hybridops.fleet.libvirt_vm#module:cmdline).
        type: raw
      console:
        description: As O(hybridops.fleet.libvirt_vm#module:console).
        type: raw
      console_log:
        description: As O(hybridops.fleet.libvirt_vm#module:console_log).
        type: raw
      cpu_mode:
        description: As O(hybridops.fleet.libvirt_vm#module:cpu_mode).
        type: raw
      description:
        description: As O(hybridops.fleet.libvirt_vm#module:description).
        type: raw
      disks:
        description: As O(hybridops.fleet.libvirt_vm#module:disks).
        type: raw
      domain_type:
        description: As O(hybridops.fleet.libvirt_vm#module:domain_type).
        type: raw
      firmware:
        description: As O(hybridops.fleet.libvirt_vm#module:firmware).
        type: raw
      force:
        description: As O(hybridops.fleet.libvirt_vm#module:force).
        type: raw
      graphics:
        description: As O(hybridops.fleet.libvirt_vm#module:graphics).
        type: raw
      initrd:
        description: As O(hybridops.fleet.libvirt_vm#module:initrd).
        type: raw
      kernel:
        description: As O(hybridops.fleet.libvirt_vm#module:kernel).
        type: raw
      live:
        description: As O(hybridops.fleet.libvirt_vm#module:live).
        type: raw
      machine:
        description: As O(hybridops.fleet.libvirt_vm#module:machine).
        type: raw
      max_memory:
        description: As O(hybridops.fleet.libvirt_vm#module:max_memory).
        type: raw
      max_vcpus:
        description: As O(hybridops.fleet.libvirt_vm#module:max_vcpus).
        type: raw
      memory:
        description: As O(hybridops.fleet.libvirt_vm#module:memory).
        type: raw
      name:
        description: As O(hybridops.fleet.libvirt_vm#module:name). Unique per hypervisor in the list.
        type: str
        required: true
      networks:
        description: As O(hybridops.fleet.libvirt_vm#module:networks).
        type: raw
      pool:
        description: As O(hybridops.fleet.libvirt_vm#module:pool).
        type: raw
      remove_storage:
        description: As O(hybridops.fleet.libvirt_vm#module:remove_storage).
        type: raw
      restart:
        description: As O(hybridops.fleet.libvirt_vm#module:restart).
        type: raw
      shutdown_timeout:
        description: As O(hybridops.fleet.libvirt_vm#module:shutdown_timeout).
        type: raw
      state:
        description: As O(hybridops.fleet.libvirt_vm#module:state).
        type: raw
      tags:
        description: As O(hybridops.fleet.libvirt_vm#module:tags).
        type: raw
      tb_cache:
        description: As O(hybridops.fleet.libvirt_vm#module:tb_cache).
        type: raw
      uri:
        description: The hypervisor of this VM. Defaults to O(uri).
        type: str
      vcpus:
        description: As O(hybridops.fleet.libvirt_vm#module:vcpus).
        type: raw
      wait:
        description: As O(hybridops.fleet.libvirt_vm#module:wait).
        type: raw
      xml:
        description: As O(hybridops.fleet.libvirt_vm#module:xml) (no_log).
        type: str
  max_workers:
    description: How many VMs are converged at the same time.
    type: int
    default: 4
'''

EXAMPLES = r'''
- name: Three web VMs on overlays of one base image, booted and reachable over SSH, in one task
  hybridops.fleet.libvirt_vms:
    vms: "{{ web_vms | map('ansible.builtin.combine', common) }}"
    max_workers: 3
  vars:
    web_vms: [{name: web1}, {name: web2}, {name: web3}]
    common:
      state: running
      memory: 1GiB
      disks:
        - name: root
          base: debian12.qcow2
          size: 20GiB
      networks:
        - network: default
      wait:
        ssh: true
        timeout: 600
  register: web

- name: Two hypervisors in one task
  hybridops.fleet.libvirt_vms:
    uri: qemu:///system
    vms:
      - name: db1
        state: running
      - name: db1
        uri: qemu+ssh://admin@hv2.example.com/system
        state: running

- name: Stop them all gracefully
  hybridops.fleet.libvirt_vms:
    vms:
      - {name: web1, state: stopped}
      - {name: web2, state: stopped}
      - {name: web3, state: stopped}
'''

RETURN = r'''
changed:
  description: Whether any VM changed (or would change, in check mode).
  returned: always
  type: bool
results:
  description:
    - One entry per item of O(vms), in their order, with what M(hybridops.fleet.libvirt_vm) returns for that VM
      (RV(hybridops.fleet.libvirt_vm#module:changed), RV(hybridops.fleet.libvirt_vm#module:actions),
      RV(hybridops.fleet.libvirt_vm#module:vm), RV(hybridops.fleet.libvirt_vm#module:wait)...) plus C(name) and
      C(uri); a failed VM has C(failed=true) and C(msg).
  returned: always
  type: list
  elements: dict
  sample:
    - name: web1
      uri: qemu:///system
      changed: true
      created: true
      actions: [create volume web1-root.qcow2, define, start]
changed_vms:
  description: Names of the VMs that changed.
  returned: always
  type: list
  elements: str
failed_vms:
  description: Names of the VMs that failed.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    FleetError,
    fail_from_error,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._common.module import FleetModule
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import (
    LOCK_ARGS,
    URI_ARG,
    lock_key,
    run_with_clients,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_list import (
    DEFAULT_WORKERS,
    ITEM_SPEC,
    VmListManager,
    validate_items,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_spec import CLOUD_INIT_SPEC

# types, choices and defaults of an item are checked by validate_items (so a message names vms[NAME]); the
# suboptions exist so that AnsibleModule knows the no_log ones before it logs its invocation
ITEM_OPTIONS = dict((key, dict(type="raw")) for key in ITEM_SPEC)
ITEM_OPTIONS.update(name=dict(type="str", required=True), uri=dict(type="str"), xml=dict(type="str", no_log=True),
                    cloud_init=dict(type="dict", options=CLOUD_INIT_SPEC))

ARGUMENT_SPEC = dict(
    uri=URI_ARG,
    vms=dict(type="list", elements="dict", required=True, options=ITEM_OPTIONS),
    max_workers=dict(type="int", default=DEFAULT_WORKERS),
    **LOCK_ARGS
)


def main():
    module = FleetModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        validators.check_int(module.params["max_workers"], "max_workers", minimum=1)
        # the unset suboptions are None here; the item spec's defaults apply to what is not given
        given = [dict((k, v) for k, v in item.items() if v is not None) for item in module.params["vms"]]
        items, secrets = validate_items(given, module.params["uri"])
    except FleetError as exc:
        fail_from_error(module, exc)
        return
    module.no_log_values.update(secrets)

    def converge(clients):
        manager = VmListManager(clients, check_mode=module.check_mode, diff=module._diff,
                                run_command=module.run_command, max_workers=module.params["max_workers"])
        return manager.run(dict(module.params, vms=items))

    uris = sorted(set(item["uri"] for item in items))
    # a hypervisor that does not answer is named by the first item that asked for it (or by uri)
    sources = {}
    for item, given_item in zip(items, given):
        sources.setdefault(item["uri"], "vms[%s].uri" % item["name"] if given_item.get("uri") else "uri")
    locks = [lock_key(item["uri"], "vm", item["name"]) for item in items]
    run_with_clients(module, converge, uris, option=sources, locks=locks)


if __name__ == "__main__":
    main()
