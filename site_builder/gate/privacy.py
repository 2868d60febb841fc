"""No requests to other hosts, no cookies, no tracking: checked in the files, not the intent.

The browser tests watch a real visit; this check reads every file so that a page nobody
visits in the tests is covered too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import html as lxml_html

from site_builder.gate.findings import Finding

# Elements whose URL attribute makes the browser fetch something.
FETCHING_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "audio": ("src",),
    "video": ("src", "poster"),
    "track": ("src",),
    "form": ("action",),
    "input": ("src", "formaction"),
    "button": ("formaction",),
    "image": ("href",),
    "use": ("href",),
}

CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)
TRACKERS = re.compile(
    r"document\.cookie|googletagmanager|google-analytics|gtag\(|_gaq|\bga\(\s*['\"]create|"
    r"plausible\.io|matomo|piwik|hotjar|fbq\(|clarity\.ms|segment\.(?:io|com)|"
    r"newrelic|nr-data|sentry\.io|navigator\.sendBeacon", re.I)

SAFE_SOURCES = {"'self'", "'none'", "'unsafe-inline'", "'unsafe-eval'", "'wasm-unsafe-eval'",
                "data:", "blob:", "'strict-dynamic'", "'report-sample'"}
FETCH_DIRECTIVES = {"default-src", "script-src", "style-src", "img-src", "font-src",
                    "connect-src", "frame-src", "media-src", "object-src", "worker-src",
                    "manifest-src", "child-src", "form-action", "script-src-elem",
                    "style-src-elem", "base-uri"}


def is_external(url: str) -> bool:
    """True when fetching ``url`` would contact another host."""
    url = url.strip()
    if not url:
        return False
    if url.startswith("//"):
        return True
    return urlsplit(url).scheme in ("http", "https", "ws", "wss", "ftp")


def check_css(rel: str, text: str) -> list[Finding]:
    out = []
    for m in CSS_URL.finditer(text):
        url = m.group(1) or m.group(2)
        if url and is_external(url):
            out.append(Finding("external", rel, "a stylesheet loads from another host",
                               where=f"line {text.count(chr(10), 0, m.start()) + 1}",
                               evidence=url, hint="serve fonts and images from the site itself"))
    return out


def check_script_text(rel: str, text: str) -> list[Finding]:
    """Cookies and analytics in JavaScript (files or inline)."""
    out = []
    for m in TRACKERS.finditer(text):
        out.append(Finding("external", rel, "cookie or tracking code",
                           where=f"line {text.count(chr(10), 0, m.start()) + 1}",
                           evidence=m.group(),
                           hint="the public site sets no cookies and tracks no one "
                                "(DESE privacy policy); remove the snippet"))
    return out


def check_csp(rel: str, policy: str | None) -> list[Finding]:
    """The page must carry a CSP that forbids every other origin."""
    hint = ("add <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; "
            "...\"> in the theme override")
    if policy is None:
        return [Finding("external", rel, "no Content-Security-Policy meta tag", hint=hint)]
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        tokens = part.split()
        if tokens:
            directives[tokens[0].lower()] = tokens[1:]
    out = []
    if "default-src" not in directives:
        out.append(Finding("external", rel, "the Content-Security-Policy has no default-src",
                           evidence=policy, hint=hint))
    for name, sources in sorted(directives.items()):
        if name not in FETCH_DIRECTIVES:
            continue
        for s in sources:
            low = s.lower()
            if low in SAFE_SOURCES or low.startswith(("'nonce-", "'sha256-", "'sha384-",
                                                      "'sha512-")):
                continue
            out.append(Finding("external", rel,
                               f"the Content-Security-Policy allows another origin in {name}",
                               evidence=s, hint="allow only 'self' (and data: for images)"))
    return out


def check_html(rel: str, text: str) -> list[Finding]:
    """External fetches, inline tracking and the CSP of one HTML page."""
    try:
        doc = lxml_html.document_fromstring(text)
    except Exception as err:  # lxml raises several types for garbage
        return [Finding("hygiene", rel, "the page is not parseable HTML", evidence=str(err))]
    out: list[Finding] = []
    for el in doc.iter(*FETCHING_ATTRS):
        for attr in FETCHING_ATTRS[el.tag]:
            value = el.get(attr)
            if not value:
                continue
            urls = [u.strip().split(" ")[0] for u in value.split(",")] if attr == "srcset" \
                else [value]
            for url in urls:
                if is_external(url):
                    out.append(Finding(
                        "external", rel, f"<{el.tag} {attr}> points to another host",
                        where=f"line {el.sourceline}", evidence=url,
                        hint="copy the file into the site and link it relatively; the public "
                             "site loads nothing from other hosts"))
    for el in doc.iter("script"):
        if el.text and not el.get("type", "").endswith("json"):
            out += check_script_text(rel, el.text)
    for el in doc.iter("style"):
        if el.text:
            out += check_css(rel, el.text)
    for el in doc.iter():
        style = el.get("style") if isinstance(el.tag, str) else None
        if style:
            out += check_css(rel, style)
    metas = [m.get("content", "") for m in doc.iter("meta")
             if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    out += check_csp(rel, metas[0] if metas else None)
    return out
