# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inline SVG bar charts for the HTML report: no script, no external reference, every string escaped.

Charts are drawn in a fixed viewBox and scale to the page width. The SVG
elements carry no ``xmlns`` attribute: inside HTML the parser puts them in the
SVG namespace itself, and the page then holds no URL at all.
"""

from __future__ import annotations

import html

from ansible_collections.hybridops.fleet.plugins.module_utils._report.numbers import num

WIDTH = 580
LABEL_W = 110
VALUE_W = 175
BAR_W = WIDTH - LABEL_W - VALUE_W - 20
ROW_H = 34
TOP = 8


def esc(value):
    """HTML/SVG-safe text of any value (None -> '')."""
    return html.escape("" if value is None else str(value), quote=True)


def short(text, limit=16):
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _scale(value, maximum):
    if not value or not maximum:
        return 0.0
    return round(min(float(value), float(maximum)) / float(maximum) * BAR_W, 1)


def _open(chart_id, title, rows, empty=None):
    """The opening of a chart's svg (as a list of lines); with no rows, the ``empty`` text."""
    height = TOP * 2 + max(1, rows) * ROW_H
    out = ['<svg id="%s" class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" '
           'preserveAspectRatio="xMinYMin meet">' % (esc(chart_id), WIDTH, height, esc(title)),
           '<title>%s</title>' % esc(title)]
    if not rows and empty is not None:
        out.append('<text class="empty" x="%d" y="%d">%s</text>' % (LABEL_W, TOP + ROW_H // 2, esc(empty)))
    return out


def _label(y, text, css="label"):
    return ('<text class="%s" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s<title>%s</title></text>'
            % (css, LABEL_W - 10, y, esc(short(text)), esc(text)))


def _value(y, text):
    return ('<text class="value" x="%d" y="%.1f" dominant-baseline="middle">%s</text>'
            % (LABEL_W + BAR_W + 10, y, esc(text)))


def _row_start(out, index, row):
    """Open a chart row (group, label, track); returns its top y and middle y."""
    y0 = TOP + index * ROW_H
    mid = y0 + ROW_H / 2.0
    out.append('<g class="row" data-name="%s">' % esc(row.get("data", row["label"])))
    out.append(_label(mid, row["label"]))
    out.append('<rect class="track" x="%d" y="%.1f" width="%d" height="%.1f" rx="3"/>'
               % (LABEL_W, y0 + 5, BAR_W, ROW_H - 10.0))
    return y0, mid


def nested_bars(chart_id, title, rows, series, maximum=None, empty="no data"):
    """Horizontal bars, one row per item, series drawn inside each other (largest first).

    ``rows``: [{"label", "values": {key: number|None}, "text", "data": name}];
    ``series``: [(key, css class, height fraction)]. The first series is the
    widest (e.g. allocated), later ones are drawn thinner on top of it.
    """
    maximum = maximum or max([v or 0 for r in rows for v in r["values"].values()] + [0]) or 1
    out = _open(chart_id, title, len(rows), empty)
    for index, row in enumerate(rows):
        y0, mid = _row_start(out, index, row)
        for key, css, frac in series:
            value = row["values"].get(key)
            if value is None:
                continue
            h = (ROW_H - 10.0) * frac
            out.append('<rect class="%s" x="%d" y="%.1f" width="%.1f" height="%.1f" rx="2"><title>%s: %s</title></rect>'
                       % (esc(css), LABEL_W, mid - h / 2.0, _scale(value, maximum), h, esc(css), esc(num(value))))
        for key, css in row.get("markers") or []:
            value = row["values"].get(key)
            if value:
                x = LABEL_W + _scale(value, maximum)
                out.append('<line class="%s" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>'
                           % (esc(css), x, x, y0 + 2, y0 + ROW_H - 2))
        out.append(_value(mid, row.get("text", "")))
        out.append('</g>')
    out.append('</svg>')
    return "\n".join(out)


def stacked_bars(chart_id, title, rows, series, maximum=None, empty="no data"):
    """Horizontal stacked bars: ``series`` [(key, css class)] laid end to end in each row."""
    maximum = maximum or max([sum(v or 0 for v in r["values"].values()) for r in rows] + [0]) or 1
    out = _open(chart_id, title, len(rows), empty)
    for index, row in enumerate(rows):
        y0, mid = _row_start(out, index, row)
        x = float(LABEL_W)
        for key, css in series:
            value = row["values"].get(key) or 0
            w = _scale(value, maximum)
            if w:
                out.append('<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>'
                           % (esc(css), x, y0 + 7, w, ROW_H - 14.0, esc(css), esc(num(value))))
                x += w
        out.append(_value(mid, row.get("text", "")))
        out.append('</g>')
    out.append('</svg>')
    return "\n".join(out)


def meter(value, maximum, css="fill"):
    """A small inline bar for a table cell (value out of maximum)."""
    width = 0.0 if not maximum or not value else min(100.0, 100.0 * float(value) / float(maximum))
    return ('<svg class="meter" viewBox="0 0 100 8" width="100" height="8" aria-hidden="true">'
            '<rect class="track" x="0" y="0" width="100" height="8" rx="4"/>'
            '<rect class="%s" x="0" y="0" width="%.1f" height="8" rx="4"/></svg>' % (esc(css), width))
