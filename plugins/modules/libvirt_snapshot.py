#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_snapshot
short_description: Create, list, revert and delete snapshots of a libvirt VM
version_added: 0.1.0
description:
  - Internal qcow2 snapshots. For a running VM the snapshot includes its memory and reverting brings the VM back
    running at that moment; for a stopped VM it covers the disks.
  - Every writable qcow2 disk is included, which covers overlays made by M(hybridops.fleet.libvirt_vm) (the snapshot
    lives inside the overlay; the shared base volume is never written). Read-only disks, raw disks and cdroms
    (for example the cloud-init seed) are left out.
  - Not supported by libvirt for internal snapshots - VMs with UEFI pflash varstores, raw writable disks.
  - Used by migration playbooks to take a safety point before risky changes.
author:
  - hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.libvirt
attributes:
  check_mode:
    description: Predicts what would be created, reverted or deleted.
    support: full
  diff_mode:
    description: Not supported; RV(snapshots) lists the snapshots.
    support: none
options:
  vm:
    description: Name of the VM.
    type: str
    required: true
  name:
    description:
      - Snapshot name. Without it the module only lists the snapshots (RV(snapshots)).
      - A new snapshot's name is at most 247 bytes (libvirt writes its metadata through a file named
        C(NAME.xml.new), and fails on longer names only after qemu has taken the snapshot), without V(/) or
        control characters, not starting with V(-) or V(.); it is checked before anything is created.
    type: str
  state:
    description:
      - V(present) creates the snapshot if it does not exist, V(absent) deletes it.
      - V(reverted) reverts the VM to the snapshot; every run with V(reverted) reverts again (it always reports a change).
    type: str
    choices: [present, absent, reverted]
    default: present
  description:
    description: Description stored with a new snapshot.
    type: str
  force:
    description: Passed to libvirt's revert as C(VIR_DOMAIN_SNAPSHOT_REVERT_FORCE) (needed for some risky reverts).
    type: bool
    default: false
seealso:
  - module: hybridops.fleet.libvirt_vm
'''

EXAMPLES = r'''
- name: Safety point before a migration
  hybridops.fleet.libvirt_snapshot:
    vm: web1
    name: before-migration
    description: taken by migrate.yml

- name: Roll back
  hybridops.fleet.libvirt_snapshot:
    vm: web1
    name: before-migration
    state: reverted

- name: List snapshots
  hybridops.fleet.libvirt_snapshot:
    vm: web1
  register: snaps

- name: Drop it
  hybridops.fleet.libvirt_snapshot:
    vm: web1
    name: before-migration
    state: absent
'''

RETURN = r'''
changed:
  description: Whether a snapshot was created, deleted or reverted to.
  returned: always
  type: bool
actions:
  description: V(create), V(delete) or V(revert).
  returned: always
  type: list
  elements: str
snapshot:
  description: The named snapshot after the run.
  returned: when it exists
  type: dict
  contains:
    name:
      description: Snapshot name.
      type: str
    description:
      description: Description.
      type: str
    state:
      description: Domain state captured (V(running), V(shutoff)).
      type: str
    created:
      description: Creation time (seconds since the epoch).
      type: int
    parent:
      description: Parent snapshot.
      type: str
    current:
      description: Whether it is the current snapshot.
      type: bool
snapshots:
  description: All snapshots of the VM, oldest first, with the same keys as RV(snapshot).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import URI_ARG, run_with_client
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.snapshot import SnapshotManager


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=URI_ARG,
            vm=dict(type="str", required=True),
            name=dict(type="str"),
            state=dict(type="str", choices=["present", "absent", "reverted"], default="present"),
            description=dict(type="str"),
            force=dict(type="bool", default=False),
        ),
        required_if=[("state", "absent", ["name"]), ("state", "reverted", ["name"])],
        supports_check_mode=True,
    )
    run_with_client(module, manager_func(module, SnapshotManager))


if __name__ == "__main__":
    main()
