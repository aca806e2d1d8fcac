"""The HTML report as a real browser builds it: headless Chromium loads the file and dumps its DOM.

This proves what string checks cannot: the page parses into the charts and tables we meant, the
hostile log text stayed text (no <script>, <img> or link elements appeared), and the CSP hash
matches the stylesheet (Chromium logs a console error for every blocked style).
"""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from test_render_ci import HOSTILE, hostile_report, make_report

from diagnose.baseline import diff_against
from diagnose.render.html import render_html
from diagnose.render.json import report_to_dict

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
# Offline-safe flags: without the background-networking ones Chromium keeps dialling out.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--enable-logging=stderr", "--v=0",
]


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_data(self, data):
        self.text.append(data)


def _dump_dom(tmp_path, page: str) -> tuple[_Dom, str]:
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _Dom()
    dom.feed(proc.stdout)
    return dom, proc.stderr


def test_browser_renders_charts_and_tables_and_no_log_script(tmp_path):
    report = hostile_report()
    previous = report_to_dict(make_report())
    page = render_html(report, baseline=diff_against(report, previous), history=[previous])
    dom, console = _dump_dom(tmp_path, page)

    assert dom.tags.get("svg") == 2  # outcomes over time + trend over runs
    assert dom.tags.get("rect", 0) >= 4
    assert dom.tags.get("table", 0) >= 6
    for tag in ("script", "img", "a", "iframe", "link", "object"):
        assert tag not in dom.tags, tag
    text = "".join(dom.text)
    assert "<script>alert(1)</script>" in text  # shown to the reader, as text
    assert "[link=http://evil]" in text
    assert "Content Security Policy" not in console  # the stylesheet's hash matched
    assert HOSTILE.splitlines()[0][:40] in text
