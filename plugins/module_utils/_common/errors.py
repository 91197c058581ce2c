# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions shared by every layer of hybridops.fleet.

Managers raise these; module ``main()`` functions turn them into ``fail_json``
via :func:`fail_from_error`, so users never see a traceback.
"""

from __future__ import annotations


class FleetError(Exception):
    """Base error. ``details`` are extra keys returned in the failed result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg


class ValidationError(FleetError):
    """Bad user input, detected before anything was changed.

    ``option`` names the offending option, ``accepted`` describes what would be valid.
    """

    def __init__(self, option, msg, accepted=None, **details):
        text = "%s: %s" % (option, msg) if option else msg
        if accepted:
            text += " (accepted: %s)" % accepted
        super().__init__(text, option=option, **details)
        self.option = option
        self.accepted = accepted


class BackendError(FleetError):
    """The backend (libvirt, Docker) refused an operation; ``msg`` carries its own message."""


class WaitTimeout(FleetError):
    """A wait ran out of time; ``details`` carry the diagnosis."""


def fail_from_error(module, error, **extra):
    """Call ``module.fail_json`` for a :class:`FleetError` (keeps its details)."""
    result = dict(extra)
    result.update(error.details)
    result.pop("msg", None)
    module.fail_json(msg=error.msg, **result)


def fail_unexpected(module, exc, **extra):
    """``fail_json`` for an exception nothing explained (a defect to report): a message, not a bare traceback."""
    module.fail_json(msg="unexpected error in %s (please report it): %s: %s"
                     % (getattr(module, "_name", "the module"), type(exc).__name__, exc), **extra)
