# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of one VM: the argument spec of libvirt_vm, and of each item of libvirt_vms' list."""

from __future__ import annotations

DISK_SPEC = dict(
    name=dict(type="str"),
    base=dict(type="str"),
    base_pool=dict(type="str"),
    size=dict(type="raw"),
    volume=dict(type="str"),
    path=dict(type="str"),
    pool=dict(type="str"),
    format=dict(type="str", choices=["qcow2", "raw"]),
    bus=dict(type="str", choices=["virtio", "scsi", "sata", "ide", "usb"]),
    target=dict(type="str"),
    device=dict(type="str", choices=["disk", "cdrom"], default="disk"),
    readonly=dict(type="bool"),
)

NIC_SPEC = dict(
    network=dict(type="str"),
    bridge=dict(type="str"),
    model=dict(type="str", default="virtio"),
    mac=dict(type="str"),
)

CLOUD_INIT_SPEC = dict(
    user_data=dict(type="raw", no_log=True),
    meta_data=dict(type="raw"),
    network_config=dict(type="raw"),
    ssh_authorized_keys=dict(type="list", elements="str", no_log=False),
    hostname=dict(type="str"),
    pool=dict(type="str"),
)

WAIT_SPEC = dict(
    ip=dict(type="bool", default=False),
    ip_sources=dict(type="list", elements="str", default=["lease", "agent", "arp"]),
    family=dict(type="str", choices=["ipv4", "ipv6", "any"], default="ipv4"),
    ssh=dict(type="bool", default=False),
    ssh_port=dict(type="int", default=22),
    ssh_via=dict(type="str", choices=["controller", "hypervisor"], default="controller"),
    agent=dict(type="bool", default=False),
    cloud_init=dict(type="bool", default=False),
    timeout=dict(type="int", default=300),
    interval=dict(type="int", default=3),
)

# every option of one VM (libvirt_vm's argument spec without the connection and lock options; libvirt_vms
# validates each item of its list against it)
VM_OPTIONS = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "running", "stopped", "paused", "absent"], default="present"),
    domain_type=dict(type="str", choices=["qemu", "kvm"]),
    memory=dict(type="raw"),
    max_memory=dict(type="raw"),
    vcpus=dict(type="int"),
    max_vcpus=dict(type="int"),
    cpu_mode=dict(type="str", choices=["host-passthrough", "host-model", "maximum", "custom"]),
    machine=dict(type="str"),
    arch=dict(type="str"),
    firmware=dict(type="str", choices=["bios", "efi"]),
    kernel=dict(type="str"),
    initrd=dict(type="str"),
    cmdline=dict(type="str"),
    tb_cache=dict(type="raw"),
    graphics=dict(type="str", choices=["none", "vnc", "spice"]),
    console=dict(type="bool"),
    console_log=dict(type="str"),
    description=dict(type="str"),
    tags=dict(type="list", elements="str"),
    autostart=dict(type="bool"),
    pool=dict(type="str", default="default"),
    disks=dict(type="list", elements="dict", options=DISK_SPEC),
    networks=dict(type="list", elements="dict", options=NIC_SPEC),
    cloud_init=dict(type="dict", options=CLOUD_INIT_SPEC),
    xml=dict(type="str", no_log=True),
    live=dict(type="bool", default=True),
    restart=dict(type="str", choices=["never", "allowed"], default="never"),
    shutdown_timeout=dict(type="int", default=120),
    force=dict(type="bool", default=False),
    adopt=dict(type="bool", default=False),
    remove_storage=dict(type="bool", default=False),
    wait=dict(type="dict", options=WAIT_SPEC),
)
