# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker_archive_image_id filter (documented in docker_archive_image_id.yml beside this file)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import FleetError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.image import (
    archive_image_id,
    archive_manifest,
    full_ref,
)


def docker_archive_image_id(path: str, name: str) -> str:
    """The ID of the image a `docker save` archive on the controller holds for ``name`` (the rule of
    container_image's source=load: the image tagged so, else the archive's only image)."""
    if not os.path.isfile(path):
        raise AnsibleFilterError("docker_archive_image_id: %s is not a file on the controller (the archive made by "
                                 "docker save)" % path)
    try:
        return archive_image_id(archive_manifest(path), full_ref(name), path)[0]
    except FleetError as exc:
        raise AnsibleFilterError("docker_archive_image_id: %s" % exc.msg) from None


class FilterModule:
    def filters(self):
        return {"docker_archive_image_id": docker_archive_image_id}
