#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_vm_info
short_description: List libvirt VMs with their facts, filtered by name, state and tag
version_added: 0.1.0
description:
  - Returns the same facts as M(hybridops.fleet.libvirt_vm) (state, UUID, memory, vCPUs, disks, interfaces with MACs and IPs,
    tags, ownership) for every VM on one or more hypervisors that matches the filters.
  - Never changes anything.
author:
  - hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.libvirt
attributes:
  check_mode:
    description: The module only reads.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
options:
  uris:
    description: Several libvirt URIs to query; overrides O(uri). Each VM in the result carries its C(uri).
    type: list
    elements: str
  strict:
    description:
      - With several O(uris), what a hypervisor that does not answer does. V(false) leaves it out with a warning
        naming its URI (its VMs and its entry in RV(hosts) are missing; RV(unreachable_hypervisors) says why) and lists the
        others; V(true) fails, naming it.
      - The module fails when no hypervisor answers (with one URI, when that one does not), whatever this says.
      - A URI that no libvirt driver takes (C(banana), C(nope:///system)) is bad input, not a hypervisor that does
        not answer; the module fails naming it (C(uris[N])), whatever this says.
    type: bool
    default: false
    version_added: 0.3.0
  name:
    description: Names or shell-style patterns (V(web*)); a VM matches if it matches any of them.
    type: list
    elements: str
  state:
    description: Only VMs in one of these states.
    type: list
    elements: str
    choices: [running, paused, stopped, shutdown, crashed, pmsuspended]
  tags:
    description: Only VMs carrying all of these tags.
    type: list
    elements: str
  managed:
    description: Only VMs owned by this collection (V(true), created or adopted) or only the others (V(false)).
    type: bool
  ips:
    description: Look up IP addresses of running VMs.
    type: bool
    default: true
  ip_sources:
    description: Where to look for addresses, in order.
    type: list
    elements: str
    choices: [lease, agent, arp]
    default: [lease, arp]
seealso:
  - module: hybridops.fleet.libvirt_vm
'''

EXAMPLES = r'''
- name: All running web VMs on two hypervisors
  hybridops.fleet.libvirt_vm_info:
    uris:
      - qemu+ssh://root@hv1/system
      - qemu+ssh://root@hv2/system
    state: [running]
    tags: [web]
  register: web

- name: Addresses of the lab VMs
  ansible.builtin.debug:
    msg: "{{ web.vms | map(attribute='ip') | list }}"

- name: One VM by name, with addresses from the guest agent
  hybridops.fleet.libvirt_vm_info:
    name: [db1]
    ip_sources: [agent, lease]
'''

RETURN = r'''
vms:
  description: Matching VMs sorted by name, each with the facts M(hybridops.fleet.libvirt_vm) returns in RV(hybridops.fleet.libvirt_vm#module:vm).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
    uri:
      description: The URI the VM was found on.
      type: str
    uuid:
      description: Domain UUID.
      type: str
    state:
      description: Power state.
      type: str
    memory:
      description: Memory in MiB.
      type: int
    vcpus:
      description: Active vCPUs.
      type: int
    tags:
      description: Tags.
      type: list
      elements: str
    managed:
      description:
        - Whether this collection owns the VM (created it, or adopted it with
          O(hybridops.fleet.libvirt_vm#module:adopt=true)).
      type: bool
    adopted:
      description: Whether the VM was defined elsewhere and adopted.
      type: bool
    title:
      description: The libvirt C(<title>), or null.
      type: str
    metadata:
      description:
        - The elements other tools keep in the domain's C(<metadata>), by namespace URI, then element local name, as
          plain data (attributes as C(@name), repeated elements as lists, text beside children as C(#text)).
      type: dict
    disks:
      description: Disks.
      type: list
      elements: dict
    interfaces:
      description: Interfaces with mac and ips.
      type: list
      elements: dict
    ip:
      description: First IPv4 address, or null.
      type: str
  sample:
    - name: web1
      uri: qemu:///system
      state: running
      memory: 1024
      vcpus: 2
      tags: [web]
      ip: 192.168.122.10
unreachable_hypervisors:
  description: The hypervisors left out because they did not answer (O(strict=false)), in the order given.
  returned: always
  type: list
  elements: dict
  version_added: 0.3.0
  contains:
    uri:
      description: The libvirt URI.
      type: str
    option:
      description: The option that gave it (C(uris[2])).
      type: str
    error:
      description: Why it was left out.
      type: str
  sample:
    - uri: qemu+ssh://root@hv3.example.com/system
      option: uris[2]
      error: "cannot connect to libvirt at qemu+ssh://root@hv3.example.com/system: ... No route to host"
hosts:
  description: The hypervisors queried that answered, one per URI in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    uri:
      description: The libvirt URI.
      type: str
    hostname:
      description: The hypervisor's host name.
      type: str
    cpus:
      description: Logical CPUs of the hypervisor.
      type: int
    memory_mib:
      description: Memory of the hypervisor in MiB.
      type: int
    cpu_model:
      description: CPU model (architecture) as libvirt reports it.
      type: str
    libvirt_version:
      description: Version of the libvirt library, e.g. V(9.0.0).
      type: str
  sample:
    - uri: qemu:///system
      hostname: hv1
      cpus: 16
      memory_mib: 64240
      cpu_model: x86_64
      libvirt_version: 9.0.0
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
    fail_from_error,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient, names_no_driver
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import (
    URI_ARG,
    open_client,
    run_with_clients,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import (
    check_vm_filters,
    hypervisor_facts,
    list_vms,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=URI_ARG,
            uris=dict(type="list", elements="str"),
            strict=dict(type="bool", default=False),
            name=dict(type="list", elements="str"),
            state=dict(type="list", elements="str", choices=["running", "paused", "stopped", "shutdown", "crashed", "pmsuspended"]),
            tags=dict(type="list", elements="str"),
            managed=dict(type="bool"),
            ips=dict(type="bool", default=True),
            ip_sources=dict(type="list", elements="str", choices=["lease", "agent", "arp"], default=["lease", "arp"]),
        ),
        supports_check_mode=True,
    )
    uris = module.params["uris"] or [module.params["uri"]]

    def option_of(index: int) -> str:
        return "uris[%d]" % index if module.params["uris"] else "uri"

    try:
        check_vm_filters(module.params)
        for index, uri in enumerate(uris):
            validators.check_libvirt_uri(uri, option_of(index))
    except FleetError as exc:
        fail_from_error(module, exc)

    def collect(_clients):
        vms, hosts, unreachable = [], [], []
        for index, uri in enumerate(uris):
            option = option_of(index)
            if module.params["strict"] or len(uris) == 1:
                with open_client(uri, option) as client:  # fails naming the option
                    vms.extend(list_vms(client, module.params))
                    hosts.append(hypervisor_facts(client.uri, *client.node()))
                continue
            try:
                with LibvirtClient(uri).open() as client:
                    listed = list_vms(client, module.params)
                    host = hypervisor_facts(client.uri, *client.node())
            except BackendError as exc:
                if names_no_driver(exc):  # a wrong URI is bad input, not a hypervisor that is down
                    raise ValidationError(option, exc.msg, accepted=validators.LIBVIRT_URI_ACCEPTED)
                # one policy with the inventory: a hypervisor that does not answer is left out with a warning
                # (nothing of a half-read listing)
                unreachable.append({"uri": uri, "option": option, "error": exc.msg})
                module.warn("%s: hypervisor %s is left out, it did not answer (strict: true fails instead): %s"
                            % (option, uri, exc.msg))
                continue
            vms.extend(listed)
            hosts.append(host)
        if not hosts:
            raise BackendError("no hypervisor answered: %s" % "; ".join(
                "%s: %s" % (u["option"], u["error"]) for u in unreachable))
        return {"changed": False, "vms": vms, "hosts": hosts, "unreachable_hypervisors": unreachable}

    run_with_clients(module, collect, [], mutates=False)


if __name__ == "__main__":
    main()
