"""The fleet report's HTML page in real headless Chromium (Debian's /usr/bin/chromium).

No lab VM is needed: the report is rendered from synthetic facts. The page must
render offline to a non-blank screenshot of the window size, and the DOM
Chromium builds must hold every chart, one row per VM, and the hostile
container name as text (escaped, never executed). A missing Chromium fails the
test (CI installs it). Run inside the lab network namespace like the other
integration tests.
"""
import os
import sys
from html.parser import HTMLParser

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "unit", "plugins", "module_utils", "_report"))
sys.path.insert(0, os.path.join(REPO, ".collections"))

import chromium  # noqa: E402
import report_facts  # noqa: E402

from ansible_collections.hybridops.fleet.plugins.module_utils._report.runner import run_report  # noqa: E402

CHARTS = ("chart-hypervisor-memory", "chart-vm-memory", "chart-containers-per-vm", "chart-consolidation")
WIDTH, HEIGHT = 1280, 2400


class Dom(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self)
        self.elements = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    work = tmp_path_factory.mktemp("report-html")
    params = report_facts.params(str(work / "report"))
    result = run_report(params)
    assert result["changed"]
    rendered = chromium.render_page(result["files"]["html"], str(work), width=WIDTH, height=HEIGHT, timeout=240)
    return result, rendered


def test_chromium_is_installed():
    assert os.access(chromium.CHROMIUM, os.X_OK), "%s missing: apt-get install chromium" % chromium.CHROMIUM


def test_screenshot_is_a_full_non_blank_png(page):
    rendered = page[1]
    assert os.path.getsize(rendered.png_path) > 10000
    assert chromium.png_size(rendered.png_path) == (WIDTH, HEIGHT)
    png = rendered.png
    assert (png.width, png.height) == (WIDTH, HEIGHT)
    # a blank or failed page is one colour; the report has text, bars and badges in many colours
    assert png.distinct_colors() > 50
    assert png.dominant_share() < 0.9
    # the dark header band is painted at the top, the page background below it
    top, body = png.pixel(10, 10)[:3], png.pixel(10, 300)[:3]
    assert sum(top) < 200 and sum(body) > 600


def test_dom_has_charts_rows_and_escaped_hostile_name(page):
    result, rendered = page
    dom = Dom()
    dom.feed(rendered.dom)
    svg_ids = [attrs.get("id") for tag, attrs in dom.elements if tag == "svg"]
    for chart in CHARTS:
        assert chart in svg_ids
    vm_rows = [attrs["data-vm"] for tag, attrs in dom.elements
               if tag == "tr" and "vm" in (attrs.get("class") or "").split()]
    assert vm_rows == [v["name"] for v in result["report"]["vms"]] == ["db1", "legacy1", "old1", "web1", "web2"]
    chart_rows = [attrs["data-name"] for tag, attrs in dom.elements
                  if tag == "g" and attrs.get("class") == "row" and attrs.get("data-name") in vm_rows]
    assert len(chart_rows) >= 5
    # the hostile container name is text in the DOM; no script element was created from it
    assert not [el[0] for el in dom.elements if el[0] in ("script", "img", "iframe")]
    assert report_facts.HOSTILE in "".join(dom.text)
    assert any(attrs.get("data-container") == report_facts.HOSTILE for tag, attrs in dom.elements)
    assert "&lt;script&gt;alert" in rendered.dom


def test_page_references_nothing_outside(page):
    result = page[0]
    with open(result["files"]["html"]) as handle:
        html = handle.read()
    for needle in ("http://", "https://", "src=", "href=", "url(", "@import", "<script"):
        assert needle not in html
