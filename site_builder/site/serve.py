"""``reportcard serve``: a static file server on 127.0.0.1 that sets no cookies."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from site_builder.errors import ReportcardError


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files only; no cookies, no logging of visitors' addresses."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".csv": "text/csv; charset=utf-8",
                      ".json": "application/json"}

    def end_headers(self) -> None:
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def make_server(site: Path, port: int) -> http.server.ThreadingHTTPServer:
    site = Path(site)
    if not (site / "index.html").is_file():
        raise ReportcardError(f"{site}: no index.html here.\n  Hint: build the site first "
                              f"with `reportcard build --out {site}` or `reportcard publish`")
    handler = functools.partial(_Handler, directory=str(site))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_site(site: Path, port: int = 8000) -> None:
    server = make_server(site, port)
    print(f"Serving {site} on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
