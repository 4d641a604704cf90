"""A real HTTP server on 127.0.0.1 serving what the tests put in it: article pages, feeds, traps.

The standard library's ``ThreadingHTTPServer`` in a daemon thread. Each route is a :class:`Route`;
tests change ``site.routes`` while the server runs (a page updated, a feed grown). Routes with an
``etag`` or ``last_modified`` answer conditional requests with 304, and every request is logged in
``site.requests`` (path and headers) so tests can see what the client sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    # Stream this many bytes of filler without a Content-Length (a huge file that lies by omission).
    stream_bytes: int = 0
    # Seconds to wait between streamed chunks (a server that drips).
    drip_s: float = 0.0


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path)
                if route is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found")
                    return
                validators = {k: v for k, v in (("ETag", route.etag), ("Last-Modified", route.last_modified)) if v}
                if (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                    route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
                ):
                    self._send(304, validators, b"")
                    return
                headers = {"Content-Type": route.content_type, **validators, **route.headers}
                if route.stream_bytes:
                    self._stream(route, headers)
                    return
                self._send(route.status, headers, route.body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, route: Route, headers: dict[str, str]) -> None:
                self.send_response(route.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in _filler(route.stream_bytes):
                        self.wfile.write(chunk)
                        if route.drip_s:
                            time.sleep(route.drip_s)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A client that hangs up mid-body (as the fetcher does on a huge page) is expected here.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Site:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _filler(total: int) -> Iterator[bytes]:
    chunk = b"<p>" + b"x" * 65530 + b"</p>"
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


def article(headline: str, paragraphs: list[str], *, byline: str = "", date: str = "", canonical: str = "") -> bytes:
    """A small news article page, the shape trafilatura reads: title, author, date, canonical link."""
    meta = f'<meta name="author" content="{byline}">' if byline else ""
    if date:
        meta += f'<meta property="article:published_time" content="{date}">'
    if canonical:
        meta += f'<link rel="canonical" href="{canonical}">'
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{headline}</title>{meta}</head><body>"
            f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
            f"<article><h1>{headline}</h1>{body}</article>"
            f"<footer>Copyright 2026 The Example Gazette</footer></body></html>").encode()
