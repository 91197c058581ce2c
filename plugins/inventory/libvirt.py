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
  - Facts go into the C(fleet_vm) host variable (state, memory, vCPUs, hypervisor, URI, interfaces with MACs and
    IPs, the libvirt C(title) and C(description), C(description_vars), the other tools' C(metadata), and the tags,
    C(managed) and C(adopted) flags from the collection's own metadata).
  - Nothing requires the collection's metadata on a VM; VMs made by virt-install, virt-manager, terraform or
    C(virsh define) are selected (O(filters)) and grouped by what libvirt holds about them (name, state,
    hypervisor, title, description, metadata of any namespace).
  - C(fleet_vm.metadata) holds each element other tools keep in the domain's C(<metadata>), by namespace URI, then
    by the element's local name, converted to plain data (text for a bare element, otherwise a dict with attributes
    as C(@name), child elements by local name, a list when repeated, and text as C(#text)). For example
    C(<cmdb:record xmlns:cmdb="http://cmdb.example.com/1"><cmdb:env>prod</cmdb:env></cmdb:record>) is
    C(fleet_vm.metadata['http://cmdb.example.com/1'].record.env).
  - C(fleet_vm.description_vars) holds the C(KEY=VALUE) words of the description (C(owner=billing env=prod)), for
    O(keyed_groups) on C(fleet_vm.description_vars.env).
  - Groups C(libvirt) (all), C(hypervisor_<host>), C(state_<state>) and C(tag_<tag>) are made; O(compose),
    O(groups) and O(keyed_groups) work as in other inventory plugins. Connection settings per VM come from
    O(compose) (for example C(ansible_user) from a metadata field), per group from C(group_vars) as usual.
  - With O(containers=true) the containers of each running VM with an address (or a composed C(ansible_host)) are read over SSH
    (C(docker ps)) into C(fleet_containers), all VMs at once, each bounded by O(containers_timeout) so one dead VM
    does not stall the inventory.
  - A hypervisor that does not answer (down, unreachable, refusing the login, failing while it is listed) is left
    out with a warning naming it and its URI, and the VMs of the other hypervisors are listed; the group
    C(libvirt) gets C(fleet_unreachable_hypervisors), a list of C(hypervisor), C(uri) and C(error) for each
    one left out (empty when all answered). With O(strict=true) the inventory fails instead. When no hypervisor
    answers, it fails whatever O(strict) says. A URI that no libvirt driver takes (C(banana), C(nope:///system))
    is bad input, not a hypervisor that is down; the inventory fails naming it (C(uris[N])) whatever O(strict)
    says. Hypervisors are asked concurrently (up to 8 at a time, one connection each), so an unreachable
    C(qemu+ssh://) URI costs the ssh client's connect timeout (C(ConnectTimeout) in its configuration) once,
    not once per hypervisor.
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
  strict:
    description:
      - V(false) leaves a hypervisor that does not answer out of the inventory with a warning, and skips
        O(compose), O(groups) and O(keyed_groups) expressions that fail for a host (the facts they use may be
        missing).
      - V(true) makes either a fatal error, naming the hypervisor and its URI, or the expression and the host.
    type: bool
    default: false
  hypervisor_names:
    description:
      - Names for hypervisors, by URI (an entry of O(uris)). A hypervisor is otherwise named after the host part of
        its URI (C(qemu+ssh://admin@hv2.example.com/system) is C(hv2.example.com)), this machine's host name for a
        local URI, and C(test) for C(test:) URIs.
      - The name is C(fleet_vm.hypervisor), the C(hypervisor_<name>) group, what O(filters.hypervisors) matches and
        the second half of qualified host names (O(host_names)).
    type: dict
    default: {}
  host_names:
    description:
      - How VMs are named as inventory hosts.
      - V(name) uses the domain name. libvirt names are unique only on one hypervisor, so when two hypervisors hold a
        VM of the same name the inventory fails naming both (rather than merging two VMs into one host); use
        V(qualified) for such estates.
      - V(qualified) names every host C(NAME@HYPERVISOR) (the hypervisor as in O(hypervisor_names)), unique across
        hypervisors and stable whatever the other hypervisors hold. A VM without an address then gets
        C(ansible_host) set to its domain name, so that it is reached as it would be with V(name).
    type: str
    choices: [name, qualified]
    default: name
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
        description: When set, keep only VMs owned (C(true), created or adopted) or not owned (C(false)) by this collection.
        type: bool
      hypervisors:
        description:
          - Shell-style patterns on the hypervisor's name (see O(hypervisor_names)); a hypervisor that matches none
            is not connected to.
        type: list
        elements: str
      titles:
        description: Shell-style patterns on the libvirt C(<title>); a VM without a title matches only V('') or V(*).
        type: list
        elements: str
      descriptions:
        description: Shell-style patterns on the libvirt C(<description>) (V(*env=prod*)).
        type: list
        elements: str
      metadata:
        description:
          - Conditions on the metadata other tools keep in the domain's C(<metadata>); a VM must meet all of them.
        type: list
        elements: dict
        suboptions:
          namespace:
            description: The namespace URI of the element (for example C(http://libosinfo.org/xmlns/libvirt/domain/1.0)).
              Alone, the VM must carry an element of that namespace.
            type: str
            required: true
          path:
            description:
              - Element names from the namespace's top element down, separated by C(/), with C(@name) for an
                attribute as the last step (C(record/env), C(libosinfo/os/@id)). Something must be there.
            type: str
          value:
            description: A shell-style pattern the text at O(filters.metadata[].path) must match (V(prod), V(debian*)).
              Needs O(filters.metadata[].path).
            type: str
  containers:
    description: Read the containers of each running VM over SSH into C(fleet_containers).
    type: bool
    default: false
  containers_user:
    description:
      - SSH user for reading containers. When not set, the user a VM's O(compose) gives as C(ansible_user) (or
        C(ansible_ssh_user)), and otherwise the C(ssh) client's own choice (its configuration, or the user
        running the inventory). No user is assumed; in particular not C(root).
    type: str
  containers_become:
    description:
      - Run C(docker ps) with C(sudo -n) (for a user that may run Docker only through sudo, without a password).
        Not needed for a user in the C(docker) group.
    type: bool
    default: false
  containers_ssh_private_key_file:
    description:
      - SSH private key for reading containers. When not set, the key a VM's O(compose) gives as
        C(ansible_ssh_private_key_file) (or C(ansible_private_key_file)), otherwise the C(ssh) client's own.
      - Likewise, a C(ansible_host) and C(ansible_port) (or C(ansible_ssh_port)) from O(compose) say where to connect.
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
# legacy.libvirt.yml: an estate this collection did not create, on two hypervisors
plugin: hybridops.fleet.libvirt
uris:
  - qemu+ssh://admin@hv1.example.com/system
  - qemu+ssh://admin@hv2.example.com/system
host_names: qualified            # db1@hv1.example.com and db1@hv2.example.com can both exist
filters:
  names: ["app-*", "db-*"]
  states: [running]
  metadata:
    - namespace: http://cmdb.example.com/xmlns/1
      path: record/env
      value: prod
keyed_groups:
  - key: fleet_vm.metadata['http://cmdb.example.com/xmlns/1'].record.service
    prefix: service
  - key: fleet_vm.description_vars.owner | default('none')
    prefix: owner
  - key: fleet_vm.title | default('', true)
    prefix: title
compose:
  # the login user recorded in the CMDB metadata, else the distribution's default user
  ansible_user: fleet_vm.metadata['http://cmdb.example.com/xmlns/1'].record.ssh['@user'] | default('debian')
  ansible_become: true
containers: true
containers_become: true          # docker ps through sudo -n, as the composed ansible_user
---
# fleet.libvirt.yml
plugin: hybridops.fleet.libvirt
uris:
  - qemu:///system
  - qemu+ssh://admin@hv2.example.com/system
  - qemu+ssh://admin@hv3.example.com/system?keyfile=/etc/fleet/id_ed25519
host_names: qualified            # web1@hv2.example.com, web1@hv3.example.com
hypervisor_names:
  qemu:///system: hv1
strict: false                    # a hypervisor that is down is left out with a warning (true: fail)
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
import fnmatch
import json
import re
import socket
import subprocess

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:
    from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError, ValidationError
    from ansible_collections.hybridops.fleet.plugins.module_utils._common.validators import (
        LIBVIRT_URI_ACCEPTED,
        check_libvirt_uri,
    )
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (
        HAS_LIBVIRT,
        LibvirtClient,
        names_no_driver,
    )
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import list_vms
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


def plain_str(text):
    """``text`` as a plain ``str``. Option values are strings tagged by ansible-core (their origin in the inventory
    file, trust): copied into every VM's facts they would be stored in the cache with their tags and rebuilt from
    it, tag by tag, for every VM."""
    return str.__str__(text) if isinstance(text, str) else text


HOST_NAME_MODES = ("name", "qualified")
_DESCRIPTION_VAR = re.compile(r"""(?:^|(?<=[\s,;]))([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|'[^']*'|[^\s,;="'][^\s,;]*|)(?=$|[\s,;])""")


def parse_description_vars(text):
    """The KEY=VALUE words of a libvirt description (separated by spaces, commas or semicolons; a value may be
    quoted): ``owner=billing env="prod eu"`` gives {"owner": "billing", "env": "prod eu"}."""
    result = {}
    for key, value in _DESCRIPTION_VAR.findall(text or ""):
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key] = value
    return result


def host_name(vm, mode):
    """The inventory host name of a VM's facts (``mode``: name or qualified)."""
    if mode == "qualified":
        return "%s@%s" % (vm["name"], vm["hypervisor"])
    return vm["name"]


def duplicate_hosts(vms, mode):
    """{host name: [uri, ...]} for host names more than one VM would get."""
    seen = {}
    for vm in vms:
        seen.setdefault(host_name(vm, mode), []).append(vm["uri"])
    return dict((name, uris) for name, uris in seen.items() if len(uris) > 1)


def check_filters(filters):
    """Errors in the filters option (named by option path), found before any hypervisor is contacted."""
    problems = []
    for key in ("names", "states", "tags", "hypervisors", "titles", "descriptions"):
        value = filters.get(key)
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            problems.append("filters.%s: expected a list of strings, got %r" % (key, value))
    conditions = filters.get("metadata")
    if conditions is not None and not isinstance(conditions, list):
        problems.append("filters.metadata: expected a list of conditions (namespace, path, value), got %r" % (conditions,))
        conditions = []
    for index, condition in enumerate(conditions or []):
        option = "filters.metadata[%d]" % index
        if not isinstance(condition, dict):
            problems.append("%s: expected a dict with namespace, path, value; got %r" % (option, condition))
            continue
        unknown = sorted(set(condition) - {"namespace", "path", "value"})
        if unknown:
            problems.append("%s: unknown keys %s (accepted: namespace, path, value)" % (option, ", ".join(unknown)))
        if not isinstance(condition.get("namespace"), str) or not condition.get("namespace"):
            problems.append("%s.namespace: required, the namespace URI of a metadata element" % option)
        if condition.get("value") is not None and not condition.get("path"):
            problems.append("%s.value: needs %s.path (which element or @attribute to compare)" % (option, option))
        for key in ("path", "value"):
            if condition.get(key) is not None and not isinstance(condition[key], (str, int, float)):
                problems.append("%s.%s: expected a string, got %r" % (option, key, condition[key]))
    return problems


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


def ssh_command(target, timeout, ssh_args=(), become=False):
    """The ssh command line that lists a VM's containers; ``target``: host, user, key, port (None: ssh's choice)."""
    cmd = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % max(1, timeout - 1)]
    if target.get("key"):
        cmd += ["-i", target["key"]]
    if target.get("port"):
        cmd += ["-p", str(target["port"])]
    cmd += list(ssh_args or ())
    destination = target["host"]
    if target.get("user"):
        destination = "%s@%s" % (target["user"], destination)
    docker = "docker ps -a --no-trunc --format '{{json .}}'"
    cmd += [destination, ("sudo -n " + docker) if become else docker]
    return cmd


HYPERVISOR_WORKERS = 8


def list_concurrently(uris, list_one, workers=HYPERVISOR_WORKERS):
    """[(VMs, None) or (None, BackendError)] for each URI, in the order of ``uris``: ``list_one(uri)`` on a thread
    pool, one thread (and connection) per hypervisor at a time, so that the slowest hypervisor, not the sum of
    them, bounds the listing. A hypervisor that fails does not stop the others."""
    def one(uri):
        try:
            return list_one(uri), None
        except BackendError as exc:
            return None, exc
    if len(uris) <= 1:
        return [one(uri) for uri in uris]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(uris)))) as pool:
        return list(pool.map(one, uris))


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
        if isinstance(vms, list):  # a cache written before unreachable hypervisors were recorded
            vms = {"vms": vms, "unreachable": []}
        if vms is None:
            vms = self._collect()
        if update_cache:
            self._cache[cache_key] = vms
        for item in vms["unreachable"]:
            self.display.warning("hybridops.fleet.libvirt inventory: hypervisor %s (%s) is left out, it did not "
                                 "answer: %s (the other hypervisors are listed; strict: true fails instead)"
                                 % (item["hypervisor"], item["uri"], item["error"]))
        self._populate(vms["vms"])
        self.inventory.add_group("libvirt")
        self.inventory.set_variable("libvirt", "fleet_unreachable_hypervisors", vms["unreachable"])

    # collection -------------------------------------------------------------------------------
    def _hypervisor(self, uri):
        names = self.get_option("hypervisor_names") or {}
        return names.get(uri) or hypervisor_name(uri)

    def _collect(self):
        sources = self.get_option("ip_sources")
        filters = self.get_option("filters") or {}
        problems = check_filters(filters)
        unknown = sorted(set(self.get_option("hypervisor_names") or {}) - set(self.get_option("uris")))
        if unknown:
            problems.append("hypervisor_names: %s not in uris (accepted: entries of uris)" % ", ".join(unknown))
        for index, uri in enumerate(self.get_option("uris")):
            try:
                check_libvirt_uri(uri, "uris[%d]" % index)
            except ValidationError as exc:
                problems.append(exc.msg)
        if problems:
            raise AnsibleError("hybridops.fleet.libvirt inventory: " + "; ".join(problems))
        uris = [uri for uri in self.get_option("uris") if not filters.get("hypervisors")
                or any(fnmatch.fnmatchcase(self._hypervisor(uri), p) for p in filters["hypervisors"])]
        params = {"name": filters.get("names"), "state": filters.get("states"), "tags": filters.get("tags"),
                  "managed": filters.get("managed"), "titles": filters.get("titles"),
                  "descriptions": filters.get("descriptions"), "metadata": filters.get("metadata"),
                  "ips": True, "ip_sources": sources}
        vms, unreachable = [], []
        for uri, (listed, error) in zip(uris, list_concurrently(uris, lambda uri: self._list_hypervisor(uri, params))):
            if error is None:
                vms.extend(listed)
                continue
            # this hypervisor is left out as a whole (no VM of a half-read listing); the others were listed
            hypervisor = self._hypervisor(uri)
            if names_no_driver(error):  # a wrong URI is bad input, not a hypervisor that is down
                raise AnsibleError("hybridops.fleet.libvirt inventory: uris[%d]: %s (accepted: %s)"
                                   % (self.get_option("uris").index(uri), error, LIBVIRT_URI_ACCEPTED))
            if self.get_option("strict"):
                raise AnsibleError("hybridops.fleet.libvirt inventory: hypervisor %s (%s) did not answer: %s "
                                   "(strict: true; with strict: false it is left out with a warning)"
                                   % (hypervisor, uri, error))
            unreachable.append({"hypervisor": plain_str(hypervisor), "uri": plain_str(uri), "error": str(error)})
        if unreachable and len(unreachable) == len(uris):
            raise AnsibleError("hybridops.fleet.libvirt inventory: no hypervisor answered: %s" % "; ".join(
                "%s (%s): %s" % (u["hypervisor"], u["uri"], u["error"]) for u in unreachable))
        if self.get_option("containers"):
            self._add_containers(vms)
        return {"vms": vms, "unreachable": unreachable}

    def _list_hypervisor(self, uri, params):
        """The VMs of one hypervisor (its own connection; run on a thread of list_concurrently)."""
        hypervisor = plain_str(self._hypervisor(uri))
        with LibvirtClient(uri) as client:
            listed = list_vms(client, params)
        uri = plain_str(uri)
        for facts in listed:
            facts["hypervisor"] = hypervisor
            facts["uri"] = uri
            facts["description_vars"] = parse_description_vars(facts.get("description"))
        return listed

    def _composed(self, vm, keys):
        """The first of ``keys`` that O(compose) sets, evaluated for this VM alone (None when none is)."""
        compose = self.get_option("compose") or {}
        variables = {"fleet_vm": vm, "inventory_hostname": host_name(vm, self.get_option("host_names"))}
        if vm.get("ip"):
            variables["ansible_host"] = vm["ip"]
        for key in keys:
            if key in compose:
                try:
                    value = self._compose(compose[key], variables)
                except Exception as exc:  # pylint: disable=broad-except
                    if self.get_option("strict"):
                        raise AnsibleError("hybridops.fleet.libvirt inventory: could not compose %s for %s: %s"
                                           % (key, vm["name"], exc))
                    continue
                if value not in (None, ""):
                    return str(value)
        return None

    def ssh_target(self, vm):
        """Where and as whom the containers of a VM are read: options first, then what compose gives the VM."""
        return {
            "host": self._composed(vm, ("ansible_host",)) or vm.get("ip"),
            "user": self.get_option("containers_user") or self._composed(vm, ("ansible_user", "ansible_ssh_user")),
            "key": self.get_option("containers_ssh_private_key_file")
            or self._composed(vm, ("ansible_ssh_private_key_file", "ansible_private_key_file")),
            "port": self._composed(vm, ("ansible_port", "ansible_ssh_port")),
        }

    def _ssh_command(self, target):
        return ssh_command(target, self.get_option("containers_timeout"), self.get_option("containers_ssh_args"),
                           self.get_option("containers_become"))

    def _read_containers(self, target):
        timeout = self.get_option("containers_timeout")
        try:
            proc = subprocess.run(self._ssh_command(target), capture_output=True, text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
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
            if vm["state"] == "running":
                target = self.ssh_target(vm)
                if target["host"]:
                    targets.append((vm, target))
        if not targets:
            return
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
            futures = dict((pool.submit(self._read_containers, target), vm) for vm, target in targets)
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
        mode = self.get_option("host_names")
        duplicates = duplicate_hosts(vms, mode)
        if duplicates:
            clashes = "; ".join("VM %r is on %s" % (name, " and ".join(uris)) for name, uris in sorted(duplicates.items()))
            raise AnsibleError("hybridops.fleet.libvirt inventory: host_names: %s; a host name must be unique (accepted: "
                               "host_names: qualified, which names hosts NAME@HYPERVISOR, or filters that keep one "
                               "of them)" % clashes)
        self.inventory.add_group("libvirt")
        constructed = any(self.get_option(key) for key in ("compose", "groups", "keyed_groups"))
        for vm in vms:
            host = host_name(vm, mode)
            self.inventory.add_host(host, group="libvirt")
            for group in ("hypervisor_%s" % vm["hypervisor"], "state_%s" % vm["state"]) + tuple(
                    "tag_%s" % tag for tag in vm.get("tags") or []):
                group = self._sanitize_group_name(group)
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            if vm.get("ip"):
                self.inventory.set_variable(host, "ansible_host", vm["ip"])
            elif host != vm["name"]:
                self.inventory.set_variable(host, "ansible_host", vm["name"])  # reached by its name, as with host_names=name
            if not vm.get("ip"):
                self.inventory.add_group("libvirt_no_ip")
                self.inventory.add_child("libvirt_no_ip", host)
            facts = dict((k, v) for k, v in vm.items() if k not in ("containers", "containers_error"))
            self.inventory.set_variable(host, "fleet_vm", facts)
            if "containers" in vm:
                self.inventory.set_variable(host, "fleet_containers", vm["containers"])
            if "containers_error" in vm:
                self.inventory.set_variable(host, "fleet_containers_error", vm["containers_error"])
            if not constructed:
                continue  # no compose, groups or keyed_groups: nothing to template
            hostvars = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
