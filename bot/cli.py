"""The ``storydesk`` command line: ingest, ask, quotes, check, eval, serve, feedback.

Every command reads its defaults from :class:`bot.settings.Settings`; ``--index`` overrides the
index folder. Bad input exits with status 2 and a one-line ``error:`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import PROJECT_ROOT, Settings, SettingsError, database_url, open_index
from index.validate import MAX_K, QuestionError, validate_check_words, validate_question, without_control_characters

if TYPE_CHECKING:
    from bot.answer import Desk
    from bot.follows import FollowedFeed
    from bot.progress import IngestProgress
    from index.models import Story
    from index.store import IndexStore

log = logging.getLogger("storydesk")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "index", None):
        settings = Settings(**{**settings.__dict__, "index_dir": Path(args.index)})
    if getattr(args, "database", None):
        settings = Settings(**{**settings.__dict__, "database_url": database_url(args.database)})
    return settings


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {without_control_characters(message)}", file=sys.stderr)
    return code


def _show(text: str) -> None:
    """Print text for a terminal: escape sequences from a question or a story file are defused."""
    print(without_control_characters(text))


def _k(value: str) -> int:
    """``-k``: a whole number from 1 to MAX_K, or argparse's usage error saying so."""
    try:
        k = int(value)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_K}, not {value!r}")
    return k


def _same_ids(paths: list[Path], story_id: str | None) -> dict[str, list[Path]]:
    """Story ids that more than one of ``paths`` would get (the id is the file name's stem)."""
    by_id: dict[str, list[Path]] = defaultdict(list)
    for path in paths:
        by_id[story_id or path.stem].append(path)
    return {sid: found for sid, found in by_id.items() if len(found) > 1}


# --- index management ------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.progress import IngestProgress, IngestSummary
    from index.embed import Embedder
    from index.fetch import FetchError
    from index.indexer import ingest
    from index.ingest import IngestError, discover, load_story
    from index.pages import desk_links, outcome

    settings = _settings(args)
    store = open_index(settings)
    if args.if_empty and store.list_stories():
        return 0
    links = [a for a in args.paths if _is_link(a)]
    try:
        files = [Path(a) for a in args.paths if not _is_link(a)]
        # The same file named twice (or found twice through a folder) is one story.
        paths = list(dict.fromkeys(p.resolve() for p in discover(files))) if files else []
        if args.id and len(paths) + len(links) != 1:
            return _fail("--id names one story: give exactly one file or link with it")
        if args.url and links:
            return _fail("--url is for files: a link's story keeps the page's own address")
        # Before any file is read or the model loads: two files would each replace the other.
        same = _same_ids(paths, args.id)
        if same:
            sid, found = next(iter(same.items()))
            return _fail(f"story id {sid!r} would come from {len(found)} files ({', '.join(map(str, found))}); "
                         "rename one, or ingest it on its own with --id")
        progress = IngestProgress(sys.stdout)
        progress.phase("reading", len(paths) + len(links))
        stories, errors = [], []
        for path in paths:
            try:
                stories.append(load_story(path, story_id=args.id, url=args.url or ""))
            except IngestError as exc:
                errors.append(str(exc))
            progress.step(str(path))
        taken = {**desk_links(store), **{s.id: s.url for s in stories}}
        skipped = 0
        for link in links:
            try:
                read, failures = _read_link(link, settings, args.id, taken, progress)
                stories.extend(read)
                skipped += len(failures)
                for failure in failures:
                    print(f"skipped: {without_control_characters(failure)}", file=sys.stderr)
            except (FetchError, IngestError) as exc:
                errors.append(f"{link}: {exc}")
            progress.step(link)
    except IngestError as exc:
        return _fail(str(exc))
    if errors:
        progress.close()
        for e in errors:
            print(f"error: {without_control_characters(e)}", file=sys.stderr)
        if not args.skip_bad:
            print("Nothing was ingested (fix the files or links above, or pass --skip-bad).", file=sys.stderr)
            return 2
    if not stories:
        progress.close()
        return _fail("no readable stories to ingest")
    embedder = Embedder.load(settings.model_dir)
    summary = IngestSummary(failed=len(errors) + skipped)
    # In slices, so the bar moves while the model works; few enough that each write stays cheap.
    step = max(16, len(stories) // 20)
    progress.phase("indexing", len(stories))
    try:
        for i in range(0, len(stories), step):
            chunk = stories[i : i + step]
            report = ingest(store, embedder, chunk)
            for story in chunk:
                kind = outcome(report, story.id)
                setattr(summary, kind, getattr(summary, kind) + 1)
            progress.step(chunk[-1].id, len(chunk))
    except IngestError as exc:
        progress.close()
        return _fail(str(exc))
    summary.seconds = progress.close()
    print(summary.line(store.location))
    return 2 if errors else 0


# --- links and feeds (issue #14) -----------------------------------------------------------


def _is_link(arg: str) -> bool:
    return arg.lower().startswith(("http://", "https://"))


def _read_link(link: str, settings: Settings, story_id: str | None, taken: dict[str, str],
               progress: IngestProgress) -> tuple[list[Story], list[str]]:
    """The stories behind ``link``: one for an article page; one per article for an RSS or Atom feed.

    A feed's articles that cannot be read are skipped and returned as messages (one paywalled page
    must not hold back the rest); a page or feed that cannot be read raises.
    """
    from index.feeds import parse_feed
    from index.fetch import FEED_TYPES, HTML_TYPES, FetchError, fetch
    from index.ingest import IngestError
    from index.pages import load_page, story_from_page

    policy = settings.fetch_policy()
    page = fetch(link, policy, accept=HTML_TYPES + FEED_TYPES)
    if page.content_type not in FEED_TYPES:
        story = story_from_page(page, story_id=story_id, taken=taken)
        taken[story.id] = story.url
        return [story], []
    if story_id:
        raise IngestError("--id names one story, and this link is a feed of many")
    feed = parse_feed(page)
    progress.grow(len(feed.entries))
    stories: dict[str, Story] = {}
    failures: list[str] = []
    for entry in feed.entries:
        try:
            story = load_page(entry.link, policy, taken=taken)
            taken[story.id] = story.url
            stories.setdefault(story.id, story)  # two entries for one canonical page are one story
        except (FetchError, IngestError) as exc:
            failures.append(f"{entry.link}: {exc}")
        progress.step(entry.link)
    return list(stories.values()), failures


def cmd_remove(args: argparse.Namespace) -> int:
    store = open_index(_settings(args))
    known = store.story_hashes()
    missing = [s for s in args.ids if s not in known]
    if missing:
        return _fail(f"no story with id {', '.join(missing)} in the index")
    info = store.model_info()
    assert info is not None  # an index with stories has a recorded model
    store.write([], remove=args.ids, model=info)
    print(f"Removed {', '.join(args.ids)}")
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    from bot.render_text import render_stories
    stories = open_index(_settings(args)).list_stories()
    if args.json:
        print(json.dumps([asdict(s) for s in stories], ensure_ascii=False))
    else:
        _show(render_stories(stories))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from bot.render_text import render_story
    stories = open_index(_settings(args)).snapshot().stories
    if args.id not in stories:
        return _fail(f"no story with id {args.id!r} in the index")
    _show(render_story(stories[args.id]))
    return 0


# --- questions ---------------------------------------------------------------------------


def _open_desk(args: argparse.Namespace) -> Desk:
    from bot.answer import Desk

    return Desk.open(_settings(args))


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.render_text import answer_json, render_answer

    if args.question == "-":
        desk = _open_desk(args)
        status = 0
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                print(answer_json(desk.ask(line.strip(), story=args.story, k=args.k)), flush=True)
            except QuestionError as exc:
                print(json.dumps({"question": line.strip(), "error": str(exc)}), flush=True)
                status = 2
        return status
    try:
        validate_question(args.question)  # before the model loads: a typo costs nothing
        desk = _open_desk(args)
        answer = desk.ask(args.question, story=args.story, k=args.k)
    except QuestionError as exc:
        return _fail(str(exc))
    if args.json:
        print(answer_json(answer))
    else:
        _show(render_answer(answer))
    return 0


def cmd_quotes(args: argparse.Namespace) -> int:
    from bot.render_text import quote_dict, render_quotes

    desk = _open_desk(args)
    if args.story and not desk.has_story(args.story):
        return _fail(f"no story with id {args.story!r} in the index")
    result = desk.quotes(args.story, args.speaker)
    if args.json:
        print(json.dumps([quote_dict(q) for q in result.quotes], ensure_ascii=False))
    else:
        _show(render_quotes(result))
    return 0 if result.found else 1


def cmd_check(args: argparse.Namespace) -> int:
    from bot.render_text import render_check

    try:
        words = validate_check_words(args.words)  # before the model loads: a slip costs nothing
    except QuestionError as exc:
        return _fail(str(exc))
    desk = _open_desk(args)
    if args.story and not desk.has_story(args.story):
        return _fail(f"no story with id {args.story!r} in the index")
    result = desk.check(words, story=args.story)
    if args.json:
        print(json.dumps(asdict(result), ensure_ascii=False))
    else:
        _show(render_check(result))
    return 0 if result.verdict != "absent" else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from evaluation.evaluate import run_eval

    settings = Settings.from_env()
    shared = Path(args.shared) if args.shared else settings.shared_dir
    corpus = [Path(c) for c in args.corpus] if args.corpus else [PROJECT_ROOT / "stories", shared / "corpus"]
    report = run_eval([Path(f) for f in args.files], corpus=corpus,
                      index_dir=Path(args.index) if args.index else None,
                      model_dir=settings.model_dir, verbose=args.verbose)
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.figures, indent=2))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.server import serve

    settings = _settings(args)
    serve(settings, http=args.http, host=args.host or settings.host, port=args.port or settings.port)
    return 0


def cmd_discord(args: argparse.Namespace) -> int:
    from bot.discord_api import register_commands

    result = register_commands(_settings(args), guild_id=args.guild)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_follow(args: argparse.Namespace) -> int:
    from bot.follows import follow_feed, open_follows
    from bot.story_links import count

    settings = _settings(args)
    follows = open_follows(settings)
    if args.list:
        feeds = follows.list()
        if not feeds:
            print("No feeds followed. Follow one with: storydesk follow URL")
        for followed in feeds:
            _show(f"{followed.url}  {followed.title or '(untitled)'}  {_feed_status(followed)}")
        return 0
    if args.remove:
        if not follows.remove(args.remove):
            return _fail(f"not following {args.remove}; `storydesk follow --list` shows what is followed")
        _show(f"Stopped following {args.remove} (its stories stay on the desk)")
        return 0
    if not args.url:
        return _fail("give a feed URL to follow, or --list, or --remove URL")
    try:
        feed, new = follow_feed(follows, args.url, settings.fetch_policy())
    except ValueError as exc:  # FetchError, FeedError, FollowError: each says why
        return _fail(f"{args.url}: {exc}")
    articles = count(len(feed.entries), "article")
    _show(f"{'Following' if new else 'Already following'} {feed.title or feed.url} ({articles} now); "
          f"storydesk serve checks it every {settings.follow_minutes:g} minutes. "
          f"To add its articles at once: storydesk ingest {feed.url}")
    return 0


def _feed_status(feed: FollowedFeed) -> str:
    import time

    if feed.failures:
        return f"failing ({feed.failures} in a row): {feed.last_error}"
    if not feed.checked_at:
        return "not checked yet"
    return f"ok, checked {round((time.time() - feed.checked_at) / 60)} min ago"


# --- feedback (issue #14 part 3) -----------------------------------------------------------


def _since(value: str) -> float:
    """``--since``: an ISO date or date-time (UTC unless it says otherwise), as a Unix time."""
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2026-12-01 or 2026-12-01T09:30, not {value!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def cmd_feedback(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.feedback import FILENAME, REASONS, open_feedback, training_rows

    settings = _settings(args)
    if not settings.database_url and not (settings.index_dir / FILENAME).exists():
        votes = []
    else:
        store = open_feedback(settings, settings.index_dir)
        votes = store.votes(since=args.since)
        store.close()
    if args.action == "export":
        rows, skipped = training_rows(votes)
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        if args.out:
            Path(args.out).write_text(lines, encoding="utf-8")
        else:
            sys.stdout.write(lines)
        print(f"{len(rows)} training rows from {len(votes)} votes; {skipped} name no right answer "
              "(wrong passage or speaker, other) and need a person to mark it", file=sys.stderr)
        return 0
    if args.json:
        for vote in votes:
            print(json.dumps(vote.to_dict(), ensure_ascii=False))
        return 0
    if not votes:
        print("No feedback yet.")
        return 0
    for vote in votes:
        when = datetime.fromtimestamp(vote.at, UTC).strftime("%Y-%m-%d %H:%M")
        choice = {"up": "👍", "down": "👎"}.get(vote.choice) or "👎 " + REASONS[vote.choice].lower()
        where = ", ".join(f"{p.story} ¶{'-'.join(map(str, p.paragraphs))}" for p in vote.shown[:3]) or "nothing shown"
        _show(f"{when}\t{choice}\t{vote.surface}\t{vote.question}\t{where}")
    return 0


# --- database (issue #15) -------------------------------------------------------------------


def _index_at(place: str, settings: Settings, *, must_exist: bool) -> IndexStore:
    """``place`` as an index: a postgresql:// URL, or a folder (which must hold an index if ``must_exist``)."""
    from index.store import DB_NAME, open_store

    if place.startswith(("postgresql://", "postgres://")):
        return open_store(settings.index_dir, database_url(place), ef_search=settings.hnsw_ef_search,
                          timeout_s=settings.database_timeout_s)
    if must_exist and not (Path(place) / DB_NAME).is_file():
        raise SettingsError(f"no index in the folder {place}")
    return open_store(Path(place))


def cmd_db(args: argparse.Namespace) -> int:
    """``db upgrade``: apply the schema migrations; ``db copy --from A --to B``: move an index."""
    from index import postgres
    from index.embed import Embedder
    from index.store_copy import CopyError, copy_index

    settings = _settings(args)
    if args.action == "upgrade":
        if not settings.database_url:
            return _fail("db upgrade needs a database: --database URL or STORYDESK_DATABASE_URL")
        applied = postgres.upgrade(settings.database_url, settings.database_timeout_s)
        version = postgres.schema_version(settings.database_url)
        print(f"Schema version {version}" + (f": applied {', '.join(applied)}" if applied else ", up to date"))
        return 0
    if not args.source or not args.target:
        return _fail("db copy needs --from (a folder or postgresql:// URL) and --to (the other)")
    try:
        source = _index_at(args.source, settings, must_exist=True)
        embedder = Embedder.load(settings.model_dir) if args.reembed else None
        report = copy_index(source, _index_at(args.target, settings, must_exist=False), embedder)
    except CopyError as exc:
        return _fail(str(exc))
    print("Copied and verified: " + ", ".join(f"{n} {table}" for table, n in report.counts.items()))
    return 0


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storydesk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--index", help="index folder (default: $STORYDESK_INDEX or var/index)")
        p.add_argument("--database", metavar="URL",
                       help="PostgreSQL URL for the index and chat state (default: $STORYDESK_DATABASE_URL)")
        p.set_defaults(func=func)
        return p

    p = command("ingest", cmd_ingest,
                "Index story files (.txt, .md, .html), folders of them, web pages and RSS/Atom feeds (links).")
    p.add_argument("paths", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--id", help="story id (default: the file name without its suffix, or read off the link)")
    p.add_argument("--url", help="the story's web address, shown as a link in replies")
    p.add_argument("--if-empty", action="store_true", help="do nothing if the index has stories")
    p.add_argument("--skip-bad", action="store_true", help="ingest the good files even if some fail")

    p = command("remove", cmd_remove, "Remove stories from the index.")
    p.add_argument("ids", nargs="+")

    p = command("stories", cmd_stories, "List indexed stories.")
    p.add_argument("--json", action="store_true")

    p = command("show", cmd_show, "Print a cleaned story with paragraph numbers and what was dropped.")
    p.add_argument("id")

    p = command("ask", cmd_ask, "Answer a question with cited excerpts ('-' reads one per line).")
    p.add_argument("question")
    p.add_argument("--story", help="search only this story id")
    p.add_argument("-k", type=_k, default=3, help=f"how many passages to return, 1 to {MAX_K} (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per question")

    p = command("quotes", cmd_quotes, "Who said what, grouped by speaker in story order.")
    p.add_argument("--story")
    p.add_argument("--speaker")
    p.add_argument("--json", action="store_true")

    p = command("check", cmd_check, "Check quoted words against the story: verbatim, near, or absent.")
    p.add_argument("words")
    p.add_argument("--story")
    p.add_argument("--json", action="store_true")

    p = command("eval", cmd_eval, "Score question and quote files (the ../shared/eval format).")
    p.add_argument("files", nargs="+")
    p.add_argument("--corpus", nargs="*",
                   help="folders to find the stories in, by id = file stem (default: stories/ and SHARED/corpus)")
    p.add_argument("--shared",
                   help="the shared folder (default: $STORYDESK_SHARED, else ../shared beside the repository)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("-v", "--verbose", action="store_true", help="print each miss")

    p = command("follow", cmd_follow, "Follow an RSS or Atom feed: `storydesk serve` adds its new articles.")
    p.add_argument("url", nargs="?", help="the feed's address")
    p.add_argument("--list", action="store_true", help="list followed feeds and how their last poll went")
    p.add_argument("--remove", metavar="URL", help="stop following this feed")

    p = command("serve", cmd_serve, "Run the chat bot (Socket Mode if SLACK_APP_TOKEN, else HTTP).")
    p.add_argument("--http", action="store_true", help="force HTTP mode")
    p.add_argument("--host")
    p.add_argument("--port", type=int)

    p = command("feedback", cmd_feedback, "List readers' 👍 / 👎 on chat answers, or export them for training.")
    p.add_argument("action", nargs="?", choices=["list", "export"], default="list",
                   help="list (default), or export rows in the reader's training format (eval/reader/train)")
    p.add_argument("--since", type=_since, help="only feedback from this date (UTC), e.g. 2026-12-01")
    p.add_argument("--json", action="store_true", help="list: one JSON object per vote")
    p.add_argument("--out", help="export: write to this file (default: standard output)")

    p = command("db", cmd_db, "Database: 'upgrade' the schema; 'copy' an index between a folder and a database.")
    p.add_argument("action", choices=["upgrade", "copy"])
    p.add_argument("--from", dest="source", metavar="DIR_OR_URL", help="copy: the index to read")
    p.add_argument("--to", dest="target", metavar="DIR_OR_URL", help="copy: the empty index to fill")
    p.add_argument("--reembed", action="store_true",
                   help="copy: embed every sentence again with the current model (an index made by an older one)")

    p = command("discord", cmd_discord, "Discord utilities: 'register' the /story command.")
    p.add_argument("action", choices=["register"])
    p.add_argument("--guild", help="register in one server only (appears at once; for testing)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from index.embed import ModelError
    from index.store import IndexMismatch, StoreUnavailable

    try:
        # Libraries stay at WARNING; storydesk's own loggers follow STORYDESK_LOG_LEVEL.
        logging.basicConfig(level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("storydesk").setLevel(Settings.from_env().log_level)
        logging.getLogger("bot").setLevel(Settings.from_env().log_level)
        return int(args.func(args) or 0)
    except (ModelError, IndexMismatch, StoreUnavailable) as exc:
        return _fail(str(exc), 1)
    except SettingsError as exc:  # e.g. a database URL that is not postgresql://
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`storydesk ... | head`): nothing more to say, and no traceback.
        # Python's own advice: point stdout at devnull so the final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
