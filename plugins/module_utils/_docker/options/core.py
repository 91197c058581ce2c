# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: the container's name, image and the ``comparisons`` option.

The image is compared by ID (``compare`` in container_spec), not by a row's expected value.
``comparisons`` is checked against the finished table (``table.normalize_comparisons``).
"""

from __future__ import annotations

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import Option


def _normalize_name(value, spec):
    return str(validators.check_docker_name(value, "name", "container name")).lstrip("/")


def _normalize_image(value, spec):
    if spec.get("_require_image", True) and not value:
        raise ValidationError("image", "is required unless state=absent")
    return value


ROWS: list[Option] = [
    Option("name", dict(type="str", required=True), normalize=_normalize_name),
    Option("image", dict(type="str"), normalize=_normalize_image),
    Option("comparisons", dict(type="dict")),
]
