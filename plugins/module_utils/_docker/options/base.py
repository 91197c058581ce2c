# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One row of the container option table (:class:`Option`) and the helpers rows are built from.

A row says everything about one module option of ``hybridops.fleet.container`` (and of a
``container_stack`` member): its argument spec, how its value is normalized and validated,
which value ``docker inspect`` should show for it (folding in image and engine defaults),
how that value is read back, how it goes into the create body, whether and how it is
updated in place (``POST /containers/{id}/update``), how it is compared and how it is
shown in a diff. The rows live in the family modules next to this one; ``table.py``
collects them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Optional

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError

if TYPE_CHECKING:
    # a normalized container spec (option name -> value), an engine inspect document, a create/update body
    Spec = Mapping[str, Any]
    Inspect = Mapping[str, Any]
    Body = dict[str, Any]
    # the callables a row is made of (see Option)
    Normalize = Callable[[Any, Spec], Any]
    Check = Callable[[dict[str, Any], Spec], None]
    Expected = Callable[[Spec, Optional[Inspect]], Any]
    # actual(inspect), or actual(inspect, image, desired) for a row that reads_image
    Reader = Callable[..., Any]
    Apply = Callable[[Any, Body, Spec], Any]
    UpdateWriter = Callable[[Spec, Body], None]
    InPlaceWhen = Callable[[Spec, Any, Any], bool]
    View = Callable[[Any, Any, Spec], Any]
    Matcher = Callable[[Any, Any], bool]

# update kinds
RECREATE = "recreate"
IN_PLACE = "in_place"
NETWORK = "network"
# paused: changed in place by pause/unpause (not by the update endpoint)
PAUSE = "pause"

# comparison modes (community.docker's names)
STRICT = "strict"
IGNORE = "ignore"
ALLOW_MORE_PRESENT = "allow_more_present"
SCALAR = (STRICT, IGNORE)
COLLECTION = (STRICT, IGNORE, ALLOW_MORE_PRESENT)


def cfg(inspect: Inspect | None) -> dict[str, Any]:
    return (inspect or {}).get("Config") or {}


def hc(inspect: Inspect | None) -> dict[str, Any]:
    return (inspect or {}).get("HostConfig") or {}


def image_cfg(image: Inspect | None) -> dict[str, Any]:
    return (image or {}).get("Config") or {}


def identity(value: Any, spec: Spec | None = None) -> Any:
    return value


def set_cfg(
    key: str, transform: Callable[[Any], Any] | None = None, when: Callable[[Any], bool] | None = None
) -> Apply:
    """Create-body writer: Config[key] = value (skipped unless ``when(value)``; default: not None)."""
    when = when or (lambda value: value is not None)

    def apply(value, body, d=None):
        if not when(value):
            return
        body[key] = transform(value) if transform else value

    return apply


def set_hc(key: str, transform: Callable[[Any], Any] | None = None, when: Callable[[Any], bool] | None = None) -> Apply:
    """Create-body writer: HostConfig[key] = value (skipped unless ``when(value)``; default: not None)."""
    when = when or (lambda value: value is not None)

    def apply(value, body, d=None):
        if not when(value):
            return
        body["HostConfig"][key] = transform(value) if transform else value

    return apply


def no_apply(value: Any, body: Body, d: Spec | None = None) -> None:
    return None


def hc_value(key: str, default: Any = None, transform: Callable[[Any], Any] | None = None) -> Reader:
    """Inspect reader: HostConfig[key], with the engine's empty forms read as ``default``."""

    def actual(inspect):
        value = hc(inspect).get(key)
        if value is None or value == "" or value == [] or value == {}:
            value = default
        return transform(value) if (transform and value is not None) else value

    return actual


def clean_path(path: object) -> str:
    """An absolute path the way the engine stores it ('/tmp/' -> '/tmp', '/a//b/.' -> '/a/b')."""
    text = str(path or "")
    if not text.startswith("/"):
        return text
    cleaned = posixpath.normpath(text)
    # normpath keeps a leading '//' (POSIX allows it to be special); the engine does not
    return "/" + cleaned.lstrip("/")


def str_dict(value: Any, option: str) -> dict[str, str] | None:
    """A dict of strings (numbers become strings; a YAML boolean is refused: quote it)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(option, "must be a dictionary, got %r" % (value,))
    result = {}
    for key, item in value.items():
        if item is None:
            item = ""
        elif isinstance(item, bool):
            # YAML yes/true would otherwise become 'True'; say it explicitly
            raise ValidationError(
                option, "value of %s is a boolean; quote it to pass a string" % key, accepted="strings or numbers"
            )
        elif not isinstance(item, (str, int, float)):
            raise ValidationError(option, "value of %s must be a string, got %r" % (key, item))
        result[str(key)] = str(item)
    return result


def subset_match(expected: Any, actual: Any) -> bool:
    """allow_more_present: every expected item (dict key/value, list element) is present."""
    if isinstance(expected, dict):
        actual = actual or {}
        return all(key in actual and actual[key] == value for key, value in expected.items())
    if isinstance(expected, (list, tuple)):
        have = list(actual or [])
        return all(item in have for item in expected)
    return expected == actual


def list_as_set(expected: Iterable[Any] | None, actual: Iterable[Any] | None) -> bool:
    """Lists whose order the engine does not keep (capabilities, security options...)."""
    return sorted(expected or [], key=repr) == sorted(actual or [], key=repr)


class Option:
    """One module option: argument spec, normalize, expected/actual, create body, update, compare, view.

    ``normalize(value, spec) -> canonical`` (raise ValidationError naming the option path) fills
    ``desired[key]``; ``check(desired, spec)`` runs after every row is normalized, for rules that
    join options. ``expected(desired, image) -> value or None`` is what inspect should show (None:
    not compared); ``actual(inspect)`` reads it back (``actual(inspect, image, desired)`` with ``reads_image``); ``apply(value, body, desired)`` writes the
    create body; ``update(desired, body)`` (or ``update_key``) writes the update body and makes the
    option updatable in place (``in_place_when(desired, expected, actual)`` can refuse a case, e.g.
    a limit the update endpoint cannot remove). ``match``/``match_more`` compare for the
    ``strict``/``allow_more_present`` modes. ``view(value, image, desired)`` is the option form in
    diffs. ``implied_by`` names the option an omitted value follows (its difference then rides on
    that one's). Rows without ``expected`` are plumbing (compared through another row or not at all).
    """

    def __init__(
        self,
        name: str,
        arg: Mapping[str, Any],
        normalize: Normalize | None = None,
        key: str | bool | None = None,
        check: Check | None = None,
        expected: Expected | None = None,
        actual: Reader | None = None,
        apply: Apply | None = None,
        update: UpdateWriter | None = None,
        update_key: str | None = None,
        update_transform: Callable[[Any], Any] | None = None,
        update_kind: str | None = None,
        in_place_when: InPlaceWhen | None = None,
        view: View | None = None,
        match: Matcher | None = None,
        match_more: Matcher | None = None,
        comparisons: Iterable[str] = SCALAR,
        comparison: str = STRICT,
        implied_by: str | None = None,
        reads_image: bool = False,
    ) -> None:
        self.name = name
        self.arg = dict(arg)
        # key=False: plumbing that another row reads from the raw spec (not stored in the desired dict)
        self.key: Any = name if key is None else key
        self.normalize = normalize or identity
        self.check = check
        self.expected = expected
        self.actual: Any = actual  # None on plumbing rows (read() is for compared rows)
        self.apply = apply or no_apply
        if update is None and update_key is not None:
            update = _update_writer(update_key, self.key, update_transform)
        self.update_body = update
        if update_kind is None:
            update_kind = IN_PLACE if update is not None else RECREATE
        self.update = update_kind
        self.in_place_when = in_place_when or (lambda d, exp, act: True)
        self.view = view or (lambda value, img, d: value)
        self.match = match or (lambda exp, act: exp == act)
        self.match_more = match_more or subset_match
        self.comparisons = tuple(comparisons)
        self.comparison = comparison
        # implied_by: the option whose value this one follows when it is omitted (memory_swap follows memory):
        # then a difference of the leader carries it, and views leave it out
        self.implied_by = implied_by
        # reads_image: ``actual(inspect, image, desired)`` (platform: the container's platform is its image's)
        self.reads_image = reads_image
        if comparison not in self.comparisons:
            raise ValueError("option %s: default comparison %s is not one of %s" % (name, comparison, comparisons))

    @property
    def compared(self) -> bool:
        return self.expected is not None

    def read(self, inspect: Inspect | None, image: Inspect | None = None, desired: Spec | None = None) -> Any:
        """What inspect shows for this option (``actual``; rows that read the image get it and the desired spec too)."""
        return self.actual(inspect, image, desired or {}) if self.reads_image else self.actual(inspect)

    def follows(self, desired: Spec) -> str | None:
        """The leader option name when this option's value is derived from it (omitted from the spec)."""
        return self.implied_by if self.implied_by and desired.get(self.key) is None else None

    def matches(self, mode: str, expected: Any, actual: Any) -> bool:
        if mode == IGNORE:
            return True
        if mode == ALLOW_MORE_PRESENT:
            return self.match_more(expected, actual)
        return self.match(expected, actual)

    def __repr__(self) -> str:
        return "Option(%s)" % self.name


def _update_writer(update_key: str, key: Any, transform: Callable[[Any], Any] | None) -> UpdateWriter:
    def update(d, body):
        value = d[key]
        body[update_key] = transform(value) if transform else value

    return update
