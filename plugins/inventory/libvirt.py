# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: libvirt
short_description: libvirt VMs as hosts, with their IPs and, optionally, their containers
version_added: 0.1.0
description:
  - Lists the domains of one or more libvirt hypervisors. Every VM becomes a host; C(ansible_host) is set to its
    first IPv4 address found by the sources in O(ip_sources) (DHCP lease, guest agent, ARP table, in that order by
    default). VMs without an address are still listed, in the group C(libvirt_no_ip).
  - Facts go into the C(fleet_vm) host variable (state, memory, vCPUs, tags and description from the collection's
    metadata, hypervisor, URI, interfaces with MACs and IPs).
  - Groups C(libvirt) (all), C(hypervisor_<host>), C(state_<state>) and C(tag_<tag>) are made; O(compose),
    O(groups) and O(keyed_groups) work as in other inventory plugins.
  - With O(containers=true) the containers of each running VM with an address are read over SSH
    (C(docker ps)) into C(fleet_containers), all VMs at once, each bounded by O(containers_timeout) so one dead VM
    does not stall the inventory.
  - The inventory file must end in C(libvirt.yml) or C(libvirt.yaml).
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
author:
  - hybridops.fleet developers (@hybridops)
requirements:
  - libvirt-python on the controller
  - an C(ssh) client when O(containers=true)
options:
  plugin:
    description: The name of this plugin.
    required: true
    type: str
    choices: [hybridops.fleet.libvirt]
  uris:
    description: libvirt connection URIs to list, for example C(qemu:///system) or C(qemu+ssh://admin@hv1/system).
    type: list
    elements: str
    default: [qemu:///system]
  ip_sources:
    description:
      - Where to look for a VM's addresses, in order; the first source that gives an IPv4 address sets
        C(ansible_host).
      - C(lease) asks libvirt's DHCP server, C(agent) the QEMU guest agent inside the VM, C(arp) the host's ARP table.
    type: list
    elements: str
    choices: [lease, agent, arp]
    default: [lease, agent, arp]
  filters:
    description: Only VMs that match all of the given conditions are listed.
    type: dict
    default: {}
    suboptions:
      names:
        description: Shell-style patterns; a VM is kept when its name matches one of them.
        type: list
        elements: str
      states:
        description: VM states to keep (C(running), C(stopped), C(paused), ...).
        type: list
        elements: str
      tags:
        description: Tags (from the collection's metadata) that a VM must all carry.
        type: list
        elements: str
      managed:
        description: When set, keep only VMs created (C(true)) or not created (C(false)) by this collection.
        type: bool
  containers:
    description: Read the containers of each running VM over SSH into C(fleet_containers).
    type: bool
    default: false
  containers_user:
    description: SSH user for reading containers.
    type: str
    default: root
  containers_ssh_private_key_file:
    description: SSH private key for reading containers.
    type: path
  containers_ssh_args:
    description: Extra arguments for the C(ssh) command, for example C(-o StrictHostKeyChecking=no).
    type: list
    elements: str
    default: []
  containers_timeout:
    description: Seconds allowed per VM for reading its containers; a VM that does not answer in time gets
      C(fleet_containers_error) instead of containers.
    type: int
    default: 15
"""

EXAMPLES = r"""
# fleet.libvirt.yml
plugin: hybridops.fleet.libvirt
uris:
  - qemu:///system
  - qemu+ssh://admin@hv2.example.com/system
ip_sources: [agent, lease]
filters:
  states: [running]
  tags: [web]
keyed_groups:
  - key: fleet_vm.tags
    prefix: role
compose:
  ansible_user: "'debian'"
containers: true
containers_user: debian
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/hybridops-inventory
cache_timeout: 300
"""

import concurrent.futures
import json
import socket
import subprocess

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (
        HAS_LIBVIRT,
        LibvirtClient,
        domain_state,
    )
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.domain import vm_facts, vm_matches
    from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError
except ImportError:  # pragma: no cover - only when the collection is broken
    HAS_LIBVIRT = False


def hypervisor_name(uri):
    """The hypervisor a URI points at: the host part, or this machine for local URIs."""
    rest = uri.split("://", 1)[1] if "://" in uri else uri
    host = rest.split("/", 1)[0]
    if "@" in host:
        host = host.split("@", 1)[1]
    if ":" in host and not host.startswith("["):
        host = host.split(":", 1)[0]
    if host:
        return host
    if uri.startswith("test:"):
        return "test"
    return socket.gethostname()


def parse_docker_ps(text):
    """Containers from `docker ps -a --format '{{json .}}'` (one JSON object a line)."""
    containers = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        item = json.loads(line)
        status = item.get("Status", "")
        health = None
        for marker in ("healthy", "unhealthy", "health: starting"):
            if "(%s)" % marker in status:
                health = "starting" if marker == "health: starting" else marker
                break
        containers.append({
            "name": item.get("Names", ""),
            "id": item.get("ID", ""),
            "image": item.get("Image", ""),
            "state": item.get("State") or ("running" if status.startswith("Up") else "exited"),
            "status": status,
            "health": health,
            "ports": [p.strip() for p in item.get("Ports", "").split(",") if p.strip()],
            "labels": item.get("Labels", ""),
        })
    return containers


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "hybridops.fleet.libvirt"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("libvirt.yml", "libvirt.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        if not HAS_LIBVIRT:
            raise AnsibleError("the hybridops.fleet.libvirt inventory needs libvirt-python on the controller")

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        vms = None
        if use_cache:
            try:
                vms = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if vms is None:
            vms = self._collect()
        if update_cache:
            self._cache[cache_key] = vms
        self._populate(vms)

    # collection -------------------------------------------------------------------------------
    def _collect(self):
        sources = self.get_option("ip_sources")
        filters = self.get_option("filters") or {}
        vms = []
        for uri in self.get_option("uris"):
            hypervisor = hypervisor_name(uri)
            try:
                with LibvirtClient(uri) as client:
                    for dom in client.domains():
                        try:
                            # the name and state filters drop a VM before its XML, volumes and IPs are read
                            state = domain_state(client, dom)
                            if not vm_matches({"name": dom.name(), "state": state},
                                              names=filters.get("names"), states=filters.get("states")):
                                continue
                            facts = vm_facts(client, dom, with_ips=True, ip_sources=tuple(sources), state=state)
                        except BackendError:
                            if client.domain(dom.name()) is None:
                                continue  # undefined while we listed: not part of the fleet any more
                            raise
                        facts["hypervisor"] = hypervisor
                        facts["uri"] = uri
                        if not vm_matches(facts, tags=filters.get("tags"), managed=filters.get("managed")):
                            continue
                        vms.append(facts)
            except BackendError as exc:
                raise AnsibleError("hybridops.fleet.libvirt inventory: %s" % exc)
        if self.get_option("containers"):
            self._add_containers(vms)
        return vms

    def _ssh_command(self, ip):
        cmd = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % max(1, self.get_option("containers_timeout") - 1)]
        key = self.get_option("containers_ssh_private_key_file")
        if key:
            cmd += ["-i", key]
        cmd += list(self.get_option("containers_ssh_args"))
        cmd += ["%s@%s" % (self.get_option("containers_user"), ip), "docker ps -a --no-trunc --format '{{json .}}'"]
        return cmd

    def _read_containers(self, ip):
        timeout = self.get_option("containers_timeout")
        try:
            proc = subprocess.run(self._ssh_command(ip), capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return None, "no answer within %ds" % timeout
        if proc.returncode != 0:
            return None, (proc.stderr.strip() or "ssh exited with %d" % proc.returncode)[-500:]
        try:
            return parse_docker_ps(proc.stdout), None
        except ValueError as exc:
            return None, "unexpected docker ps output: %s" % exc

    def _add_containers(self, vms):
        targets = []
        for vm in vms:
            if vm["state"] == "running" and vm.get("ip"):
                targets.append((vm, vm["ip"]))
        if not targets:
            return
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
            futures = dict((pool.submit(self._read_containers, ip), vm) for vm, ip in targets)
            for future in concurrent.futures.as_completed(futures):
                vm = futures[future]
                containers, error = future.result()
                if error:
                    vm["containers_error"] = error
                else:
                    vm["containers"] = containers

    # population -------------------------------------------------------------------------------
    def _populate(self, vms):
        strict = self.get_option("strict")
        self.inventory.add_group("libvirt")
        for vm in vms:
            host = vm["name"]
            self.inventory.add_host(host, group="libvirt")
            for group in ("hypervisor_%s" % vm["hypervisor"], "state_%s" % vm["state"]) + tuple(
                    "tag_%s" % tag for tag in vm.get("tags") or []):
                group = self._sanitize_group_name(group)
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            if vm.get("ip"):
                self.inventory.set_variable(host, "ansible_host", vm["ip"])
            else:
                self.inventory.add_group("libvirt_no_ip")
                self.inventory.add_child("libvirt_no_ip", host)
            facts = dict((k, v) for k, v in vm.items() if k not in ("containers", "containers_error"))
            self.inventory.set_variable(host, "fleet_vm", facts)
            if "containers" in vm:
                self.inventory.set_variable(host, "fleet_containers", vm["containers"])
            if "containers_error" in vm:
                self.inventory.set_variable(host, "fleet_containers_error", vm["containers_error"])
            hostvars = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
