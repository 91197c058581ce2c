#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_network
short_description: Declarative libvirt networks (NAT, routed, isolated, bridged) with DHCP ranges and static hosts
version_added: 0.1.0
description:
  - Defines, updates, starts, stops and removes a libvirt network. An existing network is updated in place
    (UUID and bridge MAC kept); only the options you give are compared.
  - An update edits the network's existing definition, changing only what the options manage; everything
    else it has - C(<dns>) entries, further IPv4 and IPv6 addresses, routes, port groups, C(<bootp>) - is kept.
  - Static DHCP hosts are changed on the running network without a restart. Other changes to an active network
    are saved and reported in RV(restart_required); the network is restarted only with O(restart=allowed)
    (restarting a network disconnects the running guests attached to it until they are re-attached).
  - A network this collection creates carries an ownership marker in its libvirt metadata (as VMs made by
    M(hybridops.fleet.libvirt_vm) do); updates keep it. A network without it (for example libvirt's V(default))
    is never deleted without O(force).
  - Every option is checked before anything changes.
author:
  - hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.libvirt
attributes:
  check_mode:
    description: Predicts every change.
    support: full
  diff_mode:
    description: Structured spec before and after.
    support: full
options:
  name:
    description: Network name.
    type: str
    required: true
  state:
    description: V(present) or V(absent) (see O(force)).
    type: str
    choices: [present, absent]
    default: present
  force:
    description: With O(state=absent), also delete a network this collection did not create.
    type: bool
    default: false
  active:
    description: Whether the network should be started.
    type: bool
    default: true
  autostart:
    description: Start the network with libvirtd.
    type: bool
  mode:
    description:
      - V(nat) (default on create), V(route), V(isolated) (no forwarding), V(open), or V(bridge) (attach to the existing
        host bridge O(bridge); no address or DHCP).
    type: str
    choices: [nat, route, isolated, bridge, open]
  bridge:
    description:
      - Name of the bridge device libvirt creates (V(virbr10)), or of the existing host bridge with O(mode=bridge).
      - A Linux interface name - 1-15 characters without V(/), V(:) or whitespace.
    type: str
  forward_dev:
    description: Host interface to forward through (nat/route); a Linux interface name like O(bridge).
    type: str
  address:
    description:
      - IPv4 address of the host on the network with prefix, e.g. V(192.168.150.1/24).
      - O(dhcp_ranges) and O(dhcp_hosts) belong to it. A network with several IPv4 addresses has the first one
        managed here; the others are kept.
    type: str
  ipv6_address:
    description:
      - IPv6 address of the host on the network with prefix, e.g. V(fd00:150::1/64) (no DHCPv6 is set up).
      - Not given, an IPv6 address the network already has is kept as it is.
    type: str
  dhcp_ranges:
    description:
      - DHCP ranges. On create, a network with an address and no ranges gets the upper half of its subnet.
        V([]) disables dynamic DHCP.
    type: list
    elements: dict
    suboptions:
      start:
        description: First address.
        type: str
        required: true
      end:
        description: Last address.
        type: str
        required: true
  dhcp_hosts:
    description: Static DHCP leases (compared as a set, by MAC).
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address of the guest.
        type: str
        required: true
      ip:
        description: Address to hand out.
        type: str
        required: true
      name:
        description: Host name.
        type: str
  domain:
    description: DNS domain served by the network's dnsmasq; a DNS name (labels of letters, digits and V(-)).
    type: str
  mtu:
    description: MTU of the bridge, V(68) to V(65535).
    type: int
  restart:
    description: V(allowed) restarts an active network to apply changes that need it.
    type: str
    choices: [never, allowed]
    default: never
seealso:
  - module: hybridops.fleet.libvirt_vm
'''

EXAMPLES = r'''
- name: A NAT network with a static lease
  hybridops.fleet.libvirt_network:
    name: fleet
    bridge: virbr10
    address: 192.168.150.1/24
    dhcp_ranges:
      - start: 192.168.150.100
        end: 192.168.150.200
    dhcp_hosts:
      - mac: "52:54:00:00:00:01"
        ip: 192.168.150.10
        name: db1
    autostart: true

- name: An isolated network for a test
  hybridops.fleet.libvirt_network:
    name: backend
    mode: isolated
    address: 10.10.0.1/24

- name: Remove it
  hybridops.fleet.libvirt_network:
    name: backend
    state: absent
'''

RETURN = r'''
changed:
  description: Whether anything changed.
  returned: always
  type: bool
changes:
  description: Fields that differed (or V(created)).
  returned: when O(state=present)
  type: list
  elements: str
restart_required:
  description: Whether saved changes wait for a restart of the active network.
  returned: when O(state=present)
  type: bool
restart_required_for:
  description: The fields that wait for a restart.
  returned: when the network existed
  type: list
  elements: str
actions:
  description: What was done.
  returned: always
  type: list
  elements: str
network:
  description: The network's spec and state after the run; C(managed) says whether it carries the collection's ownership marker.
  returned: always
  type: dict
  sample:
    name: fleet
    mode: nat
    bridge: virbr10
    address: 192.168.150.1/24
    ipv6_address: fd00:150::1/64
    dhcp_ranges: [{start: 192.168.150.100, end: 192.168.150.200}]
    dhcp_hosts: []
    active: true
    autostart: true
    managed: true
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.network import LibvirtNetworkManager
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import URI_ARG, run_with_client

RANGE_SPEC = dict(start=dict(type="str", required=True), end=dict(type="str", required=True))
HOST_SPEC = dict(mac=dict(type="str", required=True), ip=dict(type="str", required=True), name=dict(type="str"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=URI_ARG,
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            active=dict(type="bool", default=True),
            autostart=dict(type="bool"),
            mode=dict(type="str", choices=["nat", "route", "isolated", "bridge", "open"]),
            bridge=dict(type="str"),
            forward_dev=dict(type="str"),
            address=dict(type="str"),
            ipv6_address=dict(type="str"),
            dhcp_ranges=dict(type="list", elements="dict", options=RANGE_SPEC),
            dhcp_hosts=dict(type="list", elements="dict", options=HOST_SPEC),
            domain=dict(type="str"),
            mtu=dict(type="int"),
            restart=dict(type="str", choices=["never", "allowed"], default="never"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_with_client(module, manager_func(module, LibvirtNetworkManager))


if __name__ == "__main__":
    main()
