#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_network
short_description: Ensure a Docker network exists or is absent
version_added: 0.1.0
description:
  - Creates or removes a network on the engine. Containers attach with the C(networks) option of
    M(hybridops.fleet.container) and M(hybridops.fleet.container_stack) (the stack can also declare its own
    networks).
  - The engine cannot change a network's driver, internal flag or subnet in place; such a difference fails
    naming the option, unless O(force=true) recreates the network. Its containers are disconnected and, once
    the new network exists, reconnected with their aliases and fixed addresses. If the engine refuses the new
    network, the old one is created again with its settings, its containers go back to it, and the task fails
    saying so. Labels and options are set at creation.
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
  - hybridops.fleet.lock
attributes:
  check_mode:
    support: full
    description: Reports whether the network would be created, recreated or removed.
  diff_mode:
    support: full
    description: Network settings before and after.
options:
  name:
    description:
      - Network name; Docker's rule applies (letters, digits, V(_), V(.), V(-), starting with a letter or digit).
      - With O(state=absent) any name is accepted, so an object named otherwise elsewhere can be removed.
    type: str
    required: true
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  driver:
    description: Network driver.
    type: str
    default: bridge
  internal:
    description: No external connectivity.
    type: bool
    default: false
  subnet:
    description: IPv4 subnet in CIDR form without host bits, e.g. V(172.30.0.0/24) (needed for fixed container addresses).
    type: str
  gateway:
    description: Gateway address inside O(subnet) (checked before anything changes).
    type: str
  labels:
    description: Labels (set at creation).
    type: dict
  options:
    description: Driver options (set at creation).
    type: dict
  force:
    description:
      - Recreate the network when driver, internal flag or subnet differ (its containers are reconnected),
        and remove a network that still has containers (they are disconnected).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: A network with a fixed subnet
  hybridops.fleet.container_network:
    name: appnet
    subnet: 172.30.0.0/24
    gateway: 172.30.0.1

- name: A container with a fixed address on it
  hybridops.fleet.container:
    name: api
    image: hybridops/api:3
    networks:
      - name: appnet
        ipv4_address: 172.30.0.10
        aliases: [api]
'''

RETURN = r'''
network:
  description: The network after the run (name, driver, internal, subnet, gateway, labels, options); null when absent.
  returned: success
  type: dict
actions:
  description: Steps taken (or that would be), one of V(create), V(recreate), V(remove), or none.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import EngineNetworkManager
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import LOCK_ARGS, lock_key, run_with_client


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        driver=dict(type="str", default="bridge"),
        internal=dict(type="bool", default=False),
        subnet=dict(type="str"),
        gateway=dict(type="str"),
        labels=dict(type="dict"),
        options=dict(type="dict"),
        force=dict(type="bool", default=False),
    )
    argument_spec.update(DOCKER_COMMON_ARGS)
    argument_spec.update(LOCK_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_by={"gateway": "subnet"})
    run_with_client(module, manager_func(module, EngineNetworkManager),
                    locks=[lock_key(module.params, "network", module.params["name"])])


if __name__ == "__main__":
    main()
