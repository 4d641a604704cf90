"""The ``storydesk`` command line: ingest, ask, quotes, check, eval, serve.

Every command reads its defaults from :class:`bot.settings.Settings`; ``--index`` overrides the
index folder. Bad input exits with status 2 and a one-line ``error:`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger("storydesk")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "index", None):
        settings = Settings(**{**settings.__dict__, "index_dir": Path(args.index)})
    return settings


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


# --- index management ------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    from index.embed import Embedder
    from index.indexer import ingest
    from index.ingest import IngestError, discover, load_story
    from index.store import Store

    settings = _settings(args)
    store = Store.open(settings.index_dir)
    if args.if_empty and store.list_stories():
        return 0
    try:
        paths = discover(args.paths)
        if args.id and len(paths) != 1:
            return _fail("--id names one story: give exactly one file with it")
        stories, errors = [], []
        for path in paths:
            try:
                stories.append(load_story(path, story_id=args.id, url=args.url or ""))
            except IngestError as exc:
                errors.append(str(exc))
    except IngestError as exc:
        return _fail(str(exc))
    if errors:
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
        if not args.skip_bad:
            print("Nothing was ingested (fix the files above, or pass --skip-bad).", file=sys.stderr)
            return 2
    if not stories:
        return _fail("no readable stories to ingest")
    embedder = Embedder.load(settings.model_dir)
    report = ingest(store, embedder, stories)
    print(f"Indexed {len(report.added)} new, {len(report.replaced)} replaced, "
          f"{len(report.unchanged)} unchanged into {settings.index_dir}")
    return 2 if errors else 0


def cmd_remove(args: argparse.Namespace) -> int:
    from index.embed import Embedder
    from index.store import Store

    store = Store.open(_settings(args).index_dir)
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
    from index.store import Store

    stories = Store.open(_settings(args).index_dir).list_stories()
    if args.json:
        print(json.dumps([asdict(s) for s in stories], ensure_ascii=False))
    else:
        print(render_stories(stories))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from bot.render_text import render_story
    from index.store import Store

    stories = Store.open(_settings(args).index_dir).snapshot().stories
    if args.id not in stories:
        return _fail(f"no story with id {args.id!r} in the index")
    print(render_story(stories[args.id]))
    return 0


# --- questions ---------------------------------------------------------------------------


def _open_desk(args: argparse.Namespace):
    from bot.answer import Desk

    return Desk.open(_settings(args))


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.render_text import answer_json, render_answer
    from index.search import QuestionError

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
    from index.search import validate_question

    try:
        validate_question(args.question)  # before the model loads: a typo costs nothing
        desk = _open_desk(args)
        answer = desk.ask(args.question, story=args.story, k=args.k)
    except QuestionError as exc:
        return _fail(str(exc))
    print(answer_json(answer) if args.json else render_answer(answer))
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
        print(render_quotes(result))
    return 0 if result.found else 1


def cmd_check(args: argparse.Namespace) -> int:
    from bot.render_text import render_check

    desk = _open_desk(args)
    if args.story and not desk.has_story(args.story):
        return _fail(f"no story with id {args.story!r} in the index")
    if not args.words.strip():
        return _fail("give the quoted words to check")
    result = desk.check(args.words, story=args.story)
    if args.json:
        print(json.dumps(asdict(result), ensure_ascii=False))
    else:
        print(render_check(result))
    return 0 if result.verdict != "absent" else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from index.evaluate import run_eval

    report = run_eval([Path(f) for f in args.files], corpus=[Path(c) for c in args.corpus],
                      index_dir=Path(args.index) if args.index else None,
                      model_dir=Settings.from_env().model_dir, verbose=args.verbose)
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
    from bot.discord_app import register_commands

    result = register_commands(_settings(args), guild_id=args.guild)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storydesk", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--index", help="index folder (default: $STORYDESK_INDEX or var/index)")
        p.set_defaults(func=func)
        return p

    p = command("ingest", cmd_ingest, "Index story files (.txt, .md, .html) or folders of them.")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--id", help="story id (default: the file name without its suffix)")
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
    p.add_argument("-k", type=int, default=3, help="how many passages to return (default 3)")
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
    p.add_argument("--corpus", nargs="*", default=["stories", "../shared/corpus"],
                   help="folders to find the stories in (by id = file stem)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("-v", "--verbose", action="store_true", help="print each miss")

    p = command("serve", cmd_serve, "Run the chat bot (Socket Mode if SLACK_APP_TOKEN, else HTTP).")
    p.add_argument("--http", action="store_true", help="force HTTP mode")
    p.add_argument("--host")
    p.add_argument("--port", type=int)

    p = command("discord", cmd_discord, "Discord utilities: 'register' the /story command.")
    p.add_argument("action", choices=["register"])
    p.add_argument("--guild", help="register in one server only (appears at once; for testing)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Libraries stay at WARNING; storydesk's own loggers follow STORYDESK_LOG_LEVEL.
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("storydesk").setLevel(Settings.from_env().log_level)
    logging.getLogger("bot").setLevel(Settings.from_env().log_level)
    from index.embed import ModelError
    from index.store import IndexMismatch

    try:
        return int(args.func(args) or 0)
    except (ModelError, IndexMismatch) as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
