# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible ``diff`` dicts: how a manager builds one, and drops it when the caller wants none."""

from __future__ import annotations

import copy


def keep_diff(result, wanted):
    """``result`` without its ``diff`` unless ``wanted``: a manager built with ``diff=False`` returns none
    (the Docker managers compute it anyway, from the comparison they need to decide what to change)."""
    if not wanted:
        result.pop("diff", None)
    return result


def make_diff(before, after):
    """An Ansible ``diff`` dict ``{before, after}`` of deep copies (None -> {})."""
    return {
        "before": copy.deepcopy(before) if before is not None else {},
        "after": copy.deepcopy(after) if after is not None else {},
    }
