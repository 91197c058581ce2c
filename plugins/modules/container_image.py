#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_image
short_description: Ensure a Docker image from a registry, an archive or a build context
version_added: 0.1.0
description:
  - Ensures an image is on the engine, idempotently by image ID.
  - V(load) imports an archive made by C(docker save) that is on the host the module runs on (copy it from
    the controller with M(ansible.builtin.copy) first). This is the air-gapped path. The archive's image IDs
    are read from its manifest, so an image that is already there is not loaded again and check mode is
    exact.
  - V(build) builds from a context directory on that host. The image is labelled with a hash of the context,
    Dockerfile and build args; an unchanged context is not rebuilt and check mode is exact.
  - V(pull) pulls from a registry, with credentials hidden from logs.
  - Extra O(tags) can be added; O(state=absent) removes the image.
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
attributes:
  check_mode:
    support: full
    description: Loads and builds are predicted from the archive manifest and the context hash; nothing is changed.
  diff_mode:
    support: full
    description: Image ID and tags before and after.
options:
  name:
    description: Image reference C(repository[:tag]) (tag defaults to C(latest)).
    type: str
    required: true
  state:
    description: V(present) ensures the image, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  source:
    description:
      - Where the image comes from when it is missing (or changed). Without a source, a missing image fails the
        task.
    type: str
    choices: [pull, load, build]
  load_path:
    description: Archive made by C(docker save) (tar, tar.gz, tar.xz or tar.bz2) on the host the module runs on.
    type: path
  load_id:
    description:
      - The ID (V(sha256) and 64 hex digits) of the image the archive at O(load_path) holds for O(name), as the
        P(hybridops.fleet.docker_archive_image_id#filter) filter reads it from a copy of the archive on the controller.
      - Used only in check mode when O(load_path) is not on the host yet (a task before this one, such as a copy,
        would put it there); the prediction is then exact. Without it such a check-mode run predicts a load and
        warns. Whenever the archive is on the host, its own manifest decides.
    type: str
  build:
    description: Build parameters for O(source=build).
    type: dict
    suboptions:
      path:
        description: Context directory on the host the module runs on.
        type: path
        required: true
      dockerfile:
        description: Dockerfile relative to O(build.path).
        type: str
        default: Dockerfile
      args:
        description:
          - Build arguments.
          - They often carry tokens, so they are no_log (hidden from output and logs). Each value is masked
            wherever it appears in the task result, so a short value such as V(3) also masks that text in
            image tags and messages.
        type: dict
      labels:
        description: Labels added to the image.
        type: dict
      target:
        description: Build stage to stop at.
        type: str
      nocache:
        description: Do not use the build cache.
        type: bool
        default: false
      pull:
        description: Pull newer base images (needs a registry).
        type: bool
        default: false
  tags:
    description: More references (C(repository[:tag])) to point at the image.
    type: list
    elements: str
    default: []
  force:
    description:
      - With O(state=present), pull, load or build even when the image is already up to date.
      - With O(state=absent), remove the image even when containers use it.
    type: bool
    default: false
  registry:
    description: Registry address for the credentials (defaults to the one in O(name)).
    type: str
  registry_username:
    description: Registry user for O(source=pull).
    type: str
  registry_password:
    description: Registry password or token for O(source=pull).
    type: str
'''

EXAMPLES = r'''
- name: Copy an image archive from the controller and load it (air-gapped)
  ansible.builtin.copy:
    src: images/web-2.tar
    dest: /var/tmp/web-2.tar
    mode: "0600"

- name: Load it
  hybridops.fleet.container_image:
    name: hybridops/web:2
    source: load
    load_path: /var/tmp/web-2.tar

- name: Build from a context directory on the VM
  hybridops.fleet.container_image:
    name: hybridops/api:3
    source: build
    build:
      path: /opt/src/api
      args:
        VERSION: "3"
    tags: [hybridops/api:latest]

- name: Pull with credentials (hidden from logs)
  hybridops.fleet.container_image:
    name: registry.example.com/team/app:1.4
    source: pull
    registry_username: deploy
    registry_password: "{{ vault_registry_token }}"

- name: Remove
  hybridops.fleet.container_image:
    name: hybridops/web:1
    state: absent
'''

RETURN = r'''
image:
  description: The image after the run (id, tags, digests, created, size, labels, architecture, os); null when absent.
  returned: success
  type: dict
actions:
  description: Steps taken (or, in check mode, that would be), e.g. V([load, tag repo:latest]).
  returned: always
  type: list
  elements: str
build_log:
  description: Tail of the build output, when a build ran.
  returned: when a build ran
  type: str
'''

from ansible_collections.hybridops.fleet.plugins.module_utils._common.module import FleetModule
from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.client import DOCKER_COMMON_ARGS
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.image import ImageManager
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import run_with_client


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        source=dict(type="str", choices=["pull", "load", "build"]),
        load_path=dict(type="path"),
        load_id=dict(type="str"),
        build=dict(type="dict", options=dict(
            path=dict(type="path", required=True),
            dockerfile=dict(type="str", default="Dockerfile"),
            args=dict(type="dict", no_log=True),
            labels=dict(type="dict"),
            target=dict(type="str"),
            nocache=dict(type="bool", default=False),
            pull=dict(type="bool", default=False),
        )),
        tags=dict(type="list", elements="str", default=[]),
        force=dict(type="bool", default=False),
        registry=dict(type="str"),
        registry_username=dict(type="str"),
        registry_password=dict(type="str", no_log=True),
    )
    argument_spec.update(DOCKER_COMMON_ARGS)
    module = FleetModule(argument_spec=argument_spec, supports_check_mode=True,
                         required_if=[("source", "load", ["load_path"]), ("source", "build", ["build"])],
                         required_together=[("registry_username", "registry_password")])
    run_with_client(module, manager_func(module, ImageManager))


if __name__ == "__main__":
    main()
