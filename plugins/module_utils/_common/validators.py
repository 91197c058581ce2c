# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validators shared by every module: object names, addresses, MTUs, DNS names, integers.

Each ``check_*`` takes the value and the option path to name in the error
(``containers[web].ports[0]``), returns the value in canonical form and raises
:class:`ValidationError` saying what is accepted. They are pure: call them
before the first change.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError

# Docker's rule for container, network and volume names (moby's RestrictedNameChars);
# the engine refuses one-character container and volume names, but not network names
DOCKER_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DOCKER_NAME_ACCEPTED = "%s letters, digits, '_', '.', '-', starting with a letter or digit"

# libvirt volume and snapshot names: stored as file names (dir pools, snapshot
# metadata <name>.xml), and passed to qemu-img/virsh where a leading '-' is an option
LIBVIRT_NAME_ACCEPTED = ("a non-empty name of at most %d bytes without '/', control characters "
                         "(newlines, tabs), or a leading '-' or '.'")
FILE_NAME_MAX = 255
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# Linux IFNAMSIZ is 16 including the terminating NUL
IFNAME_MAX = 15
IFNAME_ACCEPTED = "1-15 characters without '/', ':' or whitespace, not '.' or '..'"

MTU_MIN = 68  # the IPv4 minimum (RFC 791)
MTU_MAX = 65535
DNS_NAME_ACCEPTED = ("a DNS name: dot-separated labels of 1-63 letters, digits and '-' (not first or last), "
                     "at most 253 characters")
_DNS_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
HOSTNAME_MAX = 64  # Linux HOST_NAME_MAX: sethostname() refuses longer names

# systemd's unit name characters (unit-name.c VALID_CHARS, plus '@' for template instances)
UNIT_NAME_RE = re.compile(r"^[A-Za-z0-9:_.\\@-]{1,255}$")
UNIT_NAME_ACCEPTED = "a systemd unit name: up to 255 letters, digits and ':', '_', '.', '\\', '@', '-'"


def _fail(option, msg, accepted):
    raise ValidationError(option, msg, accepted=accepted)


def _require_str(value, option, accepted):
    if not isinstance(value, str):
        _fail(option, "%r is not a string" % (value,), accepted)
    return value


def check_docker_name(value, option, kind="name", min_length=2):
    """A container, network or volume name as Docker accepts it (a leading '/' is dropped).

    ``min_length=1`` for networks (the engine takes one-character network names).
    """
    accepted = DOCKER_NAME_ACCEPTED % ("1 or more" if min_length == 1 else "%d or more" % min_length)
    _require_str(value, option, accepted)
    name = value[1:] if value.startswith("/") else value
    if not DOCKER_NAME_RE.match(name) or len(name) < min_length:
        _fail(option, "%r is not a valid %s" % (value, kind), accepted)
    return name


def check_libvirt_name(value, option, kind="name", max_bytes=FILE_NAME_MAX):
    """A libvirt object name that is also safe as a file name and a command-line argument."""
    accepted = LIBVIRT_NAME_ACCEPTED % max_bytes
    _require_str(value, option, accepted)
    if not value or value in (".", ".."):
        _fail(option, "%r is not a valid %s" % (value, kind), accepted)
    if "/" in value or _CONTROL_RE.search(value) or value[0] in "-.":
        _fail(option, "%r is not a valid %s" % (value, kind), accepted)
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        _fail(option, "%s is %d bytes long, more than %d" % (kind, size, max_bytes), accepted)
    return value


def check_ip(value, option, version=None):
    """An IP address (``version`` 4 or 6 to require one family); returns an ipaddress object."""
    family = {4: "an IPv4 address", 6: "an IPv6 address"}.get(version, "an IPv4 or IPv6 address")
    _require_str(value, option, family)
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        _fail(option, "%r is not an IP address" % (value,), family + ", e.g. 127.0.0.1 or ::1")
    if version and addr.version != version:
        _fail(option, "%r is not %s" % (value, family), family)
    return addr


def check_cidr(value, option):
    """A network in CIDR form without host bits (``10.10.0.0/24``); returns an ipaddress network."""
    accepted = "a network in CIDR form, e.g. 10.10.0.0/24 or fd00:1::/64"
    _require_str(value, option, accepted)
    if "/" not in value:
        _fail(option, "%r has no prefix length" % (value,), accepted)
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        _fail(option, "%r is not a network: %s" % (value, exc), accepted)


def check_interface_name(value, option):
    """A Linux network interface (bridge) name."""
    _require_str(value, option, IFNAME_ACCEPTED)
    if (not value or len(value) > IFNAME_MAX or value in (".", "..")
            or re.search(r"[/:\s]", value) or _CONTROL_RE.search(value)):
        _fail(option, "%r is not a valid interface name" % (value,), IFNAME_ACCEPTED)
    return value


def check_int(value, option, minimum=None, maximum=None, accepted=None):
    """An integer (or a string of digits) within [minimum, maximum]; booleans are refused."""
    if accepted is None:
        if minimum is not None and maximum is not None:
            accepted = "an integer from %d to %d" % (minimum, maximum)
        elif minimum is not None:
            accepted = "an integer >= %d" % minimum
        else:
            accepted = "an integer"
    if isinstance(value, bool):
        _fail(option, "%r is not an integer" % (value,), accepted)
    if isinstance(value, str) and re.match(r"^\s*[-+]?\d+\s*$", value):
        value = int(value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        _fail(option, "%r is not an integer" % (value,), accepted)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        _fail(option, "%d is out of range" % value, accepted)
    return value


def check_mtu(value, option):
    """An MTU in bytes (68-65535)."""
    return check_int(value, option, MTU_MIN, MTU_MAX)


def check_dns_name(value, option, max_length=253):
    """A DNS name (RFC 1123 labels); one trailing dot is allowed and dropped."""
    _require_str(value, option, DNS_NAME_ACCEPTED)
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > max_length or not all(_DNS_LABEL_RE.match(label) for label in name.split(".")):
        accepted = DNS_NAME_ACCEPTED if max_length == 253 else DNS_NAME_ACCEPTED.replace("253", str(max_length))
        _fail(option, "%r is not a valid DNS name" % (value,), accepted)
    return name


def check_hostname(value, option):
    """A host name a container or VM can take (a DNS name of at most 64 characters)."""
    return check_dns_name(value, option, max_length=HOSTNAME_MAX)


def check_env_key(key, option):
    """An environment variable name: non-empty, without '=' or NUL (execve cannot carry those)."""
    accepted = "a non-empty variable name without '=' or NUL characters"
    if not isinstance(key, str):
        _fail(option, "variable name %r is not a string" % (key,), accepted)
    if not key or "=" in key or "\x00" in key:
        _fail(option, "%r is not a valid variable name" % (key,), accepted)
    return key


def check_unit_name(value, option):
    """A systemd unit name (``-.mount`` is valid: names are passed after ``--``)."""
    _require_str(value, option, UNIT_NAME_ACCEPTED)
    # systemd also needs a name before the type suffix ('.service' alone is no unit)
    if not UNIT_NAME_RE.match(value) or value.startswith("."):
        _fail(option, "%r is not a valid unit name" % (value,), UNIT_NAME_ACCEPTED)
    return value


# Docker image references (distribution/reference's grammar): [registry[:port]/]path[:tag][@digest]
_IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
IMAGE_REF_RE = re.compile(r"^(?:(?P<domain>%s)/)?(?P<path>%s(?:/%s)*)(?::(?P<tag>[\w][\w.-]{0,127}))?"
                          r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$" % (_IMAGE_DOMAIN, _IMAGE_COMPONENT, _IMAGE_COMPONENT))
IMAGE_REF_ACCEPTED = ("an image reference [registry[:port]/]name[:tag][@sha256:digest]: lower-case name components "
                      "of letters, digits and '.', '_', '-' between them; a tag of up to 128 letters, digits, '_', "
                      "'.', '-' not starting with '.' or '-'")
IMAGE_TAG_ACCEPTED = IMAGE_REF_ACCEPTED.replace("[@sha256:digest]", "") + " (no digest: a digest cannot be tagged)"
# a build stage name (Dockerfile `FROM ... AS name`)
STAGE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
STAGE_ACCEPTED = "a build stage name: a letter, then letters, digits, '_', '.', '-'"
_SCALARS = (str, int, float, bool)


def check_image_ref(value, option, digest=True):
    """An image reference as the engine parses it; ``digest=False`` for tags to set (a digest cannot be set).

    A domain is only told apart from the first path component by a '.', a ':' or being ``localhost``, as
    Docker does; the path must be lower case.
    """
    accepted = IMAGE_REF_ACCEPTED if digest else IMAGE_TAG_ACCEPTED
    _require_str(value, option, accepted)
    match = IMAGE_REF_RE.match(value)
    if not match:
        _fail(option, "%r is not a valid image reference" % (value,), accepted)
    if match.group("digest") and not digest:
        _fail(option, "%r names a digest, which cannot be set" % (value,), accepted)
    domain = match.group("domain")
    if domain and not ("." in domain or ":" in domain or domain == "localhost" or domain.lower() == domain):
        # an upper-case first component without '.' or ':' is a path component, which must be lower case
        _fail(option, "%r is not a valid image reference" % (value,), accepted)
    name = (domain + "/" if domain else "") + match.group("path")
    if len(name) > 255:
        _fail(option, "the repository name is %d characters long, more than 255" % len(name), accepted)
    return value


def check_stage_name(value, option):
    """A Dockerfile build stage name."""
    _require_str(value, option, STAGE_ACCEPTED)
    if not STAGE_RE.match(value):
        _fail(option, "%r is not a valid build stage name" % (value,), STAGE_ACCEPTED)
    return value


def check_string_map(value, option, key_check=None, secret=False):
    """A dict of names to scalar values (labels, build args, driver options), as the engine takes them:
    returns ``{str: str}`` (booleans as ``true``/``false``). ``key_check(key, option)`` validates each key;
    ``secret`` keeps the values out of the message (build args carry tokens).
    """
    accepted = "a dict of names to strings, numbers or booleans"
    if not isinstance(value, dict):
        _fail(option, "%s is not a dict" % ("the value" if secret else repr(value)), accepted)
    result = {}
    for key, item in value.items():
        if key_check:
            key_check(key, option)
        elif not isinstance(key, str) or not key or _CONTROL_RE.search(key):
            _fail(option, "%r is not a valid name" % (key,), "non-empty names without control characters")
        if item is None or not isinstance(item, _SCALARS):
            shown = "the value" if secret else repr(item)
            _fail("%s.%s" % (option, key), "%s is a %s, not a string" % (shown, type(item).__name__), accepted)
        result[str(key)] = ("true" if item else "false") if isinstance(item, bool) else str(item)
    return result


LIBVIRT_URI_ACCEPTED = "a libvirt URI, e.g. qemu:///system, qemu+ssh://user@host/system or test:///default"


def check_libvirt_uri(value, option):
    """A libvirt connection URI (or an alias from libvirt.conf): non-empty, without whitespace or control
    characters. Whether it answers is known only when it is opened."""
    _require_str(value, option, LIBVIRT_URI_ACCEPTED)
    if not value or re.search(r"\s", value) or _CONTROL_RE.search(value):
        _fail(option, "%r is not a libvirt URI" % (value,), LIBVIRT_URI_ACCEPTED)
    return value
