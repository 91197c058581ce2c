#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: container_volume
short_description: Ensure a Docker volume exists or is absent
version_added: 0.1.0
description:
  - Creates or removes a named volume. Containers mount it with the C(mounts) or C(volumes) options of
    M(hybridops.fleet.container) (the stack can also declare its own volumes). Its data survives container
    recreation.
  - A different driver or driver options fail naming the option, unless O(force=true) removes and recreates
    the volume (its data is lost). A volume in use by a container is never removed.
  - Ownership is recorded in the label C(hybridops.fleet.managed) the module puts on the volumes it creates
    (volumes a M(hybridops.fleet.container_stack) declares carry C(hybridops.fleet.stack)). A volume without
    either was not created by this collection and is removed or recreated only with O(force=true).
author: hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.docker
attributes:
  check_mode:
    support: full
    description: Reports whether the volume would be created, recreated or removed.
  diff_mode:
    support: full
    description: Volume settings before and after.
options:
  name:
    description:
      - Volume name; Docker's rule applies (2 or more letters, digits, V(_), V(.), V(-), starting with a letter
        or digit).
      - With O(state=absent) any name is accepted, so an object named otherwise elsewhere can be removed.
    type: str
    required: true
  state:
    description: V(present) or V(absent) (removing deletes the data).
    type: str
    choices: [present, absent]
    default: present
  driver:
    description: Volume driver.
    type: str
    default: local
  driver_opts:
    description:
      - Driver options (for the local driver e.g. C(type), C(device), C(o)).
      - They are not no_log (they are returned and compared) and the engine shows them to anyone who can
        inspect the volume, so keep passwords out of them; for CIFS give C(o=credentials=/path/to/file).
    type: dict
  labels:
    description:
      - Labels (set at creation). The module adds C(hybridops.fleet.managed=true), its ownership marker.
    type: dict
  force:
    description:
      - Recreate the volume (losing its data) when driver or driver options differ.
      - Remove (O(state=absent)) or recreate a volume that this collection did not create (no ownership label).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Data volume for a database
  hybridops.fleet.container_volume:
    name: dbdata
    labels:
      backup: nightly
'''

RETURN = r'''
volume:
  description: The volume after the run (name, driver, driver_opts, labels); null when absent.
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
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.resources import EngineVolumeManager
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.runner import run_with_client


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        driver=dict(type="str", default="local"),
        driver_opts=dict(type="dict"),
        labels=dict(type="dict"),
        force=dict(type="bool", default=False),
    )
    argument_spec.update(DOCKER_COMMON_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_with_client(module, manager_func(module, EngineVolumeManager))


if __name__ == "__main__":
    main()
