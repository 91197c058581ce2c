# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Glue between AnsibleModule and the libvirt managers (shared by every libvirt_* module)."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import (
    FleetError,
    fail_from_error,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._libvirt.client import (
    HAS_LIBVIRT,
    LIBVIRT_IMPORT_ERROR,
    LibvirtClient,
    error_message,
    libvirt,
)

URI_ARG = dict(type="str", default="qemu:///system")


def run_with_client(module, func, uri=None):
    """Open the connection, call ``func(client)``, exit_json/fail_json with its result."""
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)
    try:
        with LibvirtClient(uri or module.params["uri"]) as client:
            result = func(client)
    except FleetError as exc:
        fail_from_error(module, exc)
        return
    except libvirt.libvirtError as exc:
        # a libvirt call outside the managers' wrapped calls: still libvirt's message, no traceback
        module.fail_json(msg="libvirt: %s" % error_message(exc))
        return
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)
