# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Structured difference helpers: which keys changed, and Ansible ``diff`` dicts."""

from __future__ import annotations

import copy


def prune_none(value):
    """Recursively drop dict entries whose value is None (lists keep their items)."""
    if isinstance(value, dict):
        return dict((k, prune_none(v)) for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return [prune_none(v) for v in value]
    return value


def changed_paths(before, after, path=""):
    """List of dotted paths where ``after`` differs from ``before``.

    Keys missing on one side count as a change. Lists are compared item by item
    (``disks[1].bus``); a length difference reports the list itself.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        result = []
        for key in sorted(set(before) | set(after), key=str):
            sub = "%s.%s" % (path, key) if path else str(key)
            if key not in before or key not in after:
                result.append(sub)
            else:
                result.extend(changed_paths(before[key], after[key], sub))
        return result
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [path or "."]
        result = []
        for index, (b_item, a_item) in enumerate(zip(before, after)):
            result.extend(changed_paths(b_item, a_item, "%s[%d]" % (path, index)))
        return result
    return [] if before == after else [path or "."]


def changed_keys(before, after, keys):
    """Top-level ``keys`` whose value differs between two dicts."""
    return [key for key in keys if before.get(key) != after.get(key)]


def keep_diff(result, wanted):
    """``result`` without its ``diff`` unless ``wanted``: a manager built with ``diff=False`` returns none
    (the Docker managers compute it anyway, from the comparison they need to decide what to change)."""
    if not wanted:
        result.pop("diff", None)
    return result


def make_diff(before, after, before_header=None, after_header=None):
    """An Ansible ``diff`` dict ``{before, after}`` of deep copies (None -> {})."""
    result = {
        "before": copy.deepcopy(before) if before is not None else {},
        "after": copy.deepcopy(after) if after is not None else {},
    }
    if before_header:
        result["before_header"] = before_header
    if after_header:
        result["after_header"] = after_header
    return result


def merge_dicts(base, override):
    """Recursive merge; values of ``override`` win, None in ``override`` is ignored."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_dicts(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
