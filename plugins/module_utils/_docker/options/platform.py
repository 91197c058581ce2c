# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: the platform a container is created for.

``platform`` (``OS[/ARCH[/VARIANT]]``) picks the image variant at create time (the query
parameter of ``POST /containers/create``; the manager passes it). The engine does not keep it
on the container, so, as community.docker does, the container's platform is its image's (``Os``,
``Architecture``, ``Variant`` of the image inspect data; for a container of another image than the
spec's, the manager reads that image). Both sides are normalized the way
containerd does (``x86_64`` is ``amd64``, ``aarch64`` is ``arm64``, ``amd64/v1`` and ``arm64/v8``
are the default variants, ``arm`` is ``arm/v7``); parts the spec leaves out are not compared
(``linux`` matches any architecture). A difference needs a new container.
"""

from __future__ import annotations

import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import Option

ACCEPTED = "OS[/ARCH[/VARIANT]] like linux/amd64, linux/arm64, linux/arm/v7"
_PART = re.compile(r"^[a-z0-9_-]+$")
_OS_ALIASES = {"macos": "darwin"}
_ARCH_ALIASES = {
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "i386": ("386", None),
    "i686": ("386", None),
    "386": ("386", None),
    "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
}
# the variant an architecture has when none is named (containerd's defaults)
_DEFAULT_VARIANT = {"amd64": "v1", "arm64": "v8", "arm": "v7"}


def _variant(arch, variant):
    if variant is None:
        return _DEFAULT_VARIANT.get(arch)
    if variant.isdigit():
        variant = "v" + variant
    if arch == "arm64" and variant == "8":
        variant = "v8"
    return variant


def parse_platform(value, option="platform"):
    """'Linux/x86_64' -> ('linux', 'amd64', 'v1'); 'linux' -> ('linux', None, None). Raises ValidationError."""
    text = str(value).strip().lower()
    parts = text.split("/")
    if not text or len(parts) > 3 or not all(_PART.match(p) for p in parts):
        raise ValidationError(option, "%r is not a platform" % (value,), accepted=ACCEPTED)
    os_name = _OS_ALIASES.get(parts[0], parts[0])
    if len(parts) == 1:
        return (os_name, None, None)
    arch, implied = _ARCH_ALIASES.get(parts[1], (parts[1], None))
    variant = parts[2] if len(parts) == 3 else implied
    return (os_name, arch, _variant(arch, variant))


def format_platform(parts):
    os_name, arch, variant = parts
    if arch is None:
        return os_name
    if variant is None or variant == _DEFAULT_VARIANT.get(arch):
        # the default variant is left out, as the docker CLI prints it (linux/amd64)
        return "%s/%s" % (os_name, arch)
    return "%s/%s/%s" % (os_name, arch, variant)


def normalize_platform(value, spec=None):
    if value is None or value == "":
        return None
    return format_platform(parse_platform(value))


def image_platform(image):
    """The platform of an image's inspect data ('linux/amd64'), None when it names none."""
    image = image or {}
    if not image.get("Os") and not image.get("Architecture"):
        return None
    try:
        return format_platform(
            parse_platform(
                "/".join(p for p in (image.get("Os") or "linux", image.get("Architecture"), image.get("Variant")) if p),
                "image platform",
            )
        )
    except ValidationError:
        return "/".join(p for p in (image.get("Os"), image.get("Architecture"), image.get("Variant")) if p)


def platform_actual(inspect, image, desired):
    """The container's platform is its image's.

    For a container of another image than the spec's, the manager looks that image up and puts its
    platform in ``desired["container_platform"]``; unknown (None) is no difference.
    """
    if image is not None and (inspect or {}).get("Image") == image.get("Id"):
        return image_platform(image)
    return desired.get("container_platform")


def platform_match(expected, actual):
    """The parts the spec names are equal (after normalization); an unknown actual is no difference."""
    if actual is None:
        return True
    want = parse_platform(expected)
    try:
        have = parse_platform(actual, "image platform")
    except ValidationError:
        return expected == actual
    for wanted, found in zip(want, have):
        if wanted is None:
            break
        if wanted != found:
            return False
    return True


def check_image_platform(desired, image, ref):
    """Fail before any change when the image on the engine is built for another platform.

    Engines before 24 create a container from a local image of another platform without a word; the
    container would then differ on every run.
    """
    wanted = desired.get("platform")
    have = image_platform(image)
    if not wanted or image is None or have is None or platform_match(wanted, have):
        return
    raise ValidationError(
        "platform",
        "is %s, but image %s on the engine is built for %s" % (wanted, ref, have),
        accepted="the platform of the image on the engine (load or build the image for %s "
        "with hybridops.fleet.container_image)" % wanted,
    )


ROWS: list[Option] = [
    Option(
        "platform",
        dict(type="str"),
        normalize=normalize_platform,
        expected=lambda d, img: d["platform"],
        actual=platform_actual,
        reads_image=True,
        match=platform_match,
        match_more=platform_match,
    ),
]
