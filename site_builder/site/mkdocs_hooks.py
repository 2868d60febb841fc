"""mkdocs hooks for the generated docs: pages whose body is pre-rendered HTML skip Markdown.

Pages written by :mod:`site_builder.site.build` carry ``prerendered: true`` in their front
matter; their body is already HTML (from our Jinja templates). Passing 3,000 large HTML
bodies through Python-Markdown would cost minutes and could rewrite them, so the body is set
aside before Markdown runs and put back afterwards. The theme (mkdocs-material) still renders
every page; this is a real ``mkdocs build``.

Every written page has its runs of whitespace collapsed (``on_post_page``): the theme's
templates indent deeply, and at 3,000 pages that indentation was about 3% of the site. A run
becomes one newline (or one space when it had no newline), which the browser renders the same;
``<pre>``, ``<textarea>``, ``<script>`` and ``<style>`` are left exactly as they are.
"""

from __future__ import annotations

import re
from typing import Any

_VERBATIM = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2\s*>)", re.S | re.I)
_SPACE = re.compile(r"[ \t\r\n\f]{2,}")


def collapse_whitespace(html: str) -> str:
    """Collapse whitespace runs outside pre/textarea/script/style (rendering unchanged)."""
    parts = _VERBATIM.split(html)
    out = []
    # split() with two groups yields: text, whole verbatim element, tag name, text, ...
    for i in range(0, len(parts), 3):
        out.append(_SPACE.sub(lambda m: "\n" if "\n" in m.group() else " ", parts[i]))
        if i + 1 < len(parts):
            out.append(parts[i + 1])
    return "".join(out)

_STASH: dict[str, str] = {}
_PLACEHOLDER = "RC-PRERENDERED"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.meta.get("prerendered"):
        _STASH[page.file.src_uri] = markdown
        return _PLACEHOLDER
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    body = _STASH.pop(page.file.src_uri, None)
    return html if body is None else body


def on_post_page(output: str, page: Any, config: Any) -> str:
    return collapse_whitespace(output)
