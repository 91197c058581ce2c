# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Use C(group/hybridops.fleet.libvirt) in C(module_defaults) to set the libvirt connection (O(uri)) once for every
      task of the group.
    support: full
    membership:
      - hybridops.fleet.libvirt
options:
  uri:
    description:
      - libvirt connection URI, for example V(qemu:///system), V(qemu+ssh://user@host/system) or V(test:///default).
      - The module runs where the task runs (usually the controller) and connects to the hypervisor through this URI.
    type: str
    default: qemu:///system
requirements:
  - libvirt-python (the C(libvirt) Python binding) on the host that runs the module
'''
