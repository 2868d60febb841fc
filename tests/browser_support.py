"""Real Chromium (Debian's, driven by Playwright) against a site served on 127.0.0.1.

The server is the one ``reportcard serve`` runs; the tests record what the browser receives
(requests, response headers, cookies, storage), which is what a visitor gets.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from site_builder.site.serve import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = {"desktop": 1280, "phone": 390}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` with ``reportcard serve``'s server on a free loopback port."""
    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Page) -> list[str]:
    """axe-core at WCAG 2.1 A and AA: one line per violation and node."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    out = []
    for v in result.response["violations"]:
        for node in v["nodes"][:5]:
            out.append(f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}")
    return out


def chart_marks(page: Page, figure_selector: str = "figure.rc-chart") -> list[int]:
    """For every chart figure: how many drawn marks its SVG (or canvas) holds."""
    return page.eval_on_selector_all(figure_selector, """figs => figs.map(f => {
        const svg = f.querySelector('svg');
        if (svg) return svg.querySelectorAll('path, rect, circle, line, symbol, text').length;
        const c = f.querySelector('canvas');
        return c && c.width > 0 ? 1 : 0;
    })""")


NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER.findall(text)}
