"""The production server: Slack over HTTP (Starlette + uvicorn) or Socket Mode, plus ``/healthz``.

>>> serve(Settings.from_env(), http=True, host="0.0.0.0", port=3000)   # what `storydesk serve --http` does

Routes in HTTP mode:

- ``POST /slack/events``: slash commands, events and interactivity, through bolt's Starlette adapter.
- ``GET /healthz``: 200 with ``desk.health()`` when the index and model are ready, else 503 (also
  while the index's database is down: readiness reads its generation on every probe).
- ``GET /metrics``: Prometheus text format (:mod:`bot.metrics`); Socket Mode serves it beside ``/healthz``.
- ``POST /discord/interactions`` (:class:`bot.discord_app.DiscordEndpoint`) when ``DISCORD_PUBLIC_KEY`` is set.

The model and index load once, in :func:`serve`, before the server accepts a request. With
``STORYDESK_LOG_FORMAT=json`` each log line is one JSON object (:class:`JsonLines`), carrying
the ``ref`` a user was shown when there is one; standard library ``logging`` and ``json`` are
enough for that, so no logging library is added.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import uvicorn
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.allocator import tune_malloc
from bot.answer import unavailable_message
from bot.bindings import ChatBindings, open_bindings
from bot.commands import new_ref
from bot.discord_app import DiscordEndpoint
from bot.http_guard import Rejected, check_slack_body, decode_text, read_body, slack_signature_ok
from bot.metrics import Metrics
from bot.settings import Settings
from bot.slack_api import RedactSecrets
from bot.slack_app import SlackSurface, build_surface
from index.store import StoreUnavailable

if TYPE_CHECKING:
    from bot.poller import FeedPoller

log = logging.getLogger(__name__)


class GuardedSlackHandler:
    """``POST /slack/events``: bounded read, signature on the raw bytes, shape check, then bolt.

    bolt parses the body before it verifies the signature, and raises on bodies it cannot parse
    (a 500 and a 59-line traceback per request); so nothing reaches it that is unsigned, over
    :data:`~bot.settings.MAX_BODY_BYTES`, not UTF-8, or not a request storydesk handles.
    bolt is handed the body parsed here, not its own parse of the form (see :meth:`handle`).
    ``App.dispatch`` is synchronous and waits (up to 3 s) for the listener to ack, so it runs in a
    worker thread: on the event loop it would hold up every other request, ``/healthz`` included.
    A signed body seen before (a replay within Slack's 5-minute window) is acked and dropped.
    """

    def __init__(self, surface: SlackSurface, settings: Settings) -> None:
        self.surface = surface
        self.secret = settings.slack_signing_secret
        self.max_body = settings.max_body_bytes
        self.body_timeout_s = settings.body_timeout_s

    async def handle(self, request: Request) -> Response:
        try:
            raw = await read_body(request, self.max_body, self.body_timeout_s)
            if not slack_signature_ok(self.secret, request.headers, raw):
                return JSONResponse({"error": "invalid request signature"}, status_code=401)
            body = check_slack_body(decode_text(raw), request.headers.get("content-type", ""))
        except Rejected as exc:
            log.warning("slack: refused a request with %d: %s", exc.status, exc.reason)
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        if body.get("type") == "app_rate_limited":  # Slack wants a 200; there is nothing to answer
            log.warning("slack: Slack rate-limited this app's events (minute %s); that minute's events are lost",
                        str(body.get("minute_rate_limited"))[:20])
            return Response(status_code=200)
        checks = body.get("type") == "url_verification" or body.get("ssl_check") == "1"
        try:
            first = checks or self.surface.claim_once("body:" + hashlib.sha256(raw).hexdigest())
        except StoreUnavailable as exc:
            return _unavailable(body, exc)
        if not first:
            log.info("slack: dropped a replayed request")
            return Response(status_code=200)
        try:
            bolt_request = to_bolt_request(request, raw)
            # bolt parses the body again, its own way: a form with "payload" anywhere in it (a
            # question about a rocket's payload) reads as an empty interaction, and the question
            # was lost. It is handed the body checked here instead.
            bolt_request.body = body
            bolt_request.context = build_context(BoltContext(), body)
            response = await run_in_threadpool(self.surface.app.dispatch, bolt_request)
        except Exception as exc:  # a payload shape bolt trips on: the sender's fault, not ours
            log.warning("slack: could not dispatch a signed request: %s: %s", type(exc).__name__, str(exc)[:120])
            return JSONResponse({"error": "malformed request"}, status_code=400)
        if response.status >= 500:  # the listener's own error was logged with a ref by on_error
            log.warning("slack: bolt answered %d; sent 400", response.status)
            return JSONResponse({"error": "request could not be handled"}, status_code=400)
        if response.status == 404:  # no listener for it (bolt logged it, on one line): a bad request
            return JSONResponse({"error": "unhandled request"}, status_code=400)
        return to_starlette_response(response)


def _unavailable(body: dict[str, Any], exc: StoreUnavailable) -> Response:
    """The shared database is down (issue #15), so nothing can be claimed or answered now.

    A slash command hears it at once, privately (its HTTP response is shown only to the asker);
    an event gets 503, so Slack delivers it again later, when the database may be back.
    """
    ref = new_ref()
    log.warning("slack: unavailable (ref %s): %s", ref, exc)
    if "command" in body:
        return JSONResponse({"response_type": "ephemeral", "text": unavailable_message(ref)})
    return JSONResponse({"error": "unavailable", "ref": ref}, status_code=503)


def _health(desk: Any) -> dict[str, Any]:
    try:
        return dict(desk.health())
    except Exception as exc:  # a broken index is exactly what /healthz must report, not crash on
        log.exception("health check failed")
        return {"ready": False, "error": type(exc).__name__}


def _feeds_health(poller: FeedPoller | None) -> dict[str, Any]:
    """Followed feeds and the failing ones; a feed's trouble is reported, never a reason for 503."""
    if poller is None:
        return {}
    try:
        return {"feeds": poller.health()}
    except Exception as exc:  # the follows file unreadable: say so in the report
        log.warning("feed health failed: %s: %s", type(exc).__name__, str(exc)[:200])
        return {"feeds": {"error": type(exc).__name__}}


def health_route(desk: Any, poller: FeedPoller | None = None) -> Route:
    """``GET /healthz``: index and model readiness, 200 or 503; with feeds followed, how their polls go."""

    async def healthz(_: Request) -> Response:
        report = await run_in_threadpool(_health, desk)
        report.update(await run_in_threadpool(_feeds_health, poller))
        return JSONResponse(report, status_code=200 if report.get("ready") else 503)

    return Route("/healthz", healthz, methods=["GET"])


def metrics_route(metrics: Metrics) -> Route:
    """``GET /metrics``: the app's own registry in Prometheus' text format."""

    async def scrape(_: Request) -> Response:
        body, content_type = await run_in_threadpool(metrics.exposition)  # counting stories reads the index
        return Response(body, headers={"Content-Type": content_type})

    return Route("/metrics", scrape, methods=["GET"])


def create_http_app(
    desk: Any,
    settings: Settings,
    bindings: ChatBindings | None = None,
    *,
    surface: SlackSurface | None = None,
    metrics: Metrics | None = None,
    poller: FeedPoller | None = None,
) -> Starlette:
    """The Starlette app for HTTP mode. ``app.state.slack`` holds the :class:`SlackSurface` (or None),
    ``app.state.discord`` the :class:`~bot.discord_app.DiscordEndpoint` (or None),
    ``app.state.metrics`` the app's :class:`~bot.metrics.Metrics` (for other parts to count into).

    Slack's route is mounted when a bot token is configured; Discord's when its public key is.
    """
    bindings = bindings or open_bindings(settings)
    if metrics is None:
        metrics = surface.commands.metrics if surface is not None and surface.commands.metrics else Metrics(desk)
    routes: list[BaseRoute] = [health_route(desk, poller), metrics_route(metrics)]
    if surface is None and settings.slack_bot_token:
        surface = build_surface(desk, settings, bindings, metrics=metrics)
    if surface is not None:
        surface.commands.metrics = surface.commands.metrics or metrics
        routes.append(Route("/slack/events", GuardedSlackHandler(surface, settings).handle, methods=["POST"]))
    # Discord's route when its public key is configured.
    discord = DiscordEndpoint(desk, settings, bindings, metrics=metrics) if settings.discord_public_key else None
    if discord is not None:
        routes.append(discord.route())
    app = Starlette(routes=routes)
    app.state.slack = surface
    app.state.discord = discord
    app.state.desk = desk
    app.state.metrics = metrics
    app.state.poller = poller
    return app


def create_health_app(desk: Any, metrics: Metrics | None = None, poller: FeedPoller | None = None) -> Starlette:
    """``/healthz`` and ``/metrics``: what Socket Mode serves on ``STORYDESK_HEALTH_PORT``."""
    return Starlette(routes=[health_route(desk, poller), metrics_route(metrics or Metrics(desk))])


class JsonLines(logging.Formatter):
    """One JSON object per log line: time, level, logger, message, and ``ref`` (the reference a
    user was shown) and the traceback when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ref = getattr(record, "ref", None)
        if ref:
            line["ref"] = ref
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


JsonLines.converter = time.gmtime  # times in UTC, as the trailing Z says


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if settings.log_format == "json":
            handler.setFormatter(JsonLines())
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())


def serve(settings: Settings, *, http: bool = False, host: str | None = None, port: int | None = None) -> None:
    """Run storydesk for Slack (and Discord) until interrupted.

    Socket Mode when ``SLACK_APP_TOKEN`` is set and ``http`` is False: no public URL needed, and
    ``/healthz`` is served on ``settings.health_port``. Otherwise HTTP mode: uvicorn on ``host``:``port``
    (default ``settings.host``/``settings.port``) with ``POST /slack/events`` and ``GET /healthz``.

    The model and index load here, once, before anything listens. Raises ``SystemExit`` with a
    readable message when the configuration cannot work (e.g. no signing secret for HTTP mode).
    """
    from bot.answer import Desk  # imported here: loading it pulls in the model stack
    from bot.poller import start_poller

    _configure_logging(settings)
    host = host or settings.host
    port = port or settings.port
    socket_mode = bool(settings.slack_app_token) and not http
    if not settings.slack_bot_token and not (http and settings.discord_public_key):
        raise SystemExit("SLACK_BOT_TOKEN is not set; see docs/slack.md")
    if settings.slack_bot_token and not socket_mode and not settings.slack_signing_secret:
        raise SystemExit("HTTP mode needs SLACK_SIGNING_SECRET to verify requests; see docs/slack.md")

    log.info("loading the index from %s and the model", "the database" if settings.database_url else settings.index_dir)
    tune_malloc()  # before the model loads and the worker threads start: see bot/allocator.py
    desk = Desk.open(settings)
    # The loaded index is a few hundred thousand long-lived objects; a full garbage collection
    # walks them all while every thread, acks included, waits. Freezing moves them out of the
    # collector's sight (bench slack, 500 requests at 20 at a time: ack p99 268-382 ms -> 65-86 ms).
    gc.collect()
    gc.freeze()
    bindings = open_bindings(settings)
    log.info("desk ready: %s", _health(desk))
    metrics = Metrics(desk)
    poller = start_poller(desk, settings, metrics)  # followed feeds, polled in the background
    try:
        _serve(desk, settings, bindings, metrics, poller, socket_mode=socket_mode, host=host, port=port)
    finally:
        poller.stop()


def server_config(app: Any, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration for the chat endpoints: our logging, and at most
    ``settings.max_connections`` connections (past it a new request gets 503 at once)."""
    # JSON logs: uvicorn's own lines go through the root handler too, instead of its text config.
    log_config = None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    return uvicorn.Config(app, host=host, port=port, log_level=settings.log_level.lower(), access_log=False,
                          log_config=log_config, limit_concurrency=settings.max_connections)


def _serve(desk: Any, settings: Settings, bindings: ChatBindings, metrics: Metrics, poller: FeedPoller, *,
           socket_mode: bool, host: str, port: int) -> None:
    if not socket_mode:
        app = create_http_app(desk, settings, bindings, metrics=metrics, poller=poller)
        log.info("storydesk listening on http://%s:%d (POST /slack/events, GET /healthz, GET /metrics)", host, port)
        uvicorn.Server(server_config(app, settings, host, port)).run()
        for adapter in (app.state.slack, app.state.discord):
            if adapter is not None:
                adapter.close()
        return

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    surface = build_surface(desk, settings, bindings, metrics=metrics)
    health = uvicorn.Server(
        uvicorn.Config(create_health_app(desk, metrics, poller), host=host, port=settings.health_port,
                       log_level="warning")
    )
    threading.Thread(target=health.run, name="storydesk-health", daemon=True).start()
    log.info("storydesk in Socket Mode; /healthz and /metrics on http://%s:%d", host, settings.health_port)
    handler = SocketModeHandler(surface.app, app_token=settings.slack_app_token)
    try:
        handler.start()
    finally:
        health.should_exit = True
        handler.close()
        surface.close()
