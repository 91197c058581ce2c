#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_volume
short_description: Storage volumes - import base images (streamed, checksum-verified), create, grow, delete
version_added: 0.1.0
description:
  - Imports an image file into a storage pool by streaming it through the libvirt API (never read whole into memory),
    so it works for remote hypervisors (C(qemu+ssh://)) too. Idempotent by checksum - an existing volume with the
    same content is left alone.
  - Creates empty volumes and qcow2 overlays on a backing volume, grows volumes, and deletes them.
  - Shrinking is refused, and an existing volume with different content is only replaced with O(force=true).
author:
  - hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.libvirt
attributes:
  check_mode:
    description: Predicts the upload, creation, growth or deletion.
    support: full
  diff_mode:
    description: Capacity, format, checksum and backing before and after.
    support: full
options:
  name:
    description:
      - Volume name in the pool (a file name in directory pools) - at most 255 bytes, without V(/) or control
        characters (newlines, tabs), not starting with V(-) or V(.).
    type: str
    required: true
  pool:
    description: Storage pool (must exist and be active).
    type: str
    default: default
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - Image file on the host that runs the module (the controller) to upload. For a file that is already on the
        hypervisor use O(clone_from) (or run the task on the hypervisor with a local URI).
      - The file's format is detected by libvirt after the upload (qcow2 images stay qcow2).
    type: path
  clone_from:
    description:
      - Copy an existing volume on the hypervisor (name in O(pool), C(POOL/NAME), or the path of a volume in any pool),
        server-side - nothing crosses the network. This is how to import a file that is already on a remote hypervisor -
        put it in (or define a C(dir) pool on) its directory and refresh the pool.
      - O(checksum) verifies the source volume before copying. libvirt copies with C(qemu-img convert), so the copy
        holds the same data in different bytes; an existing copy is therefore left alone, and replaced only with O(force=true).
    type: str
  checksum:
    description:
      - Expected checksum of O(src) or O(clone_from) as C(ALGORITHM:HEX) (sha256, sha512, sha1, md5) or a bare sha256 hex digest.
        The source is verified before anything is written. The volume's content is compared with the same algorithm.
    type: str
  force:
    description: Replace the content of an existing volume whose checksum differs from O(src), or re-copy O(clone_from).
    type: bool
    default: false
  size:
    description:
      - Capacity (V(20GiB), or an integer in GiB). Creates an empty volume of this size when it does not exist,
        or sets the overlay size with O(backing); grows an existing volume.
    type: raw
  format:
    description: Format of a new empty volume (default V(qcow2)).
    type: str
    choices: [qcow2, raw]
  backing:
    description: Create a qcow2 overlay on this volume (name in O(backing_pool), C(POOL/NAME) or a volume path).
    type: str
  backing_pool:
    description: Pool of O(backing). Defaults to O(pool).
    type: str
seealso:
  - module: hybridops.fleet.libvirt_vm
'''

EXAMPLES = r'''
- name: Import the Debian base image, verified
  hybridops.fleet.libvirt_volume:
    name: debian12.qcow2
    pool: default
    src: /var/cache/images/debian12.qcow2
    checksum: "sha256:{{ lookup('ansible.builtin.file', '/var/cache/images/debian12.qcow2.sha256') }}"

- name: Copy an image that is already on the hypervisor (server-side)
  hybridops.fleet.libvirt_volume:
    name: debian12-copy.qcow2
    clone_from: debian12.qcow2

- name: An overlay for a VM
  hybridops.fleet.libvirt_volume:
    name: web1-root.qcow2
    backing: debian12.qcow2
    size: 20GiB

- name: An empty data disk, grown later by raising size
  hybridops.fleet.libvirt_volume:
    name: web1-data.qcow2
    size: 10GiB

- name: Remove it
  hybridops.fleet.libvirt_volume:
    name: web1-data.qcow2
    state: absent
'''

RETURN = r'''
changed:
  description: Whether the volume was (or would be) changed.
  returned: always
  type: bool
actions:
  description: What was done (V(upload), V(replace), V(clone), V(replace clone), V(create), V(create overlay), V(grow), V(delete)).
  returned: always
  type: list
  elements: str
volume:
  description: Facts of the volume after the run.
  returned: always
  type: dict
  contains:
    name:
      description: Volume name.
      type: str
    pool:
      description: Pool name.
      type: str
    path:
      description: Path on the hypervisor.
      type: str
    capacity:
      description: Virtual size in bytes.
      type: int
    allocation:
      description: Bytes allocated on disk.
      type: int
    format:
      description: Format (qcow2, raw...).
      type: str
    backing_path:
      description: Backing file of an overlay.
      type: str
    checksum:
      description: C(ALGORITHM:HEX) of the content, when O(src) was given.
      type: str
  sample:
    name: debian12.qcow2
    pool: default
    path: /var/lib/libvirt/images/debian12.qcow2
    capacity: 4294967296
    format: qcow2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import URI_ARG, run_with_client
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.volume import LibvirtVolumeManager


def main():
    module = AnsibleModule(
        argument_spec=dict(
            uri=URI_ARG,
            name=dict(type="str", required=True),
            pool=dict(type="str", default="default"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            src=dict(type="path"),
            clone_from=dict(type="str"),
            checksum=dict(type="str"),
            force=dict(type="bool", default=False),
            size=dict(type="raw"),
            format=dict(type="str", choices=["qcow2", "raw"]),
            backing=dict(type="str"),
            backing_pool=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    run_with_client(module, manager_func(module, LibvirtVolumeManager))


if __name__ == "__main__":
    main()
