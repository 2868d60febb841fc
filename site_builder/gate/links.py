"""Every internal link and anchor of a built site resolves.

Reads the files on disk, the way a visitor's browser would resolve them: a link from
``districts/001091/index.html`` to ``../../schools/001091-1050/#enrollment`` must find
``schools/001091-1050/index.html`` and an element with ``id="enrollment"`` in it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lxml import html as lxml_html

LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src",
              "source": "src", "area": "href"}


@dataclass(frozen=True, order=True)
class BrokenLink:
    page: str
    line: int
    target: str
    problem: str

    def render(self) -> str:
        return f"{self.page} (line {self.line}): {self.target}: {self.problem}"


def _ids(doc: lxml_html.HtmlElement) -> set[str]:
    ids = {el.get("id") for el in doc.iter() if isinstance(el.tag, str) and el.get("id")}
    ids |= {el.get("name") for el in doc.iter("a") if el.get("name")}
    return {i for i in ids if i}


def check_links(site: Path) -> tuple[int, list[BrokenLink]]:
    """(links checked, broken links) for every HTML page under ``site``."""
    pages = sorted(site.rglob("*.html"))
    parsed: dict[str, lxml_html.HtmlElement] = {}
    for p in pages:
        parsed[p.relative_to(site).as_posix()] = lxml_html.document_fromstring(
            p.read_bytes())
    ids_cache: dict[str, set[str]] = {}

    def ids_of(rel: str) -> set[str]:
        if rel not in ids_cache:
            ids_cache[rel] = _ids(parsed[rel]) if rel in parsed else set()
        return ids_cache[rel]

    broken: list[BrokenLink] = []
    checked = 0
    for rel, doc in parsed.items():
        base = posixpath.dirname(rel)
        for el in doc.iter(*LINK_ATTRS):
            target = el.get(LINK_ATTRS[el.tag])
            if not target:
                continue
            parts = urlsplit(target)
            if parts.scheme or target.startswith("//"):
                continue  # external links are the privacy check's business
            checked += 1
            path = unquote(parts.path)
            if not path:
                dest = rel
            else:
                # Root-relative links (mkdocs' 404.html uses them) resolve against the site root.
                joined = path.lstrip("/") if path.startswith("/") else posixpath.join(base, path)
                dest = posixpath.normpath(joined) if joined else "."
                if dest.startswith(".."):
                    broken.append(BrokenLink(rel, el.sourceline or 0, target,
                                             "points outside the site"))
                    continue
                full = site / dest
                if path.endswith("/") or full.is_dir():
                    dest = "index.html" if dest == "." else posixpath.join(dest, "index.html")
                    full = site / dest
                if not full.is_file():
                    broken.append(BrokenLink(rel, el.sourceline or 0, target, "no such file"))
                    continue
            if parts.fragment and dest.endswith(".html") and \
                    unquote(parts.fragment) not in ids_of(dest):
                broken.append(BrokenLink(rel, el.sourceline or 0, target,
                                         f"no element with id '{parts.fragment}'"))
    return checked, sorted(broken)
