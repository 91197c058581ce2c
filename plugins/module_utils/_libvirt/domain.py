# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VmManager: one libvirt domain to a declared state, with check mode, diff and undo.

Flow of :meth:`VmManager.run`:

1. :func:`validate_params` checks every option without touching libvirt.
2. :meth:`VmManager.resolve` looks up pools, base volumes and networks (still
   read-only) and builds the desired spec plus a plan of volume operations.
3. The desired spec is compared with the current one (domain_xml.compare).
4. Outside check mode the plan runs; if a step fails, what this run created
   is removed again (undo stack) before the error is reported.
5. Changes are applied live where libvirt allows; the rest is reported in
   ``restart_required`` and applied by a restart only with ``restart=allowed``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import guard, validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.diff import make_diff
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    BackendError,
    FleetError,
    ValidationError,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._common.sizes import (
    ACCEPTED_SIZES,
    SizeError,
    format_size,
    parse_size,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt import (
    cloudinit,
    domain_xml as dx,
    volume as volumes,
    waiters,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (
    domain_state,
    libvirt,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.vm_read import vm_facts

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import LibvirtClient

STATES = ("present", "running", "stopped", "paused", "absent")
DISK_SOURCES = ("base", "volume", "path")

# option name -> (spec key, converter). Declared once; used to build desired specs.
SCALAR_OPTIONS = {
    "domain_type": ("domain_type", None),
    "memory": ("memory", "mib"),
    "max_memory": ("max_memory", "mib"),
    "vcpus": ("vcpus", None),
    "max_vcpus": ("max_vcpus", None),
    "cpu_mode": ("cpu_mode", None),
    "arch": ("arch", None),
    "machine": ("machine", None),
    "firmware": ("firmware", None),
    "kernel": ("kernel", None),
    "initrd": ("initrd", None),
    "cmdline": ("cmdline", None),
    "tb_cache": ("tb_cache", "mib"),
    "graphics": ("graphics", None),
    "console": ("console", None),
    "console_log": ("console_log", None),
    "description": ("description", None),
    "tags": ("tags", None),
}


# --- validation (pure) --------------------------------------------------------------------

# libvirt takes up to 8 EiB and qemu up to its 52-bit physical address space
# (4 PiB), so neither stops a typo like 999999TiB; 64 TiB is above any x86 host sold
MEMORY_MAX_MIB = 64 * 1024 * 1024


def _size(value, option, default_unit="MiB"):
    try:
        return parse_size(value, default_unit)
    except SizeError as exc:
        raise ValidationError(option, exc.reason, accepted=ACCEPTED_SIZES)


def _mib(value, option):
    size = _size(value, option)
    mib = -(-size // (1024 * 1024))
    return mib


def validate_params(params):
    """Check every option before anything is touched; returns the normalized desired scalars.

    Raises ValidationError naming the option and what it accepts.
    """
    name = params.get("name")
    if not name or not dx.NAME_RE.match(name):
        raise ValidationError("name", "%r is not a valid VM name" % (name,),
                              accepted="1-64 characters: letters, digits, and _ . + - (not first)")
    desired = {}
    for option, (key, conv) in SCALAR_OPTIONS.items():
        value = params.get(option)
        if value is None:
            continue
        if conv == "mib":
            value = _mib(value, option)
            if option != "tb_cache" and not 16 <= value <= MEMORY_MAX_MIB:
                raise ValidationError(option, "%s (%d MiB) is out of range" % (params[option], value),
                                      accepted="16MiB to 64TiB")
        desired[key] = value
    if params.get("adopt") and params.get("state") == "absent":
        raise ValidationError("adopt", "only takes over a VM that is kept; a VM not created by this collection is "
                              "deleted with force", accepted="adopt with state present, running, stopped or paused; "
                              "force: true with state absent")
    if params.get("shutdown_timeout") is not None:
        validators.check_int(params["shutdown_timeout"], "shutdown_timeout", minimum=0,
                             accepted="seconds >= 0 (0 powers off at once)")
    for option in ("vcpus", "max_vcpus"):
        if desired.get(option) is not None and not 1 <= desired[option] <= 4096:
            raise ValidationError(option, "%r is out of range" % desired[option], accepted="1-4096")
    if desired.get("max_vcpus") and desired.get("vcpus") and desired["vcpus"] > desired["max_vcpus"]:
        raise ValidationError("vcpus", "%d is more than max_vcpus %d" % (desired["vcpus"], desired["max_vcpus"]),
                              accepted="vcpus <= max_vcpus")
    if desired.get("max_memory") and desired.get("memory") and desired["memory"] > desired["max_memory"]:
        raise ValidationError("memory", "%d MiB is more than max_memory %d MiB" % (desired["memory"], desired["max_memory"]),
                              accepted="memory <= max_memory")
    for option in ("kernel", "initrd", "console_log"):
        value = params.get(option)
        if value and not value.startswith("/"):
            raise ValidationError(option, "%r is not an absolute path" % value, accepted="an absolute path on the hypervisor, or '' to remove")
    if params.get("initrd") and not (params.get("kernel") or params.get("_existing_kernel")):
        pass  # an initrd alone is checked against the existing kernel in resolve()
    if params.get("tags") is not None:
        for tag in params["tags"]:
            if not isinstance(tag, str) or not tag or "<" in tag or "&" in tag:
                raise ValidationError("tags", "%r is not a valid tag" % (tag,), accepted="non-empty strings without < or &")
    if params.get("xml"):
        try:
            dx.parse(params["xml"])
        except ValueError as exc:
            raise ValidationError("xml", str(exc), accepted="a complete <domain> document")
    for index, disk in enumerate(params.get("disks") or []):
        _validate_disk(index, disk)
    targets = [d.get("target") for d in params.get("disks") or [] if d.get("target")]
    if len(targets) != len(set(targets)):
        raise ValidationError("disks", "two disks use the same target %s" % sorted(set(t for t in targets if targets.count(t) > 1)),
                              accepted="distinct targets")
    names = [_disk_name(i, d) for i, d in enumerate(params.get("disks") or []) if d.get("base") or (d.get("size") and not d.get("volume"))]
    if len(names) != len(set(names)):
        raise ValidationError("disks", "two disks would create the same volume name", accepted="distinct disks[].name")
    for index, nic in enumerate(params.get("networks") or []):
        _validate_nic(index, nic)
    wait = params.get("wait") or {}
    if any(wait.get(k) for k in waiters.WAIT_GOALS) and params.get("state") not in ("running",):
        raise ValidationError("wait", "waiting needs a running VM", accepted="state=running")
    for source in wait.get("ip_sources") or []:
        if source not in waiters.IP_SOURCES:
            raise ValidationError("wait.ip_sources", "unknown source %r" % source, accepted=", ".join(waiters.IP_SOURCES))
    cloud = params.get("cloud_init")
    if cloud:
        cloudinit.seed_files(name, cloud)
    return desired


def _disk_name(index, disk):
    return disk.get("name") or "disk%d" % index


def _validate_disk(index, disk):
    opt = "disks[%d]" % index
    sources = [k for k in DISK_SOURCES if disk.get(k)]
    if len(sources) > 1:
        raise ValidationError(opt, "%s are mutually exclusive" % " and ".join(sources),
                              accepted="one of base (overlay), volume (existing volume), path (existing file), or only size (new empty disk)")
    if not sources and not disk.get("size"):
        raise ValidationError(opt, "says nothing about its storage",
                              accepted="base (qcow2 overlay), volume, path, or size (new empty disk)")
    if disk.get("path") and disk.get("size"):
        raise ValidationError(opt + ".size", "cannot be combined with path", accepted="size with base, volume, or alone")
    if disk.get("size") is not None:
        if _size(disk["size"], opt + ".size", "GiB") <= 0:
            raise ValidationError(opt + ".size", "must be positive", accepted=ACCEPTED_SIZES)
    if disk.get("path") and not disk["path"].startswith("/"):
        raise ValidationError(opt + ".path", "%r is not an absolute path" % disk["path"], accepted="an absolute path on the hypervisor")
    if disk.get("target") and not re.match(r"^(vd|sd|hd|xvd)[a-z]{1,2}$", disk["target"]):
        raise ValidationError(opt + ".target", "%r is not a disk target" % disk["target"], accepted="vda, sdb, hdc ...")
    if disk.get("name") and not dx.NAME_RE.match(disk["name"]):
        raise ValidationError(opt + ".name", "%r is not a valid name" % disk["name"], accepted="letters, digits, _ . + -")
    if disk.get("base") and disk.get("format") not in (None, "qcow2"):
        raise ValidationError(opt + ".format", "an overlay is always qcow2", accepted="qcow2 (or omit)")


def _validate_nic(index, nic):
    opt = "networks[%d]" % index
    given = [k for k in ("network", "bridge") if nic.get(k)]
    if len(given) != 1:
        raise ValidationError(opt, "needs exactly one of network or bridge (got %s)" % (", ".join(given) or "neither"),
                              accepted="network: <libvirt network name> or bridge: <host bridge>")
    mac = nic.get("mac")
    if mac and not dx.MAC_RE.match(mac.lower()):
        raise ValidationError(opt + ".mac", "%r is not a MAC address" % mac, accepted="six colon-separated hex pairs, e.g. 52:54:00:12:34:56")


# --- helpers ----------------------------------------------------------------------------------

def pool_path(client, pool):
    root = dx.ET.fromstring(client.call("reading pool %s" % pool.name(), pool.XMLDesc, 0))
    node = root.find("target/path")
    return node.text if node is not None else None


class UndoStack:
    """Callables that remove what a half-finished run created (run in reverse on failure)."""

    def __init__(self):
        self.steps = []

    def push(self, description, func, *args):
        self.steps.append((description, func, args))

    def unwind(self):
        problems = []
        for description, func, args in reversed(self.steps):
            try:
                func(*args)
            except Exception as exc:  # pylint: disable=broad-except
                problems.append("%s: %s" % (description, exc))
        self.steps = []
        return problems


def _flag(name, default=0):
    return getattr(libvirt, name, default)


# --- the manager ------------------------------------------------------------------------------

class VmManager:
    """Converge one domain. ``run(params)`` returns the module result dict (never calls Ansible)."""

    def __init__(
        self,
        client: LibvirtClient,
        check_mode: bool = False,
        diff: bool = False,
        run_command: Callable[..., Any] | None = None,
    ) -> None:
        self.client = client
        self.run_command = run_command
        self.check_mode = check_mode
        # the diff is computed only when it is wanted (the create/update paths build it from the specs)
        self.diff_mode = diff
        self.params: dict[str, Any] = {}
        self.name = ""
        self.warnings: list[str] = []
        self.actions: list[str] = []

    # resolution --------------------------------------------------------------------------
    def _default_pool(self):
        return self.params.get("pool") or "default"

    def resolve_disks(self, current_spec):
        """Desired disk list (resolved to paths) and the volume plan, without changing anything."""
        plan = []
        disks = []
        pool_cache = {}

        def get_pool(name, option):
            if name not in pool_cache:
                pool = volumes.require_pool(self.client, name, option)
                pool_cache[name] = (pool, pool_path(self.client, pool))
            return pool_cache[name]

        for index, disk in enumerate(self.params.get("disks") or []):
            opt = "disks[%d]" % index
            bus = disk.get("bus") or ("sata" if disk.get("device") == "cdrom" else "virtio")
            device = disk.get("device") or "disk"
            item = {"target": disk.get("target"), "bus": bus, "device": device,
                    "readonly": bool(disk.get("readonly") if disk.get("readonly") is not None else device == "cdrom")}
            size = _size(disk["size"], opt + ".size", "GiB") if disk.get("size") is not None else None
            pool_name = disk.get("pool") or self._default_pool()
            if disk.get("base") or (size and not disk.get("volume")):
                pool, ppath = get_pool(pool_name, opt + ".pool")
                fmt = disk.get("format") or "qcow2"
                vol_name = "%s-%s.%s" % (self.name, _disk_name(index, disk), "qcow2" if fmt == "qcow2" else "img")
                existing = self.client.volume(pool, vol_name)
                create = None
                backing = None
                if disk.get("base"):
                    _bpool, bvol = volumes.resolve_volume_ref(self.client, disk["base"], disk.get("base_pool") or pool_name, opt + ".base")
                    binfo = volumes.volume_info(self.client, bvol)
                    if size is not None and size < binfo["capacity"]:
                        raise ValidationError(opt + ".size", "%s is smaller than the base volume (%s)" % (format_size(size), format_size(binfo["capacity"])),
                                              accepted="at least %s, or omit size" % format_size(binfo["capacity"]))
                    backing = binfo
                if existing is not None:
                    info = volumes.volume_info(self.client, existing)
                    item["path"] = info["path"]
                    item["format"] = info["format"] or fmt
                    if size is not None:
                        self._plan_grow(plan, opt, existing, info, size, item)
                else:
                    capacity = size or (backing["capacity"] if backing else None)
                    create = {"pool": pool, "name": vol_name, "capacity": capacity, "format": fmt,
                              "backing_path": backing["path"] if backing else None,
                              "backing_format": backing["format"] if backing else None}
                    item["path"] = (ppath.rstrip("/") + "/" + vol_name) if ppath else vol_name
                    item["format"] = fmt
                    if size is not None:
                        item["size"] = size
                    plan.append(dict(action="create_volume", option=opt, **create))
            elif disk.get("volume"):
                _pool, vol = volumes.resolve_volume_ref(self.client, disk["volume"], pool_name, opt + ".volume")
                info = volumes.volume_info(self.client, vol)
                item["path"] = info["path"]
                item["format"] = disk.get("format") or info["format"] or "raw"
                if size is not None:
                    self._plan_grow(plan, opt, vol, info, size, item)
            else:
                item["path"] = disk["path"]
                fmt = disk.get("format")
                if fmt is None:
                    vol = self.client.volume_by_path(disk["path"])
                    fmt = volumes.volume_info(self.client, vol)["format"] if vol is not None else None
                item["format"] = fmt or "raw"
            disks.append(item)
        return disks, plan

    def _plan_grow(self, plan, opt, vol, info, size, item):
        capacity = info["capacity"]
        if size < capacity and capacity - size >= 1024 * 1024:
            raise ValidationError(opt + ".size", "%s is smaller than the volume's current %s; disks only grow" % (format_size(size), format_size(capacity)),
                                  accepted="at least %s" % format_size(capacity))
        item["size"] = max(size, capacity)
        if size > capacity:
            plan.append({"action": "grow_volume", "option": opt, "vol": vol, "from": capacity, "to": size,
                         "path": info["path"]})

    def resolve_networks(self):
        nics = []
        for index, nic in enumerate(self.params.get("networks") or []):
            if nic.get("network"):
                if self.client.network(nic["network"]) is None:
                    names = sorted(n.name() for n in self.client.networks())
                    raise ValidationError("networks[%d].network" % index, "libvirt network %r does not exist" % nic["network"],
                                          accepted=", ".join(names) or "no networks defined")
                item = {"type": "network", "source": nic["network"]}
            else:
                item = {"type": "bridge", "source": nic["bridge"]}
            item["model"] = nic.get("model") or "virtio"
            item["mac"] = nic["mac"].lower() if nic.get("mac") else None
            nics.append(item)
        return nics

    def resolve_seed(self, disks, current_spec, plan):
        cloud = self.params.get("cloud_init")
        if not cloud:
            return None
        files = cloudinit.seed_files(self.name, cloud)
        sha = cloudinit.seed_sha256(files)
        pool_name = cloud.get("pool") or self._default_pool()
        pool = volumes.require_pool(self.client, pool_name, "cloud_init.pool")
        vol_name = "%s-cidata.iso" % self.name
        existing = self.client.volume(pool, vol_name)
        ppath = pool_path(self.client, pool)
        path = existing.path() if existing is not None else (ppath.rstrip("/") + "/" + vol_name)
        if existing is None or (current_spec or {}).get("cloud_init_sha256") != sha:
            if cloudinit.find_iso_tool() is None:
                raise ValidationError("cloud_init", "no ISO tool found on the controller", accepted="install genisoimage, mkisofs or xorriso")
            plan.append({"action": "seed", "option": "cloud_init", "pool": pool, "name": vol_name, "files": files,
                         "existing": existing, "path": path})
        disks.append({"target": None, "bus": "virtio", "device": "disk", "format": "raw", "path": path, "readonly": True})
        return sha

    def desired_spec(self, scalars, current_spec):
        desired = dict(scalars)
        plan = []
        disks = None
        if self.params.get("disks") is not None or self.params.get("cloud_init"):
            if self.params.get("disks") is None:
                # keep the existing non-seed disks when only cloud_init is managed
                disks = [dict(d) for d in (current_spec or {}).get("disks", []) if not (d.get("path") or "").endswith("-cidata.iso")]
            else:
                disks, plan = self.resolve_disks(current_spec)
            seed_sha = self.resolve_seed(disks, current_spec, plan)
            if seed_sha:
                desired["cloud_init_sha256"] = seed_sha
            disks = dx.assign_targets(disks)
            desired["disks"] = disks
        if self.params.get("networks") is not None:
            desired["networks"] = self.resolve_networks()
        if self.params.get("xml"):
            desired["template_sha256"] = hashlib.sha256(self.params["xml"].encode("utf-8")).hexdigest()
        for option in ("initrd", "cmdline"):
            if desired.get(option) and not (desired.get("kernel") or (current_spec or {}).get("kernel")):
                raise ValidationError(option, "only applies to direct kernel boot and no kernel is set", accepted="kernel together with %s" % option)
        return desired, plan

    # main entry ------------------------------------------------------------------------------
    def run(self, params: dict[str, Any]) -> dict[str, Any]:
        # the per-run state: the methods below read the params and add to the actions and warnings
        self.params = params
        self.name = params["name"]
        self.warnings = []
        self.actions = []
        try:
            return self._run()
        except guard.Interrupted as exc:
            # what was done before the signal (a half-made VM has been undone; the message says so)
            exc.details.update(changed=bool(self.actions), actions=list(self.actions))
            raise

    def _run(self):
        params = self.params
        state = params.get("state") or "present"
        scalars = validate_params(params)
        wait = params.get("wait") or {}
        if wait.get("ssh") and wait.get("ssh_via") == "hypervisor":
            try:
                waiters.hypervisor_ssh(self.client.uri)
            except ValueError as exc:
                raise ValidationError("wait.ssh_via", str(exc), accepted="controller, or hypervisor with a DRIVER+ssh:// URI")
        dom = self.client.domain(self.name)
        if state == "absent":
            return self.remove(dom)
        current_spec = None
        current_xml = None
        if dom is not None:
            current_xml = self.client.call("reading %s" % self.name, dom.XMLDesc,
                                           libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
            current_spec = dx.xml_to_spec(current_xml)
        desired, plan = self.desired_spec(scalars, current_spec)
        if dom is None:
            return self.create(desired, plan)
        return self.update(dom, current_xml, current_spec, desired, plan)

    # create ------------------------------------------------------------------------------------
    def create(self, desired, plan):
        params = self.params
        state = params.get("state") or "present"
        full = dict(dx.CREATE_DEFAULTS)
        full.update(dict((k, v) for k, v in desired.items() if v is not None))
        full["managed"] = True
        if full.get("domain_type") == "qemu" and "tb_cache" not in desired and not params.get("xml"):
            full["tb_cache"] = 256
        if full.get("console") and "console_log" not in desired and self.client.is_local() and not self.client.uri.startswith("test:"):
            full["console_log"] = "/var/log/libvirt/qemu/%s-console.log" % self.name
        if params.get("max_memory") is None:
            full["max_memory"] = full["memory"]
        if params.get("max_vcpus") is None:
            full["max_vcpus"] = full["vcpus"]
        root = dx.new_domain_root(self.name, params.get("xml"))
        dx.apply_spec(root, full)
        dx.add_hotplug_ports(root)
        after_spec = self._annotate_sizes(dx.xml_to_spec(root), desired)
        autostart = bool(params.get("autostart"))
        final_state = {"present": "stopped", "absent": "absent"}.get(state, state)
        result = {"changed": True, "created": True, "restart_required": False, "changes": ["created"]}
        if self.diff_mode:
            after = dx.view(after_spec)
            after.update({"state": final_state, "autostart": autostart})
            result["diff"] = make_diff({"state": "absent"}, after)
        if self.check_mode:
            vm = dx.view(after_spec)
            vm.update({"state": final_state, "autostart": autostart, "uuid": None, "managed": True})
            result["vm"] = vm
            result["actions"] = [self._describe(step) for step in plan] + ["define", final_state]
            return result
        undo = UndoStack()
        owned = []
        try:
            self._execute_plan(plan, undo, owned, running=False)
            dx.write_owned_volumes(root, owned)
            xml = dx.to_string(root)
            guard.check("defining %s" % self.name)
            dom = self.client.call("defining %s" % self.name, self.client.conn.defineXML, xml)
            undo.push("undefine %s" % self.name, self._undefine, dom)
            self.actions.append("define")
            if autostart:
                self.client.call("setting autostart of %s" % self.name, dom.setAutostart, 1)
            self._converge_state(dom, state)
        except Exception as exc:
            problems = undo.unwind()
            if isinstance(exc, FleetError):
                # libvirt's messages may end with a newline (qemu-img's output)
                exc.msg = exc.msg.rstrip()
                if problems:
                    exc.msg += " (cleanup of the half-made VM also failed: %s)" % "; ".join(problems)
                else:
                    exc.msg += " (nothing was left behind)"
            raise
        result["actions"] = self.actions
        self._finish(dom, result)
        return result

    def _undefine(self, dom):
        try:
            if dom.isActive():
                dom.destroy()
        except Exception:  # pylint: disable=broad-except
            pass
        self._undefine_flags(dom)

    # update -------------------------------------------------------------------------------------
    def update(self, dom, current_xml, current_spec, desired, plan):
        params = self.params
        state = params.get("state") or "present"
        for disk in current_spec["disks"]:
            if disk.get("path") and disk["path"].startswith("/") and any(d.get("size") for d in desired.get("disks") or []):
                vol = self.client.volume_by_path(disk["path"])
                if vol is not None:
                    disk["size"] = int(vol.info()[1])
        # a VM without the collection's ownership metadata is only read, unless adopt=true takes it over
        foreign = not current_spec["managed"]
        adopting = foreign and bool(params.get("adopt"))
        if adopting:
            desired = dict(desired, managed=True, adopted=True)
        changes = dx.compare(current_spec, desired)
        if adopting:
            changes = [c for c in changes if c != "managed"]
        volume_steps = [s for s in plan if s["action"] in ("grow_volume", "seed", "create_volume")]
        cur_state = domain_state(self.client, dom)
        autostart_now = bool(dom.autostart())
        autostart = params.get("autostart")
        if autostart is not None and bool(autostart) != autostart_now:
            changes.append("autostart")
        if any(s["action"] == "seed" for s in plan) and "cloud_init_sha256" not in changes:
            changes.append("cloud_init_sha256")
        active = cur_state in ("running", "paused")
        restart_keys = []
        if active:
            restart_keys = self._predict_restart(dom, changes, desired)
        final_state = self._final_state(state, cur_state)
        state_change = final_state != cur_state
        restart = bool(restart_keys) and params.get("restart") == "allowed" and final_state in ("running", "paused")
        result = {
            "changed": bool(changes or volume_steps or state_change or restart),
            "created": False,
            "changes": changes,
            "restart_required": bool(restart_keys) and not restart,
            "restart_required_for": restart_keys,
        }
        if foreign and not adopting and result["changed"]:
            raise ValidationError("adopt", "VM %r was not created by hybridops.fleet (no ownership metadata), so it is only "
                                  "read; this task would change %s" % (self.name, ", ".join(
                                      changes + [self._describe(s) for s in volume_steps]
                                      + (["state %s -> %s" % (cur_state, final_state)] if state_change else []))),
                                  accepted="adopt: true to take it over (adds only the ownership metadata), or options "
                                           "that match the VM as it is")
        if "template_sha256" in changes:
            new_xml = dx.rebase_on_template(params["xml"], current_xml, self.name, desired)
        else:
            new_xml = dx.update_xml(current_xml, desired)
        after_spec = self._annotate_sizes(dx.xml_to_spec(new_xml), desired)
        if self.diff_mode:
            before = dx.view(current_spec)
            before.update({"state": cur_state, "autostart": autostart_now})
            after = dx.view(after_spec)
            after.update({"state": final_state, "autostart": autostart_now if autostart is None else bool(autostart)})
            if adopting:
                # the ownership marker is bookkeeping, hidden from other diffs: adoption shows it
                before.update({"managed": False, "adopted": bool(current_spec.get("adopted"))})
                after.update({"managed": True, "adopted": True})
            result["diff"] = make_diff(before, after)
        if self.check_mode:
            vm = dx.view(after_spec)
            vm.update({"state": final_state, "uuid": dom.UUIDString(), "managed": after_spec["managed"],
                       "adopted": after_spec["adopted"],
                       "autostart": autostart_now if autostart is None else bool(autostart)})
            result["vm"] = vm
            adopt_only = adopting and changes == ["adopted"] and not plan
            result["actions"] = [self._describe(s) for s in plan] + (
                ["adopt"] if adopt_only else (["define"] if changes else [])) + (["restart"] if restart else [])
            if state_change:
                result["actions"].append(final_state)
            return result
        undo = UndoStack()
        owned = dx.read_owned_volumes(dx.parse(current_xml))
        try:
            self._execute_plan(plan, undo, owned, running=active)
            xml_changes = [c for c in changes if c != "autostart"]
            if adopting and xml_changes == ["adopted"] and not plan:
                self._adopt(dom, new_xml, active)
            elif xml_changes or len(owned) != len(dx.read_owned_volumes(dx.parse(current_xml))):
                root = dx.parse(new_xml)
                dx.write_owned_volumes(root, owned)
                self.client.call("redefining %s" % self.name, self.client.conn.defineXML, dx.to_string(root))
                self.actions.append("define")
        except Exception as exc:
            problems = undo.unwind()
            if problems and isinstance(exc, FleetError):
                exc.msg += " (cleanup also failed: %s)" % "; ".join(problems)
            raise
        if "autostart" in changes:
            self.client.call("setting autostart of %s" % self.name, dom.setAutostart, 1 if autostart else 0)
        if adopting and "adopt" in self.actions:
            changes_live = [c for c in changes if c != "adopted"]  # the marker is already on the running VM
        else:
            changes_live = changes
        if active and changes_live:
            failed = self._apply_live(dom, changes_live, desired)
            for key in failed:
                if key not in restart_keys:
                    restart_keys.append(key)
            result["restart_required_for"] = restart_keys
            result["restart_required"] = bool(restart_keys) and not restart
        if restart and restart_keys:
            self._shutdown(dom)
            self.client.call("starting %s" % self.name, dom.create)
            self.actions.append("restart")
            result["restart_required"] = False
            result["restarted"] = True
        self._converge_state(dom, state)
        result["actions"] = self.actions
        self._finish(dom, result)
        return result

    def _adopt(self, dom, new_xml, active):
        """Put only the ownership element into the VM's metadata (libvirt's setMetadata changes nothing else),
        in its persistent definition and, when it runs, in the live one."""
        flags = 0
        if dom.isPersistent():
            flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if active:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        meta = dx.fleet_metadata_element_xml(dx.parse(new_xml))
        guard.check("adopting %s" % self.name)
        self.client.call("adding the ownership metadata to %s" % self.name, dom.setMetadata,
                         libvirt.VIR_DOMAIN_METADATA_ELEMENT, meta, dx.FLEET_PREFIX, dx.FLEET_NS, flags)
        self.actions.append("adopt")

    @staticmethod
    def _annotate_sizes(spec, desired):
        """Requested disk sizes are not in the XML: carry them into the predicted spec by target."""
        sizes = dict((d["target"], d["size"]) for d in desired.get("disks") or [] if d.get("size"))
        for disk in spec.get("disks") or []:
            if disk.get("target") in sizes:
                disk["size"] = sizes[disk["target"]]
        return spec

    def _final_state(self, state, cur_state):
        if state == "present":
            return cur_state
        return state

    def _predict_restart(self, dom, changes, desired):
        """Changed keys that a running domain cannot take live (same rules as _apply_live)."""
        live_xml = self.client.call("reading %s" % self.name, dom.XMLDesc, 0)
        live = dx.xml_to_spec(live_xml)
        keys = []
        # a change saved by an earlier run but not yet live is still pending
        pending = [k for k in dx.compare(live, desired) if k not in changes and dx.live_class(k) == "restart"]
        for key in list(changes) + pending:
            if key in ("autostart",) or key == "cloud_init_sha256":
                continue
            cls = dx.live_class(key)
            if cls == "meta":
                continue
            if cls == "restart" or not self.params.get("live", True):
                keys.append(key)
            elif key == "memory" and desired["memory"] > (live.get("max_memory") or 0):
                keys.append(key)
            elif key == "vcpus" and desired["vcpus"] > (live.get("max_vcpus") or 0):
                keys.append(key)
            elif key == "disks" and self._list_needs_restart(live["disks"], desired["disks"], by="target"):
                keys.append(key)
            elif key == "networks" and self._list_needs_restart(live["networks"], desired["networks"], by="index"):
                keys.append(key)
        return keys

    @staticmethod
    def _list_needs_restart(live_items, wanted, by):
        """True when an existing item is modified (add/remove alone are hot-pluggable)."""
        if by == "target":
            live_map = dict((d["target"], d) for d in live_items)
            for disk in wanted:
                old = live_map.get(disk["target"])
                if old is not None and not dx._item_matches(old, dict((k, v) for k, v in disk.items() if k != "size")):
                    return True
            return False
        for old, new in zip(live_items, wanted):
            if not dx._item_matches(old, new):
                return True
        return False

    def _apply_live(self, dom, changes, desired):
        """Apply hot and meta changes to the running domain; returns keys that could not be applied."""
        live_flag = libvirt.VIR_DOMAIN_AFFECT_LIVE
        failed = []
        if not self.params.get("live", True):
            return failed
        live = dx.xml_to_spec(self.client.call("reading %s" % self.name, dom.XMLDesc, 0))
        for key in changes:
            try:
                if key == "memory" and desired["memory"] <= (live.get("max_memory") or 0):
                    self.client.call("changing memory of %s" % self.name, dom.setMemoryFlags, desired["memory"] * 1024, live_flag)
                elif key == "vcpus" and desired["vcpus"] <= (live.get("max_vcpus") or 0):
                    self.client.call("changing vCPUs of %s" % self.name, dom.setVcpusFlags, desired["vcpus"], live_flag)
                elif key == "disks":
                    self._hotplug_disks(dom, live["disks"], desired["disks"])
                elif key == "networks":
                    self._hotplug_nics(dom, live["networks"], desired["networks"])
                elif dx.live_class(key) == "meta":
                    self._set_live_metadata(dom)
                else:
                    continue
                self.actions.append("live:%s" % key)
            except BackendError as exc:
                self.warnings.append("could not apply %s to the running VM (%s); it takes effect after a restart" % (key, exc.msg))
                failed.append(key)
        return failed

    def _hotplug_disks(self, dom, live_disks, wanted):
        flag = libvirt.VIR_DOMAIN_AFFECT_LIVE
        wanted_targets = set(d["target"] for d in wanted)
        live_root = dx.parse(dom.XMLDesc(0))
        for node in live_root.findall("devices/disk"):
            target = node.find("target")
            if target is not None and target.get("dev") not in wanted_targets:
                self.client.call("detaching disk %s from %s" % (target.get("dev"), self.name),
                                 dom.detachDeviceFlags, dx.ET.tostring(node, encoding="unicode"), flag)
        live_targets = set(d["target"] for d in live_disks)
        for disk in wanted:
            if disk["target"] not in live_targets:
                self.client.call("attaching disk %s to %s" % (disk["target"], self.name),
                                 dom.attachDeviceFlags, dx.disk_xml(disk), flag)

    def _hotplug_nics(self, dom, live_nics, wanted):
        flag = libvirt.VIR_DOMAIN_AFFECT_LIVE
        live_root = dx.parse(dom.XMLDesc(0))
        nodes = live_root.findall("devices/interface")
        for node in nodes[len(wanted):]:
            self.client.call("detaching an interface from %s" % self.name, dom.detachDeviceFlags,
                             dx.ET.tostring(node, encoding="unicode"), flag)
        persistent = dx.xml_to_spec(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))["networks"]
        for index in range(len(live_nics), len(wanted)):
            nic = dict(wanted[index])
            if not nic.get("mac") and index < len(persistent):
                nic["mac"] = persistent[index]["mac"]
            self.client.call("attaching an interface to %s" % self.name, dom.attachDeviceFlags, dx.nic_xml(nic), flag)

    def _set_live_metadata(self, dom):
        flag = libvirt.VIR_DOMAIN_AFFECT_LIVE
        root = dx.parse(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        description = dx.FIELD_MAP["description"].read(root)
        self.client.call("setting description of %s" % self.name, dom.setMetadata,
                         libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, description or None, None, None, flag)
        meta = dx.fleet_metadata_element_xml(root)
        if meta:
            self.client.call("setting metadata of %s" % self.name, dom.setMetadata,
                             libvirt.VIR_DOMAIN_METADATA_ELEMENT, meta, dx.FLEET_PREFIX, dx.FLEET_NS, flag)

    # volume plan ----------------------------------------------------------------------------------
    def _describe(self, step):
        if step["action"] == "create_volume":
            return "create volume %s (%s%s)" % (step["name"], format_size(step["capacity"]),
                                                ", overlay on %s" % step["backing_path"] if step.get("backing_path") else "")
        if step["action"] == "grow_volume":
            return "grow %s from %s to %s" % (step["path"], format_size(step["from"]), format_size(step["to"]))
        return "write cloud-init seed %s" % step["name"]

    def _execute_plan(self, plan, undo, owned, running):
        for step in plan:
            guard.check(self._describe(step))
            if step["action"] == "create_volume":
                vol = volumes.create_volume(self.client, step["pool"], step["name"], step["capacity"], step["format"],
                                            step.get("backing_path"), step.get("backing_format"))
                undo.push("delete volume %s" % step["name"], volumes.delete_volume, self.client, vol)
                owned.append(vol.path())
            elif step["action"] == "grow_volume":
                target = None
                if running:
                    target = self._target_of(step["path"])
                if target:
                    self.client.call("growing disk %s of %s" % (target, self.name), self.client.domain(self.name).blockResize,
                                     target, step["to"], libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
                else:
                    volumes.resize_volume(self.client, step["vol"], step["to"])
            elif step["action"] == "seed":
                self._write_seed(step, undo, owned)
            self.actions.append(self._describe(step))

    def _target_of(self, path):
        dom = self.client.domain(self.name)
        if dom is None or not dom.isActive():
            return None
        for disk in dx.read_disks(dx.parse(dom.XMLDesc(0))):
            if disk.get("path") == path:
                return disk["target"]
        return None

    def _write_seed(self, step, undo, owned):
        if self.run_command is None:
            raise BackendError("cloud_init: no command runner to build the seed ISO with")
        iso = cloudinit.build_iso(step["files"], self.run_command)
        try:
            if step.get("existing") is not None:
                volumes.delete_volume(self.client, step["existing"])
            vol = volumes.upload_file(self.client, step["pool"], step["name"], iso, "raw")
            if step.get("existing") is None:
                undo.push("delete volume %s" % step["name"], volumes.delete_volume, self.client, vol)
            owned.append(vol.path())
        finally:
            shutil.rmtree(os.path.dirname(iso), ignore_errors=True)

    # power state ---------------------------------------------------------------------------------
    def _converge_state(self, dom, state):
        cur = domain_state(self.client, dom)
        if state == "running":
            if cur == "paused":
                self.client.call("resuming %s" % self.name, dom.resume)
                self.actions.append("resume")
            elif cur != "running":
                self.client.call("starting %s" % self.name, dom.create)
                self.actions.append("start")
        elif state == "paused":
            if cur not in ("running", "paused"):
                self.client.call("starting %s" % self.name, dom.create)
                self.actions.append("start")
                cur = "running"
            if cur == "running":
                self.client.call("pausing %s" % self.name, dom.suspend)
                self.actions.append("pause")
        elif state == "stopped":
            if cur in ("running", "paused", "pmsuspended", "shutdown", "crashed"):
                self._shutdown(dom)

    def _shutdown(self, dom):
        """Graceful shutdown, then destroy after ``shutdown_timeout`` seconds. Returns how it ended."""
        timeout = self.params.get("shutdown_timeout")
        timeout = 120 if timeout is None else timeout
        if not dom.isActive():
            return "already off"
        cur = domain_state(self.client, dom)
        if cur != "paused" and timeout > 0:
            try:
                dom.shutdown()
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    if not dom.isActive():
                        self.actions.append("shutdown")
                        return "shutdown"
                    time.sleep(1)
            except libvirt.libvirtError:
                pass
        if dom.isActive():
            self.client.call("destroying %s" % self.name, dom.destroy)
            self.actions.append("destroy")
            if timeout > 0 and cur != "paused":
                self.warnings.append("%s did not shut down within %ss; it was powered off" % (self.name, timeout))
        return "destroy"

    def _finish(self, dom, result):
        params = self.params
        wait = params.get("wait") or {}
        if params.get("state") == "running" and any(wait.get(k) for k in waiters.WAIT_GOALS):
            # a signal ends the wait at once (the VM is left as converged)
            result["wait"] = waiters.wait_for_guest(self.client, dom, wait, sleep=guard.sleep)
        result["vm"] = vm_facts(self.client, dom)
        if self.warnings:
            result["warnings"] = self.warnings

    # absent ------------------------------------------------------------------------------------------
    def _undefine_flags(self, dom):
        flags = (_flag("VIR_DOMAIN_UNDEFINE_MANAGED_SAVE") | _flag("VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA")
                 | _flag("VIR_DOMAIN_UNDEFINE_NVRAM") | _flag("VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA"))
        try:
            dom.undefineFlags(flags)
        except libvirt.libvirtError:
            self.client.call("undefining %s" % self.name, dom.undefine)

    def remove(self, dom):
        params = self.params
        if dom is None:
            return {"changed": False, "vm": {"name": self.name, "state": "absent"}, "removed_volumes": [],
                    "diff": make_diff({"state": "absent"}, {"state": "absent"})} if self.diff_mode else \
                {"changed": False, "vm": {"name": self.name, "state": "absent"}, "removed_volumes": []}
        xml = self.client.call("reading %s" % self.name, dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)
        root = dx.parse(xml)
        spec = dx.xml_to_spec(root)
        dx.require_owned(spec["managed"], "VM", self.name, params.get("force"))
        to_remove = []
        if params.get("remove_storage"):
            owned = dx.read_owned_volumes(root)
            for disk in spec["disks"]:
                path = disk.get("path") or ""
                if path.startswith("/") and (not disk.get("readonly") or path in owned) and disk.get("device") != "cdrom":
                    to_remove.append(path)
            for path in owned:
                if path not in to_remove:
                    to_remove.append(path)
        state = domain_state(self.client, dom)
        result = {"changed": True, "removed_volumes": to_remove, "vm": {"name": self.name, "state": "absent"}}
        if self.diff_mode:
            before = dx.view(spec)
            before["state"] = state
            result["diff"] = make_diff(before, {"state": "absent"})
        if self.check_mode:
            return result
        persistent = bool(dom.isPersistent())
        if dom.isActive():
            if persistent:
                self._shutdown(dom)
            else:
                self.client.call("destroying %s" % self.name, dom.destroy)  # a transient domain vanishes
                self.actions.append("destroy")
        if persistent:
            self._undefine_flags(dom)
            self.actions.append("undefine")
        removed = []
        for path in to_remove:
            vol = self.client.volume_by_path(path)
            if vol is None:
                continue
            volumes.delete_volume(self.client, vol)
            removed.append(path)
        result["removed_volumes"] = removed
        result["actions"] = self.actions
        if self.warnings:
            result["warnings"] = self.warnings
        return result


__all__ = ["VmManager", "validate_params", "STATES"]
