"""The safe fetcher against a real loopback server: limits, redirects, types, and private addresses."""

from __future__ import annotations

import pytest
from site_stub import Route, article

from index.fetch import (
    FEED_TYPES,
    BadAddress,
    BadStatus,
    BlockedAddress,
    FetchPolicy,
    FetchTimeout,
    TooLarge,
    TooManyRedirects,
    Unreachable,
    WrongType,
    fetch,
    is_public,
)

LOOPBACK = FetchPolicy(allow_hosts=frozenset({"127.0.0.1"}))


@pytest.fixture(scope="module", autouse=True)
def pages(site):
    site.routes.update({
        "/f/story.html": Route(article("Council votes to close the pier", ["The council voted on Monday."])),
        "/f/latin1.html": Route("<html><body><p>Caf\xe9 owners protest</p></body></html>".encode("latin-1"),
                                content_type="text/html; charset=iso-8859-1"),
        "/f/report.pdf": Route(b"%PDF-1.4 ...", content_type="application/pdf"),
        "/f/untyped": Route(b"<p>what am I</p>", content_type=""),
        "/f/huge-declared.html": Route(b"<p>small really</p>", headers={"Content-Length": str(50 * 1024 * 1024)}),
        "/f/huge-streamed.html": Route(stream_bytes=6 * 1024 * 1024),
        "/f/drip.html": Route(stream_bytes=400_000, drip_s=0.1),
        "/f/loop-a": Route(status=302, headers={"Location": "/f/loop-b"}),
        "/f/loop-b": Route(status=302, headers={"Location": "/f/loop-a"}),
        "/f/hop1": Route(status=301, headers={"Location": "/f/hop2"}),
        "/f/hop2": Route(status=307, headers={"Location": "/f/story.html"}),
        "/f/gone.html": Route(b"gone", status=410),
        "/f/cond.xml": Route(b"<rss version='2.0'><channel></channel></rss>", content_type="application/rss+xml",
                             etag='"v1"', last_modified="Tue, 01 Dec 2026 10:00:00 GMT"),
    })


def test_an_article_page_comes_back_with_its_type_and_text(site):
    page = fetch(site.url("/f/story.html"), LOOPBACK)
    assert page.url == site.url("/f/story.html")
    assert page.content_type == "text/html"
    assert "Council votes to close the pier" in page.text()


def test_the_declared_charset_decodes_the_page(site):
    assert "Café owners protest" in fetch(site.url("/f/latin1.html"), LOOPBACK).text()


def test_redirects_are_followed_hop_by_hop_and_the_final_address_kept(site):
    page = fetch(site.url("/f/hop1"), LOOPBACK)
    assert page.url == site.url("/f/story.html")
    assert b"close the pier" in page.body


def test_a_redirect_loop_is_refused_after_five_hops(site):
    before = len(site.requests)
    with pytest.raises(TooManyRedirects, match="more than 5 times"):
        fetch(site.url("/f/loop-a"), LOOPBACK)
    assert len(site.requests) - before == 6  # the first request and five redirects, no more


@pytest.mark.parametrize("path, error, words", [
    ("/f/report.pdf", WrongType, "application/pdf, not an HTML page"),
    ("/f/untyped", WrongType, "no declared type"),
    ("/f/huge-declared.html", TooLarge, "52.4 MB; the limit is 5.24288 MB"),
    ("/f/huge-streamed.html", TooLarge, "larger than"),
    ("/f/gone.html", BadStatus, "HTTP 410"),
    ("/f/nowhere", BadStatus, "HTTP 404"),
])
def test_refusals_say_why(site, path, error, words):
    with pytest.raises(error) as caught:
        fetch(site.url(path), LOOPBACK)
    assert words in str(caught.value)
    assert caught.value.reason  # a label for logs and metrics


def test_a_server_that_drips_runs_into_the_deadline(site):
    with pytest.raises(FetchTimeout):
        fetch(site.url("/f/drip.html"), FetchPolicy(allow_hosts=LOOPBACK.allow_hosts, timeout_s=0.5))


@pytest.mark.parametrize("url", [
    "ftp://example.org/story.html", "file:///etc/passwd", "javascript:alert(1)", "example.org/story",
    "http:///nohost", "https://" + "a" * 3000 + ".org/",
])
def test_only_http_and_https_links(url):
    with pytest.raises(BadAddress):
        fetch(url, FetchPolicy())


def test_loopback_is_refused_unless_its_host_is_allowed(site):
    port = site.port
    for url in (f"http://127.0.0.1:{port}/f/story.html",
                f"http://localhost:{port}/f/story.html",  # a name that resolves to loopback
                f"http://2130706433:{port}/f/story.html",  # 127.0.0.1 written as one number
                f"http://0x7f.1:{port}/f/story.html"):
        with pytest.raises(BlockedAddress, match="private or local network address"):
            fetch(url, FetchPolicy())
    # allowing one name does not allow another that resolves to the same address
    with pytest.raises(BlockedAddress):
        fetch(f"http://localhost:{port}/f/story.html", LOOPBACK)
    assert fetch(f"http://localhost:{port}/f/story.html", FetchPolicy(allow_hosts=frozenset({"localhost"}))).body


def test_a_redirect_to_a_private_address_is_refused(site):
    # The allowed host redirects to a name that is not allowed: the hop is checked like the first request.
    site.routes["/f/to-private"] = Route(status=302, headers={"Location": f"http://localhost:{site.port}/f/story.html"})
    with pytest.raises(BlockedAddress):
        fetch(site.url("/f/to-private"), LOOPBACK)
    site.routes["/f/to-file"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(BadAddress):
        fetch(site.url("/f/to-file"), LOOPBACK)


@pytest.mark.parametrize("address, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("240.0.0.1", False), ("255.255.255.255", False), ("::1", False), ("fe80::1", False), ("fc00::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("2002:7f00:1::", False), ("ff02::1", False),
    ("::", False), ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
])
def test_address_ranges(address, public):
    assert is_public(address) is public


def test_an_unknown_host_is_unreachable():
    with pytest.raises(Unreachable, match="could not be found"):
        fetch("http://no-such-host.invalid/story.html", FetchPolicy())


def test_conditional_requests_get_304_and_the_validators(site):
    first = fetch(site.url("/f/cond.xml"), LOOPBACK, accept=FEED_TYPES)
    assert (first.etag, first.last_modified) == ('"v1"', "Tue, 01 Dec 2026 10:00:00 GMT")
    again = fetch(site.url("/f/cond.xml"), LOOPBACK, accept=FEED_TYPES, etag=first.etag)
    assert again.not_modified and again.body == b""
    assert site.requests[-1][1]["if-none-match"] == '"v1"'
    by_date = fetch(site.url("/f/cond.xml"), LOOPBACK, accept=FEED_TYPES, last_modified=first.last_modified)
    assert by_date.not_modified
