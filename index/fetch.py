"""Fetch one web page (an article or a feed) safely: the first stage of adding a story from a link.

httpx (already the project's HTTP client) with redirects followed here, hop by hop, so each hop
is checked like the first: http/https only, at most :attr:`FetchPolicy.max_redirects`, one
deadline for the whole fetch, a size cap counted while streaming (Content-Length first), and only
the content types the caller accepts.

No server-side request forgery through the bot: the host name is resolved here and the request
is sent to that very address (the Host header and TLS SNI keep the name), so a name that resolves
to a public address when checked and to 127.0.0.1 when connecting cannot pass. Addresses that are
private, loopback, link-local, reserved, multicast, unspecified or otherwise not global (IPv4,
IPv6, and IPv4 inside IPv6) are refused unless the host is in ``FetchPolicy.allow_hosts``
(``STORYDESK_FETCH_ALLOW_HOSTS``). Environment proxies are ignored for the same reason.

Every refusal is a :class:`FetchError` subclass whose message can be shown to a user as is and
whose ``reason`` is a short label for logs and metrics.

>>> page = fetch("https://example.org/news/story.html", FetchPolicy())
>>> page.url, page.content_type, len(page.body)
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass

import httpx

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
USER_AGENT = "storydesk/0.1 (newsroom question bot)"
_MAX_URL_CHARS = 2048
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class FetchPolicy:
    """The limits of one fetch; ``bot.settings.Settings.fetch_policy()`` builds it from the environment."""

    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = 5 * 1024 * 1024
    timeout_s: float = 10.0
    max_redirects: int = 5


@dataclass(frozen=True)
class Page:
    """What a fetch brought back. ``url`` is the address after redirects; ``not_modified`` is a 304."""

    url: str
    content_type: str = ""
    body: bytes = b""
    charset: str | None = None
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False

    def text(self) -> str:
        """The body as text: the declared charset, else trafilatura's detection (meta tags, then guessing)."""
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:  # a charset Python does not know: detect instead
                pass
        from trafilatura.utils import decode_file

        return decode_file(self.body)


class FetchError(ValueError):
    """A page that was not fetched; the message says why in words a reporter can act on."""

    reason = "error"


class BadAddress(FetchError):
    reason = "bad_url"


class BlockedAddress(FetchError):
    reason = "blocked_address"


class TooManyRedirects(FetchError):
    reason = "redirects"


class FetchTimeout(FetchError):
    reason = "timeout"


class TooLarge(FetchError):
    reason = "too_large"


class WrongType(FetchError):
    reason = "content_type"


class BadStatus(FetchError):
    reason = "http_status"


class Unreachable(FetchError):
    reason = "network"


def check_url(url: str) -> httpx.URL:
    """Parse ``url``; refuse anything but an absolute http(s) address with a host."""
    if len(url) > _MAX_URL_CHARS:
        raise BadAddress(f"the link is longer than {_MAX_URL_CHARS} characters")
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise BadAddress(f"not a valid link ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise BadAddress(f"only http:// and https:// links can be added, not {parsed.scheme or 'a bare'!r} ones")
    if not parsed.host:
        raise BadAddress("the link has no host name")
    return parsed


def is_public(address: str) -> bool:
    """True for an address on the public internet; False for private, loopback, link-local and the like."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public(str(embedded)):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_reserved or ip.is_unspecified)


def _resolve(url: httpx.URL, policy: FetchPolicy) -> str:
    """The address to connect to for ``url``'s host, refused if it is not public and not allowed."""
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise Unreachable(f"the host {host!r} could not be found") from None
    if not infos:
        raise Unreachable(f"the host {host!r} could not be found")
    address = str(infos[0][4][0])
    if host.lower() not in policy.allow_hosts and not is_public(address):
        raise BlockedAddress(f"the link points to a private or local network address ({host} is {address}); "
                             "storydesk only fetches public web pages")
    return address


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _read_capped(response: httpx.Response, policy: FetchPolicy, deadline: float) -> bytes:
    limit_mb = policy.max_bytes / 1e6
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise TooLarge(f"the page is {int(declared) / 1e6:.1f} MB; the limit is {limit_mb:g} MB")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise TooLarge(f"the page is larger than the {limit_mb:g} MB limit")
        if time.monotonic() > deadline:
            raise FetchTimeout(f"the page took longer than {policy.timeout_s:g} s to download")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    accept: tuple[str, ...] = HTML_TYPES,
    etag: str = "",
    last_modified: str = "",
) -> Page:
    """GET ``url`` under ``policy``; only a 2xx (or, with ``etag``/``last_modified``, a 304) of an
    ``accept``-ed content type comes back. Raises a :class:`FetchError` subclass otherwise."""
    current = check_url(url)
    deadline = time.monotonic() + policy.timeout_s
    conditional = {"If-None-Match": etag} if etag else {}
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    with httpx.Client(follow_redirects=False, trust_env=False, headers={"User-Agent": USER_AGENT}) as client:
        for _hop in range(policy.max_redirects + 1):
            address = _resolve(current, policy)
            request = client.build_request(
                "GET",
                current.copy_with(host=address),
                headers={"Host": current.netloc.decode("ascii"), "Accept": ", ".join(accept), **conditional},
                extensions={"sni_hostname": current.host},
                timeout=httpx.Timeout(max(0.1, deadline - time.monotonic())),
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise FetchTimeout(f"{current.host} did not answer within {policy.timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise Unreachable(f"could not reach {current.host} ({type(exc).__name__})") from None
            try:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location", "")
                    if not location:
                        raise BadStatus(f"{current.host} answered a redirect without saying where to")
                    try:
                        current = check_url(str(current.join(location)))
                    except httpx.InvalidURL as exc:
                        raise BadAddress(f"the page redirects to an invalid link ({exc})") from None
                    continue
                return _page(current, response, policy, accept, deadline)
            except httpx.TimeoutException:
                raise FetchTimeout(f"the page took longer than {policy.timeout_s:g} s to download") from None
            except httpx.HTTPError as exc:
                raise Unreachable(f"the download from {current.host} broke off ({type(exc).__name__})") from None
            finally:
                response.close()
    raise TooManyRedirects(f"the link redirects more than {policy.max_redirects} times")


def _page(url: httpx.URL, response: httpx.Response, policy: FetchPolicy, accept: tuple[str, ...],
          deadline: float) -> Page:
    validators = {"etag": response.headers.get("etag", ""), "last_modified": response.headers.get("last-modified", "")}
    if response.status_code == 304:
        return Page(str(url), not_modified=True, **validators)
    if not 200 <= response.status_code < 300:
        raise BadStatus(f"the server answered HTTP {response.status_code} for {url}")
    kind = _content_type(response)
    if kind not in accept:
        wanted = " or ".join(name for types, name in ((HTML_TYPES, "an HTML page"), (FEED_TYPES, "an RSS or Atom feed"))
                             if set(types) & set(accept))
        raise WrongType(f"the link is {kind or 'of no declared type'}, not {wanted}")
    body = _read_capped(response, policy, deadline)
    return Page(str(url), kind, body, response.charset_encoding, **validators)
