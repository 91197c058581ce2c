# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the report writes a number, in every format: thousands separators, whole numbers without decimals."""

from __future__ import annotations


def num(value, digits=1):
    """``1,024`` or ``787.2``; None is ``-``."""
    if value is None:
        return "-"
    value = float(value)
    if value.is_integer():
        return "{:,}".format(int(value))
    return "{:,.{}f}".format(value, digits)
