# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout_summary filter (documented in rollout_summary.yml beside this file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.hybridops.fleet.plugins.module_utils._docker.rollout import IMAGE_LABEL, ROLLOUT_LABEL


def _serving(info: Mapping[str, Any] | None, wanted: set[str] | None) -> dict[str, str]:
    """{service: image reference} of the running rollout containers in a container_info result (of the services
    ``wanted`` only, when given)."""
    services = {}
    for container in (info or {}).get("containers") or []:
        labels = container.get("labels") or {}
        if container.get("running") and labels.get(ROLLOUT_LABEL) and (wanted is None or labels[ROLLOUT_LABEL] in wanted):
            services[labels[ROLLOUT_LABEL]] = labels.get(IMAGE_LABEL) or container.get("image") or ""
    return services


def _containers(info: Mapping[str, Any] | None, services: Mapping[str, str]) -> list[str]:
    """The names of the containers of the summarised services, in any state (a failed rollout leaves none)."""
    return sorted(c.get("name") or "" for c in (info or {}).get("containers") or []
                  if (c.get("labels") or {}).get(ROLLOUT_LABEL) in services)


def _status(rollouts: Mapping[str, Any] | None, failure: str | None) -> str:
    if failure:
        return "failed"
    if rollouts is None:
        return "not reached"
    results = rollouts.get("results") or []
    return "rolled out" if any(r.get("rolled_out") for r in results) else "unchanged"


def rollout_summary(hosts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Which host runs which version after a rollout in batches, from each host's variables."""
    if not isinstance(hosts, list):
        raise AnsibleFilterError("rollout_summary: expects a list of host variables, got %s" % type(hosts).__name__)
    summary: dict[str, Any] = {"hosts": {}, "versions": {}, "failed": [], "not_reached": [], "lines": []}
    for host in hosts:
        name = host.get("inventory_hostname")
        failure = host.get("fleet_rollout_failure")
        status = _status(host.get("container_deploy_rollouts"), failure)
        listed = host.get("container_deploy_proxy_services")
        services = _serving(host.get("fleet_rollout_serving"),
                            set(item.get("name") for item in listed) if isinstance(listed, list) else None)
        summary["hosts"][name] = {"status": status, "services": services, "reason": failure,
                                  "containers": _containers(host.get("fleet_rollout_serving"), services)}
        if status == "failed":
            summary["failed"].append(name)
        elif status == "not reached":
            summary["not_reached"].append(name)
        for service, image in services.items():
            summary["versions"].setdefault(service, {}).setdefault(image, []).append(name)
        versions = ", ".join("%s %s" % (s, i) for s, i in sorted(services.items())) or "no service"
        summary["lines"].append("%s: %s (%s)%s" % (name, status, versions, ": " + failure if failure else ""))
    return summary


class FilterModule:
    def filters(self):
        return {"rollout_summary": rollout_summary}
