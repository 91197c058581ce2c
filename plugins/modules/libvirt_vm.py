#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_vm
short_description: Declarative libvirt virtual machines with in-place updates
version_added: 0.1.0
description:
  - Creates, updates, starts, stops, pauses and deletes one libvirt domain from structured options.
  - An existing VM is updated in place; its UUID and MAC addresses are kept. Memory, vCPUs, disks and
    network interfaces are changed on the running VM when libvirt allows it (O(live=true)); what only
    takes effect after a restart is listed in RV(restart_required_for), and the VM is restarted only with O(restart=allowed).
  - Only the options you give are managed; fields you do not mention are left as they are.
  - A VM this collection did not create (no ownership metadata, for example one made by virt-install, virt-manager,
    terraform or C(virsh define)) is only read; a task that would change it fails naming what would change, until
    O(adopt=true) takes it over.
  - Disks can be qcow2 overlays on a base volume, new empty volumes, existing volumes or existing files.
    A cloud-init NoCloud seed ISO is built on the controller and uploaded when O(cloud_init) is given.
  - Ownership is recorded in the domain's C(<metadata>) (namespace C(https://hybridops.dev/fleet/1));
    O(state=absent) refuses to delete a VM without it unless O(force=true).
  - Every option is validated (including pools, base volumes and networks) before anything is changed;
    if a create fails halfway, the volumes it made are removed again.
author:
  - hybridops.fleet developers (@hybridops)
extends_documentation_fragment:
  - hybridops.fleet.libvirt
  - hybridops.fleet.lock
attributes:
  check_mode:
    description: Predicts exactly what would change, including volumes to create and restarts.
    support: full
  diff_mode:
    description: Shows the structured spec (not raw XML) before and after.
    support: full
options:
  name:
    description: Name of the domain.
    type: str
    required: true
  state:
    description:
      - V(present) defines or updates the VM and leaves its power state alone (a new VM stays off).
      - V(running), V(stopped) and V(paused) also converge the power state. V(stopped) shuts down gracefully
        and powers off after O(shutdown_timeout).
      - V(absent) removes the VM (see O(force) and O(remove_storage)); it is not an error if it does not exist.
    type: str
    choices: [present, running, stopped, paused, absent]
    default: present
  domain_type:
    description: libvirt domain type. Use V(qemu) (TCG) where KVM is not available. Default on create V(qemu).
    type: str
    choices: [qemu, kvm]
  memory:
    description:
      - Memory, as a size (V(512MiB), V(2GiB)) or an integer in MiB. Default on create 512 MiB.
      - From 16 MiB to 64 TiB (the same bounds apply to O(max_memory)).
    type: raw
  max_memory:
    description: Maximum memory (the balloon ceiling). Defaults to O(memory) on create; raising O(memory) above it raises it too.
    type: raw
  vcpus:
    description: Number of active vCPUs. Default on create 1.
    type: int
  max_vcpus:
    description: Maximum vCPUs (hot-plug ceiling). Defaults to O(vcpus) on create.
    type: int
  cpu_mode:
    description: CPU mode.
    type: str
    choices: [host-passthrough, host-model, maximum, custom]
  machine:
    description: Machine type, e.g. V(q35) or V(pc). V(q35) matches the versioned C(pc-q35-*) libvirt reports. Default on create V(q35).
    type: str
  arch:
    description: Guest architecture. Default on create V(x86_64).
    type: str
  firmware:
    description: V(efi) for UEFI (nvram is created by libvirt and removed with the VM), V(bios) otherwise.
    type: str
    choices: [bios, efi]
  kernel:
    description: Absolute path (on the hypervisor) of a kernel for direct kernel boot. V('') removes it.
    type: str
  initrd:
    description: Absolute path of the initrd for direct kernel boot. V('') removes it.
    type: str
  cmdline:
    description: Kernel command line for direct kernel boot.
    type: str
  tb_cache:
    description:
      - TCG translation cache size (size or integer MiB). Defaults to 256 MiB for new V(qemu) domains, which keeps the
        qemu process near 0.85 GB for a 512 MiB guest instead of 1.5 GB+. V(0) removes the setting.
    type: raw
  graphics:
    description: Graphical console. Default on create V(none) (serial console only).
    type: str
    choices: [none, vnc, spice]
  console:
    description: Whether the VM has a serial console (pty). Default on create V(true).
    type: bool
  console_log:
    description:
      - File on the hypervisor that records the serial console. Used in the diagnosis of failed waits.
      - Defaults on create for local qemu URIs to C(/var/log/libvirt/qemu/NAME-console.log). V('') removes it.
    type: str
  description:
    description: Free text stored in the domain's C(<description>).
    type: str
  tags:
    description: Tags stored in the collection's metadata; M(hybridops.fleet.libvirt_vm_info) filters by them.
    type: list
    elements: str
  autostart:
    description: Start the VM when the hypervisor starts.
    type: bool
  pool:
    description: Default storage pool for disks and the cloud-init seed.
    type: str
    default: default
  disks:
    description:
      - The complete list of disks, in order. Disks left out are detached (their volumes are kept).
      - Each disk is exactly one of a qcow2 overlay (O(disks[].base)), a new empty volume (only O(disks[].size)),
        an existing volume (O(disks[].volume)) or an existing file (O(disks[].path)).
      - New volumes are named C(VMNAME-DISKNAME.qcow2). Giving a larger O(disks[].size) later grows the volume
        (live with C(blockResize) when the VM runs); shrinking is refused.
    type: list
    elements: dict
    suboptions:
      name:
        description: Disk name, used in the volume name. Defaults to C(diskN) (N = position).
        type: str
      base:
        description: Base volume for a qcow2 overlay, as a volume name in O(disks[].base_pool), C(POOL/NAME) or the path of a volume.
        type: str
      base_pool:
        description: Pool of O(disks[].base). Defaults to O(disks[].pool).
        type: str
      size:
        description: Size (V(20GiB), or an integer in GiB). For an overlay, defaults to the base's size.
        type: raw
      volume:
        description: Existing volume to attach (name in O(disks[].pool), C(POOL/NAME) or a volume path).
        type: str
      path:
        description: Existing file or block device on the hypervisor to attach.
        type: str
      pool:
        description: Pool for new volumes. Defaults to O(pool).
        type: str
      format:
        description: Image format. New volumes default to V(qcow2); existing ones are detected.
        type: str
        choices: [qcow2, raw]
      bus:
        description: Disk bus. Defaults to V(virtio) (V(sata) for cdroms).
        type: str
        choices: [virtio, scsi, sata, ide, usb]
      target:
        description: Target device (V(vda), V(sdb)...). Assigned in order by bus when omitted.
        type: str
      device:
        description: Device type.
        type: str
        choices: [disk, cdrom]
        default: disk
      readonly:
        description: Attach read-only. Defaults to V(true) for cdroms.
        type: bool
  networks:
    description:
      - The complete list of network interfaces, in order. Interfaces keep their MAC address unless O(networks[].mac) is given.
    type: list
    elements: dict
    suboptions:
      network:
        description: Name of a libvirt network (must exist).
        type: str
      bridge:
        description: Name of a host bridge.
        type: str
      model:
        description: NIC model.
        type: str
        default: virtio
      mac:
        description: MAC address. Generated by libvirt (and then kept) when omitted.
        type: str
  cloud_init:
    description:
      - Builds a NoCloud seed ISO (volume id C(cidata)) on the controller with C(genisoimage), C(mkisofs) or C(xorrisofs),
        uploads it as volume C(VMNAME-cidata.iso) and attaches it as a read-only virtio disk.
      - The seed is rebuilt when its content changes (tracked by a checksum in the metadata); the guest reads it on the next boot.
    type: dict
    suboptions:
      user_data:
        description:
          - user-data as a dict (written as C(#cloud-config)) or a string (written verbatim).
          - It often carries passwords and keys, so it is no_log (hidden from output and logs). As a dict, each
            of its values is masked wherever it appears in the task result (a value V(1) masks every C(1), IP
            addresses included; give the hostname in O(cloud_init.hostname)); as a string only the whole text
            is, so prefer a string (for example a C(#cloud-config) line and the dict through C(to_nice_yaml))
            when the result is used by later tasks.
        type: raw
      meta_data:
        description: meta-data as a dict or string. C(instance-id) and C(local-hostname) are added to a dict when missing.
        type: raw
      network_config:
        description: network-config (version 1 or 2) as a dict or string.
        type: raw
      ssh_authorized_keys:
        description: Public keys merged into the user-data (needs O(cloud_init.user_data) as a dict or omitted).
        type: list
        elements: str
      hostname:
        description: Hostname of the guest. Defaults to O(name).
        type: str
      pool:
        description: Pool of the seed volume. Defaults to O(pool).
        type: str
  xml:
    description:
      - Escape hatch for anything the options do not cover. A complete C(<domain>) document used as the starting point
        of a new VM; the structured options are applied on top of it.
      - When the template text changes, an existing VM is rebuilt from it with its UUID, MACs and ownership kept.
      - It can carry graphics passwords (C(passwd)), so it is no_log (hidden from output and logs).
    type: str
  live:
    description: Apply memory, vCPU, disk and NIC changes to a running VM where libvirt allows it.
    type: bool
    default: true
  restart:
    description:
      - V(never) only reports changes that need a restart (RV(restart_required)); V(allowed) restarts a running VM to apply them.
    type: str
    choices: [never, allowed]
    default: never
  shutdown_timeout:
    description: Seconds (V(0) or more) to wait for a graceful shutdown before powering off (V(0) powers off at once).
    type: int
    default: 120
  force:
    description: With O(state=absent), also delete a VM this collection did not create (and did not adopt, see O(adopt)).
    type: bool
    default: false
  adopt:
    description:
      - Take over a VM that exists but was not created by this collection (it has no ownership metadata).
        Adoption adds the collection's ownership element (C(managed) and C(adopted)) to the domain's
        C(<metadata>) and changes nothing else; with no other options given, it is written through libvirt's
        C(setMetadata), which leaves every other part of the definition (devices, other metadata namespaces, title,
        description) as it was, in the persistent definition and, for a running VM, the live one.
      - Other options given in the same task are applied as for any VM of the collection's own.
      - From then on the VM is treated as the collection's own; in particular O(state=absent) deletes it without
        O(force) (O(remove_storage) then also deletes its writable disks, as for any VM).
      - Without it, such a VM is only read; a task that would change it (including its power state) fails.
        Adoption is an explicit option, not a side effect of a task that happens to name an existing VM, so that a
        typo in a name or a playbook pointed at the wrong hypervisor cannot take over, and later delete, a VM
        someone else manages.
      - It has no effect on a VM that is already the collection's own, and a VM that does not exist is created as
        usual. It cannot be combined with O(state=absent) (use O(force) to delete a VM that is not the collection's).
      - Check mode and diff mode show the adoption (RV(changes) lists V(adopted), the diff shows C(managed) and
        C(adopted) turning V(true)); a second run changes nothing.
    type: bool
    default: false
  remove_storage:
    description:
      - With O(state=absent), delete the VM's writable disk volumes and the volumes this collection created for it
        (overlays, seeds). Base volumes, read-only disks and cdroms are kept.
    type: bool
    default: false
  wait:
    description:
      - With O(state=running), wait until the guest is reachable. Fails after O(wait.timeout) with a diagnosis
        (domain state, interfaces and MACs, what each IP source answered, the end of the console log).
    type: dict
    suboptions:
      ip:
        description: Wait for an IP address.
        type: bool
        default: false
      ip_sources:
        description: Where to look for addresses, in order. V(lease) (libvirt DHCP), V(agent) (qemu guest agent), V(arp).
        type: list
        elements: str
        default: [lease, agent, arp]
      family:
        description: Address family to wait for.
        type: str
        choices: [ipv4, ipv6, any]
        default: ipv4
      ssh:
        description: Wait until an SSH server answers on the address (implies O(wait.ip)).
        type: bool
        default: false
      ssh_port:
        description: SSH port.
        type: int
        default: 22
      ssh_via:
        description:
          - Where the SSH banner is read from. V(controller) connects to the guest's address from the host the module
            runs on.
          - V(hypervisor) reads it through the hypervisor as an SSH jump host (C(ssh -W)), for guests on networks only
            the hypervisor reaches (a NAT network of a remote libvirtd). The URI must be C(DRIVER+ssh://[USER@]HOST/...);
            its C(command), C(keyfile), C(known_hosts) and C(no_verify) parameters are used as libvirt's SSH transport
            uses them.
          - The guest agent (O(wait.agent), O(wait.cloud_init)) and the address sources V(lease) and V(agent) go
            through libvirt itself and work for any hypervisor.
        type: str
        choices: [controller, hypervisor]
        default: controller
      agent:
        description: Wait until the qemu guest agent answers.
        type: bool
        default: false
      cloud_init:
        description:
          - Wait until cloud-init has finished all its stages in the guest (C(/run/cloud-init/result.json) exists),
            read through the qemu guest agent (implies O(wait.agent); the guest needs C(qemu-guest-agent)).
          - A guest where cloud-init is disabled for this boot (no datasource, C(/run/cloud-init/disabled)) counts as
            finished. If cloud-init reports errors the task fails and lists them.
          - With O(wait.ssh), the SSH port is probed only after cloud-init has finished. cloud-init may restart sshd
            while it runs, so an SSH banner seen during that time does not mean SSH will stay up.
        type: bool
        default: false
      timeout:
        description: Seconds before giving up.
        type: int
        default: 300
      interval:
        description: Seconds between polls (polling a TCG guest fast slows it down).
        type: int
        default: 3
notes:
  - To converge many VMs concurrently in one task (one module start-up, one connection per hypervisor), use
    M(hybridops.fleet.libvirt_vms) with a list of these options. This module with C(async) and C(poll=0) in a loop,
    collected with M(ansible.builtin.async_status), also boots and waits for each VM in parallel.
seealso:
  - module: hybridops.fleet.libvirt_vms
  - module: hybridops.fleet.libvirt_vm_info
  - module: hybridops.fleet.libvirt_volume
  - module: hybridops.fleet.libvirt_snapshot
'''

EXAMPLES = r'''
- name: A VM on a qcow2 overlay of a base image, booted, waited for
  hybridops.fleet.libvirt_vm:
    name: web1
    state: running
    memory: 1GiB
    vcpus: 2
    disks:
      - name: root
        base: debian12.qcow2
        size: 20GiB
    networks:
      - network: default
    cloud_init:
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
    tags: [web]
    wait:
      cloud_init: true  # cloud-init may restart sshd while it runs: wait for it before SSH
      ssh: true
      timeout: 600
  register: web1

- name: Grow memory; restart only if the running VM cannot take it live
  hybridops.fleet.libvirt_vm:
    name: web1
    memory: 2GiB
    restart: allowed

- name: Direct kernel boot under TCG
  hybridops.fleet.libvirt_vm:
    name: lab1
    domain_type: qemu
    kernel: /var/cache/images/vmlinuz
    initrd: /var/cache/images/initrd.img
    cmdline: console=ttyS0 root=/dev/vda rw
    disks:
      - base: debian12.qcow2
    networks:
      - network: default

- name: Three VMs provisioned concurrently
  hybridops.fleet.libvirt_vm:
    name: "{{ item }}"
    state: running
    disks:
      - base: debian12.qcow2
    networks:
      - network: default
    wait:
      ip: true
  loop: [node1, node2, node3]
  async: 900
  poll: 0
  register: jobs

- name: Collect them
  ansible.builtin.async_status:
    jid: "{{ item.ansible_job_id }}"
  loop: "{{ jobs.results }}"
  register: done
  until: done.finished
  retries: 300
  delay: 3

- name: Take over a VM made by virt-install (adds only the ownership metadata)
  hybridops.fleet.libvirt_vm:
    name: legacy-db1
    adopt: true

- name: Delete a VM and the volumes made for it
  hybridops.fleet.libvirt_vm:
    name: web1
    state: absent
    remove_storage: true
'''

RETURN = r'''
changed:
  description: Whether anything changed (or would change, in check mode).
  returned: always
  type: bool
created:
  description: Whether the VM was created by this run.
  returned: unless O(state=absent)
  type: bool
changes:
  description: Spec fields that differed (V(memory), V(disks), V(autostart)...), or V(created).
  returned: unless O(state=absent)
  type: list
  elements: str
restart_required:
  description: Whether changes were saved that only take effect after the running VM restarts.
  returned: unless O(state=absent)
  type: bool
restart_required_for:
  description: The fields that need a restart.
  returned: when the VM existed
  type: list
  elements: str
restarted:
  description: Whether the VM was restarted to apply changes (O(restart=allowed)).
  returned: when it happened
  type: bool
actions:
  description: What was done, in order (for example C(create volume ...), C(define), C(live:memory), C(start)).
  returned: always
  type: list
  elements: str
removed_volumes:
  description: Paths of volumes deleted (or to be deleted in check mode) with O(remove_storage).
  returned: when O(state=absent)
  type: list
  elements: str
wait:
  description: What the wait found.
  returned: when O(wait) asked for something
  type: dict
  contains:
    ip:
      description: First address found.
      type: str
      sample: 192.168.122.10
    ip_source:
      description: The source that answered.
      type: str
      sample: lease
    ssh:
      description: The SSH banner.
      type: str
    agent:
      description: Whether the guest agent answered.
      type: bool
    cloud_init:
      description: V(done) when cloud-init finished, V(disabled) when it did not run this boot; null when not asked.
      type: str
      sample: done
    waited:
      description: Seconds waited.
      type: float
vm:
  description: Facts of the VM after the run (predicted in check mode). Memory values are MiB, disk sizes bytes.
  returned: always
  type: dict
  contains:
    name:
      description: Domain name.
      type: str
    uuid:
      description: Domain UUID.
      type: str
    state:
      description: V(running), V(paused), V(stopped), V(absent)...
      type: str
    memory:
      description: Memory in MiB.
      type: int
    vcpus:
      description: Active vCPUs.
      type: int
    disks:
      description: Disks with target, bus, device, format, path, readonly and, for pool volumes, volume, pool and capacity.
      type: list
      elements: dict
    interfaces:
      description: Interfaces with type, source, model, mac and ips.
      type: list
      elements: dict
    ip:
      description: First IPv4 address found (lease or arp), or null.
      type: str
    ips:
      description: All addresses found.
      type: list
      elements: str
    tags:
      description: Tags from the metadata.
      type: list
      elements: str
    managed:
      description: Whether the collection owns the VM (created it or adopted it).
      type: bool
    adopted:
      description: Whether the VM was defined elsewhere and taken over with O(adopt=true).
      type: bool
    title:
      description: The libvirt C(<title>) (set by other tools; this module does not manage it), or null.
      type: str
    metadata:
      description: What other tools keep in the domain's C(<metadata>), by namespace URI (see M(hybridops.fleet.libvirt_vm_info)).
      type: dict
    autostart:
      description: Autostart flag.
      type: bool
  sample:
    name: web1
    uuid: 0b2b6f5e-6a57-4dc0-9d9f-2b0f3f1b7a11
    state: running
    memory: 1024
    vcpus: 2
    ip: 192.168.122.10
'''

from ansible_collections.hybridops.fleet.plugins.module_utils._common.module import FleetModule
from ansible_collections.hybridops.fleet.plugins.module_utils._common.runner import manager_func
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.domain import VmManager
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.runner import (
    LOCK_ARGS,
    URI_ARG,
    lock_key,
    run_with_client,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_spec import VM_OPTIONS

ARGUMENT_SPEC = dict(uri=URI_ARG, **VM_OPTIONS, **LOCK_ARGS)


def main():
    module = FleetModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_with_client(module, manager_func(module, VmManager, run_command=module.run_command),
                    locks=[lock_key(module.params["uri"], "vm", module.params["name"])])


if __name__ == "__main__":
    main()
