#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_report
short_description: Write a report of a VM and container fleet as JSON, Markdown and a self-contained HTML page
version_added: 0.1.0
description:
  - Turns facts collected from hypervisors, VMs and the Docker engines inside them into one report model
    (schema C(hybridops.fleet/report/v1), documented in the collection's C(docs/report.md)) and writes it as
    JSON, Markdown and one HTML page with inline SVG charts (no script, no external resource of any kind).
  - The report shows each hypervisor's capacity and the memory and vCPUs allocated to its VMs; each VM's
    allocation, the memory used inside the guest, its load, its Docker engine and its containers with their
    memory and CPU use and limits; totals per layer; VMs that run no containers; services that could move into
    containers (from M(hybridops.fleet.vm_discover)); and which VMs could be freed if their containers were
    packed onto fewer VMs (first-fit decreasing, with the arithmetic shown).
  - Runs where it is called (usually the controller, with C(delegate_to) V(localhost)); it reads no facts itself.
    The role C(hybridops.fleet.fleet_report) collects the facts and calls this module.
  - The report holds no timestamp, so the same facts give the same files; a file is rewritten only when its
    bytes differ, atomically (temporary file and rename), with mode 0600 (reports show command lines and
    addresses; keep them private). A file with the same bytes but another mode is only made 0600.
author:
  - hybridops.fleet developers (@hybridops)
attributes:
  check_mode:
    description: Reads the existing files and predicts C(changed) exactly; writes nothing.
    support: full
  diff_mode:
    description: The report model before (read from the existing JSON file) and after.
    support: full
options:
  hypervisors:
    description:
      - One entry per libvirt URI, as M(hybridops.fleet.libvirt_vm_info) returns them in RV(hybridops.fleet.libvirt_vm_info#module:hosts).
      - Keys C(uri) (required), C(hostname), C(cpus) (int), C(memory_mib) (int), C(cpu_model), C(libvirt_version).
        Unknown keys are ignored.
    type: list
    elements: dict
    required: true
  vms:
    description:
      - VMs exactly as M(hybridops.fleet.libvirt_vm_info) returns them in RV(hybridops.fleet.libvirt_vm_info#module:vms)
        (C(name), C(uri), C(uuid), C(state), C(memory) in MiB, C(vcpus), C(tags), C(managed), C(ip), ...).
        Unknown keys are ignored.
    type: list
    elements: dict
    required: true
  unreachable_hypervisors:
    description:
      - Hypervisors that were asked and did not answer, as M(hybridops.fleet.libvirt_vm_info) returns them in
        RV(hybridops.fleet.libvirt_vm_info#module:unreachable_hypervisors) (keys C(uri), required, and C(error)).
      - The report lists them in C(findings.unreachable_hypervisors) and says in its summary that their VMs are
        missing, so a report made while a hypervisor was down does not pass for the whole fleet.
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
  guests:
    description:
      - VM name -> what was gathered inside that VM over SSH, a dict with C(reachable) (bool), C(error) (str or null),
        C(engine) (the C(engine) of M(hybridops.fleet.container_info) or null), C(containers) (its C(containers)
        gathered with C(details=true) and C(stats=true)), C(meminfo) (text of C(/proc/meminfo)), C(nproc) (int),
        C(loadavg) (text of C(/proc/loadavg)), C(discovery) (the registered result of
        M(hybridops.fleet.vm_discover) or null).
      - A VM missing here, or not reachable, is reported as not inspected.
      - Container environments are never copied into the report; proposed container specs lose their C(env)
        (only the variable names are kept).
    type: dict
    default: {}
  dest:
    description:
      - Directory to write the files into; created (mode 0700) when missing, inside an existing directory (parents
        are not created). An existing directory keeps its mode.
      - When writing fails in a directory the module created, the directory is removed again.
    type: path
    required: true
  basename:
    description:
      - File name without extension; the files are C(<basename>.json), C(<basename>.md), C(<basename>.html).
      - At most 250 bytes, without V(/) or control characters, not starting with V(-) or V(.).
    type: str
    default: fleet-report
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, markdown, html]
    default: [json, markdown, html]
  title:
    description: Title of the report.
    type: str
    default: Fleet report
  vm_capacity_mib:
    description:
      - Memory in MiB of the VMs that containers would be packed into, for the consolidation estimate.
      - When omitted, each VM hosting containers offers its own memory (C(MemTotal) of the guest).
    type: int
  headroom_percent:
    description:
      - Share of each VM's memory kept free for the guest OS, the engine and growth when packing containers
        (0 to 90).
    type: int
    default: 20
notes:
  - "Consolidation rule: a container needs max(memory used, memory limit or 0) MiB; containers are placed
    largest first into the first VM (largest usable capacity first) with room; usable capacity is the VM's
    capacity x (100 - O(headroom_percent)) / 100."
seealso:
  - module: hybridops.fleet.libvirt_vm_info
  - module: hybridops.fleet.container_info
  - module: hybridops.fleet.vm_discover
'''

EXAMPLES = r'''
- name: Write the fleet report on the controller
  hybridops.fleet.fleet_report:
    hypervisors: "{{ hv_info.hosts }}"
    vms: "{{ hv_info.vms }}"
    guests: "{{ guest_facts }}"
    dest: /srv/reports/fleet
  delegate_to: localhost
  run_once: true
  register: report

- name: Only the HTML page, packing into 4 GiB VMs with 25% headroom
  hybridops.fleet.fleet_report:
    hypervisors:
      - uri: qemu:///system
        hostname: hv1
        cpus: 16
        memory_mib: 65536
    vms: "{{ hv_info.vms }}"
    dest: "{{ playbook_dir }}/reports"
    basename: fleet
    formats: [html]
    title: Production fleet
    vm_capacity_mib: 4096
    headroom_percent: 25
  delegate_to: localhost

- name: VMs that could be freed
  ansible.builtin.debug:
    msg: "{{ report.report.consolidation.sentence }}"
'''

RETURN = r'''
report:
  description: The report model (schema C(hybridops.fleet/report/v1)); the JSON file holds the same data.
  returned: always
  type: dict
  contains:
    schema:
      description: Schema name and version.
      type: str
      sample: hybridops.fleet/report/v1
    title:
      description: Title of the report.
      type: str
    hypervisors:
      description: Hypervisors sorted by URI, with capacity, their VMs and the memory and vCPUs allocated to running VMs.
      type: list
      elements: dict
    vms:
      description:
        - VMs sorted by name, each with its allocation (C(memory_mib), C(vcpus)), C(state), C(ip), C(inspected),
          C(guest) (memory used, load), C(engine), C(containers) and C(services).
      type: list
      elements: dict
    totals:
      description: Totals of the hypervisor, VM and container layers.
      type: dict
    findings:
      description: Not inspected VMs, containers per VM, VMs without containers, migratable services,
        unhealthy containers, consolidation candidates, hypervisors that did not answer.
      type: dict
    consolidation:
      description: The packing estimate with its inputs, placement, VMs needed and VMs that could be freed, and
        C(sentence), the arithmetic in words.
      type: dict
    summary:
      description: The findings as sentences.
      type: list
      elements: str
  sample:
    schema: hybridops.fleet/report/v1
    title: Fleet report
    consolidation:
      vms_needed: 1
      freed_vms: [web2]
files:
  description: Format -> path of the file written (or that would be written in check mode).
  returned: always
  type: dict
  sample:
    json: /srv/reports/fleet/fleet-report.json
    markdown: /srv/reports/fleet/fleet-report.md
    html: /srv/reports/fleet/fleet-report.html
changed_files:
  description: Paths whose content differed and were (or in check mode would be) rewritten.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    FleetError,
    fail_from_error,
    fail_unexpected,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._report.runner import FORMATS, run_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hypervisors=dict(type="list", elements="dict", required=True),
            vms=dict(type="list", elements="dict", required=True),
            guests=dict(type="dict", default={}),
            unreachable_hypervisors=dict(type="list", elements="dict", default=[]),
            dest=dict(type="path", required=True),
            basename=dict(type="str", default="fleet-report"),
            formats=dict(type="list", elements="str", choices=list(FORMATS), default=list(FORMATS)),
            title=dict(type="str", default="Fleet report"),
            vm_capacity_mib=dict(type="int"),
            headroom_percent=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    try:
        result = run_report(module.params, check_mode=module.check_mode, diff_mode=module._diff)
    except FleetError as exc:
        fail_from_error(module, exc, changed=False)
    except Exception as exc:  # pylint: disable=broad-except
        fail_unexpected(module, exc, changed=False)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
