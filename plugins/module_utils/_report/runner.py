# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_report module's work: build the model, render it, write only what differs.

``changed`` is decided by comparing the bytes each format would write with the
bytes on disk; the model holds no timestamp, so the same facts give the same
files and a second run reports no change. Check mode reads the existing files
and writes nothing. Files are written to a temporary file in ``dest`` and
renamed over the old one (atomic on POSIX), mode 0600: a report holds the
fleet's command lines and addresses, and a secret the discovery scrubber missed
would be readable by every local user. A missing ``dest`` is created 0700; an
existing one keeps its mode (it may be shared on purpose).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._report.model import build_report
from ansible_collections.hybridops.fleet.plugins.module_utils._report.render_html import render_html
from ansible_collections.hybridops.fleet.plugins.module_utils._report.render_markdown import render_markdown

FORMATS = ("json", "markdown", "html")
EXTENSIONS = {"json": "json", "markdown": "md", "html": "html"}


def render_json(model: Mapping[str, Any]) -> str:
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


DEST_ACCEPTED = "an existing directory, or a new one inside an existing directory"
RENDERERS = {"json": render_json, "markdown": render_markdown, "html": render_html}
FILE_MODE = 0o600
DIR_MODE = 0o700


def render_all(model: Mapping[str, Any], formats: Iterable[str]) -> dict[str, bytes]:
    """{format: bytes} for the requested formats."""
    return dict((fmt, RENDERERS[fmt](model).encode("utf-8")) for fmt in formats)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _mode(path: str) -> int | None:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return None


def write_atomic(path: str, data: bytes, mode: int = FILE_MODE) -> None:
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _validate_output(params: Mapping[str, Any]) -> tuple[list[str], str, str]:
    formats = params.get("formats")
    formats = list(FORMATS) if formats is None else list(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValidationError(
            "formats",
            "unknown format(s) %s" % ", ".join(map(str, bad)) if bad else "is empty",
            accepted=", ".join(FORMATS),
        )
    basename = params.get("basename")
    basename = "fleet-report" if basename is None else basename
    # the longest extension is .html; a leading '-' or '.' makes a file that shells and ls treat as special
    validators.check_libvirt_name(basename, "basename", kind="file name", max_bytes=255 - len(".html"))
    dest = params.get("dest")
    if not dest:
        raise ValidationError("dest", "is empty", accepted=DEST_ACCEPTED)
    if os.path.exists(dest):
        if not os.path.isdir(dest):
            raise ValidationError("dest", "%s exists and is not a directory" % dest, accepted=DEST_ACCEPTED)
    else:
        # only the last directory is created: a typo in a parent must not make a tree (mkdir, not mkdir -p);
        # the parent is not normalized, so 'missing/../out' is refused as mkdir would refuse it
        parent = os.path.dirname(dest.rstrip("/")) or "."
        if not os.path.isdir(parent):
            raise ValidationError(
                "dest",
                "%s does not exist and neither does its parent directory %s" % (dest, parent),
                accepted=DEST_ACCEPTED,
            )
    # keep the documented order, whatever order was asked
    return [f for f in FORMATS if f in formats], basename, dest


def _existing_model(path: str) -> Any:
    data = _read(path)
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def run_report(params: Mapping[str, Any], check_mode: bool = False, diff_mode: bool = False) -> dict[str, Any]:
    """Result dict of the module: changed, report, files (format -> path), diff when asked."""
    formats, basename, dest = _validate_output(params)
    model = build_report(params)
    rendered = render_all(model, formats)
    files = dict((fmt, os.path.join(dest, "%s.%s" % (basename, EXTENSIONS[fmt]))) for fmt in formats)
    differing = sorted(fmt for fmt in formats if _read(files[fmt]) != rendered[fmt])
    # same bytes, wrong mode (a report written before reports were 0600): only chmod
    loose = sorted(fmt for fmt in formats if fmt not in differing and _mode(files[fmt]) != FILE_MODE)
    result = {
        "changed": bool(differing or loose),
        "report": model,
        "files": files,
        "changed_files": [files[f] for f in sorted(differing + loose)],
    }
    if diff_mode:
        before = _existing_model(os.path.join(dest, "%s.json" % basename))
        result["diff"] = {
            "before": before if before is not None else {},
            "after": model,
            "before_header": os.path.join(dest, "%s.json" % basename),
            "after_header": os.path.join(dest, "%s.json" % basename),
        }
    if check_mode or not result["changed"]:
        return result
    created = False
    try:
        if not os.path.isdir(dest):
            os.mkdir(dest, DIR_MODE)
            created = True
            os.chmod(dest, DIR_MODE)
        for fmt in differing:
            write_atomic(files[fmt], rendered[fmt])
        for fmt in loose:
            os.chmod(files[fmt], FILE_MODE)
    except OSError as exc:
        if created:  # undo: no empty or half-written directory is left behind
            for fmt in formats:
                if os.path.exists(files[fmt]):
                    os.unlink(files[fmt])
            os.rmdir(dest)
        raise ValidationError(
            "dest",
            "cannot write the report into %s: %s" % (dest, exc),
            accepted="a directory the module can write",
            files=files,
        )
    return result
