"""mkdocs hooks for the generated docs: pages whose body is pre-rendered HTML skip Markdown.

Pages written by :mod:`site_builder.site.build` carry ``prerendered: true`` in their front
matter; their body is already HTML (from our Jinja templates). Passing 3,000 large HTML
bodies through Python-Markdown would cost minutes and could rewrite them, so the body is set
aside before Markdown runs and put back afterwards. The theme (mkdocs-material) still renders
every page; this is a real ``mkdocs build``.
"""

from __future__ import annotations

from typing import Any

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
