# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container option table: every family's rows, in one list.

Each family module (core, lifecycle, storage, network, resources, security, platform)
exposes ``ROWS``; this list names them explicitly (Ansible bundles module_utils by their
imports). Everything else - the argument spec of ``container`` and of ``container_stack``
members, SPEC_KEYS, normalization, create and update bodies, comparison, the diff view -
is derived from ``OPTIONS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ansible.module_utils.common.validation import (
    check_type_bool,
    check_type_dict,
    check_type_float,
    check_type_int,
    check_type_list,
    check_type_str,
)

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options import (
    core,
    lifecycle,
    network,
    platform,
    resources,
    security,
    storage,
)
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    ALLOW_MORE_PRESENT,
    IGNORE,
    STRICT,
)

if TYPE_CHECKING:
    from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import Option

FAMILIES = (core, lifecycle, storage, network, resources, security, platform)

OPTIONS: list[Option] = [row for family in FAMILIES for row in family.ROWS]
BY_NAME: dict[str, Option] = dict((row.name, row) for row in OPTIONS)
if len(BY_NAME) != len(OPTIONS):
    raise ValueError("container option table: an option is declared twice")

# the options a spec is made of (module option names)
SPEC_KEYS = tuple(row.name for row in OPTIONS)
COMPARED = [row for row in OPTIONS if row.compared]
# 'image' is compared by ID, outside the rows
COMPARABLE = ("image",) + tuple(row.name for row in COMPARED)
DEFAULT_MODES: tuple[str, ...] = (STRICT, IGNORE)


def argument_spec() -> dict[str, dict[str, Any]]:
    """The argument spec of one container (a copy: callers may add to it)."""
    return dict((row.name, dict(row.arg)) for row in OPTIONS)


_TYPE_CHECKS = {
    "str": lambda v: check_type_str(v, allow_conversion=True),
    "int": check_type_int,
    "bool": check_type_bool,
    "float": check_type_float,
    "list": check_type_list,
    "dict": check_type_dict,
}


def check_types(values: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the table's types and choices to an untyped dict of options (container_stack members).

    Returns a copy with converted values; a wrong type fails naming the option (the caller adds the member).
    """
    result = dict(values)
    for name, value in values.items():
        row = BY_NAME.get(name)
        if row is None or value is None:
            continue
        kind = row.arg.get("type", "raw")
        check = _TYPE_CHECKS.get(kind)
        if check is not None:
            try:
                value = check(value)
            except (TypeError, ValueError) as exc:
                # the row's own normalizer says more precisely what it accepts
                row.normalize(value, values)
                raise ValidationError(
                    name, "%r is not a %s (%s)" % (value, kind, exc), accepted="a value of type %s" % kind
                )
        if row.arg.get("choices") and value not in row.arg["choices"]:
            raise ValidationError(
                name, "unknown value %r" % (value,), accepted=", ".join(str(c) for c in row.arg["choices"])
            )
        result[name] = value
    return result


def comparison_modes(name: str) -> tuple[str, ...]:
    if name == "image":
        return (STRICT, IGNORE)
    return BY_NAME[name].comparisons


def normalize_comparisons(value: Any) -> dict[str, str]:
    """comparisons option -> {option: mode}; '*' sets the default of every option (strict or ignore)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            "comparisons",
            "must be a dictionary of option: mode",
            accepted="option names (or *) mapped to strict, ignore or allow_more_present",
        )
    result = {}
    for name, mode in value.items():
        where = "comparisons.%s" % name
        if name == "*":
            modes = DEFAULT_MODES
        elif name in COMPARABLE:
            modes = comparison_modes(name)
        else:
            raise ValidationError(where, "is not a compared option", accepted=", ".join(("*",) + COMPARABLE))
        if mode not in modes:
            raise ValidationError(where, "unknown mode %r" % (mode,), accepted=", ".join(modes))
        result[name] = mode
    return result


def comparison_of(desired: Mapping[str, Any], name: str) -> str:
    """The mode an option is compared with: its own entry, else '*', else the option's default."""
    modes = desired.get("comparisons") or {}
    if name in modes:
        return modes[name]
    if "*" in modes:
        return modes["*"]
    return STRICT if name == "image" else BY_NAME[name].comparison


__all__ = [
    "OPTIONS",
    "BY_NAME",
    "SPEC_KEYS",
    "COMPARED",
    "COMPARABLE",
    "ALLOW_MORE_PRESENT",
    "argument_spec",
    "normalize_comparisons",
    "comparison_of",
]
