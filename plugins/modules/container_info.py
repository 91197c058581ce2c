#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_info
short_description: Containers, images, networks and volumes of a Docker engine, with health and usage
version_added: 0.1.0
description:
  - Reads facts from one engine without changing anything.
  - Containers come from one listing (name, image, state, health, ports, networks with IPs, mounts, labels,
    stack); O(details) adds limits and restart data from inspect, O(stats) adds CPU, memory, PIDs and network
    usage (one sample per running container, read in parallel).
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  gather:
    description: What to read.
    type: list
    elements: str
    choices: [containers, images, networks, volumes]
    default: [containers]
  name:
    description: Only containers with these exact names.
    type: list
    elements: str
  label:
    description: Only containers with these labels (C(key) or C(key=value)).
    type: list
    elements: str
  stack:
    description: Only members of this M(hybridops.fleet.container_stack) stack.
    type: str
  all:
    description: Include stopped containers.
    type: bool
    default: true
  details:
    description: Add C(limits) (memory, CPUs, PIDs, restart policy and count, start time, exit code) from inspect.
    type: bool
    default: false
  stats:
    description: Add C(usage) (CPU percent, memory, PIDs, network bytes) of running containers.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Members of a stack with their health
  hybridops.fleet.container_info:
    stack: shop
  register: shop

- name: Fail when a member is not healthy
  ansible.builtin.assert:
    that: shop.containers | rejectattr('health', 'in', ['healthy', none]) | list | length == 0

- name: Everything, with resource usage
  hybridops.fleet.container_info:
    gather: [containers, images, networks, volumes]
    details: true
    stats: true
'''

RETURN = r'''
engine:
  description: Engine address, version, API version, OS and architecture.
  returned: always
  type: dict
containers:
  description:
    - One dict per container, sorted by name, with C(name), C(id), C(image), C(image_id), C(state),
      C(status), C(running), C(health) (healthy, unhealthy, starting, or null without healthcheck),
      C(labels), C(stack), C(ports), C(networks) (name -> ip, mac), C(mounts), C(created); C(limits) with
      O(details); C(usage) with O(stats).
  returned: when containers are gathered
  type: list
  elements: dict
images:
  description: One dict per image (id, tags, size, created, labels).
  returned: when images are gathered
  type: list
  elements: dict
networks:
  description: One dict per network (name, id, driver, internal, labels, subnets).
  returned: when networks are gathered
  type: list
  elements: dict
volumes:
  description: One dict per volume (name, driver, mountpoint, labels).
  returned: when volumes are gathered
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.info import InfoCollector
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import run_with_client


def main():
    argument_spec = dict(
        gather=dict(type="list", elements="str", choices=["containers", "images", "networks", "volumes"],
                    default=["containers"]),
        name=dict(type="list", elements="str"),
        label=dict(type="list", elements="str"),
        stack=dict(type="str"),
        all=dict(type="bool", default=True),
        details=dict(type="bool", default=False),
        stats=dict(type="bool", default=False),
    )
    argument_spec.update(DOCKER_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_with_client(module, lambda client: dict(InfoCollector(client).collect(module.params), changed=False),
                    mutates=False)


if __name__ == "__main__":
    main()
