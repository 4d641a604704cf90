"""The platform-neutral command layer (bot/commands.py) against the real desk and real bindings.

The adapters' own tests (test_slack_http, test_discord_http) drive the same layer through signed
requests; these pin what both surfaces share: parsing, admin checks, notices, the table.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot import commands, render_discord, render_slack
from bot.bindings import Bindings
from bot.commands import Commands, Request

STORY = "met-police-safer-schools-officers"
COX = "What did Matt Cox tell the Assembly?"


class BrokenDesk:
    """The real desk whose ``ask`` fails like a broken index."""

    def __init__(self, desk: Any) -> None:
        self.desk = desk

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("index on fire")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.desk, name)


@pytest.fixture()
def cmds(desk, tmp_path) -> Commands:
    return Commands(desk, Bindings.in_folder(tmp_path))


def test_text_parsing_keeps_questions_that_start_like_commands():
    parse = commands.parse_command
    assert parse("") == parse("help") == parse("--help") == commands.Command("help")
    assert parse("list") == commands.Command("stories")
    assert parse("stories please") == commands.Command("ask", "stories please")
    assert parse("quotes about the budget cuts?") == commands.Command("ask", "quotes about the budget cuts?")
    assert parse("check") == commands.Command("ask", "check")
    assert parse("QUOTES by “West”") == commands.Command("quotes", "West")


def test_ask_answers_from_the_bound_story_and_a_thread_keeps_it(cmds):
    cmds.bindings.bind("slack:C1", STORY)
    result = cmds.run(Request("ask", COX, channel="slack:C1", thread="slack:C1:1.0"))
    assert isinstance(result, commands.AnswerResult) and result.answer.story == STORY and result.answer.found
    assert result.stories == ()  # only a not-found answer names what the desk covers
    assert cmds.bindings.thread_story("slack:C1:1.0") == STORY


def test_use_is_admin_only_when_admins_are_set_and_the_platform_can_decide(cmds):
    cmds.admins = frozenset({"U0EDITOR"})
    denied = cmds.run(Request("use", STORY, user="U0REPORTER", channel="slack:C2"))
    assert isinstance(denied, commands.Notice) and "admins" in denied.text
    assert cmds.bindings.channel_story("slack:C2") is None
    assert cmds.run(Request("use", STORY, user="U0EDITOR", channel="slack:C2")) == commands.Bound(
        STORY, next(s for s in cmds.desk.stories() if s.id == STORY))
    # Discord's permission bits decide there, whoever is listed.
    refused = cmds.run(Request("use", "all", user="U0EDITOR", channel="discord:9", manages_channel=False))
    assert isinstance(refused, commands.Notice) and "manage this channel" in refused.text
    assert cmds.run(Request("use", "all", user="x", channel="discord:9", manages_channel=True)) == commands.Bound(None)


def test_bad_input_is_a_private_notice_and_a_bug_a_logged_failure(cmds, desk, caplog):
    unknown = cmds.run(Request("ask", COX, story="no-such`story"))
    assert isinstance(unknown, commands.Notice) and "`no-such'story`" in unknown.text
    empty = cmds.run(Request("ask", "the of and"))
    assert isinstance(empty, commands.Notice) and empty.text.startswith("Sorry: The question")
    assert isinstance(cmds.run(Request("frobnicate")), commands.Notice)
    broken = Commands(BrokenDesk(desk), cmds.bindings)
    with caplog.at_level(logging.ERROR):
        failure = broken.run(Request("ask", COX, surface="slack"))
    assert isinstance(failure, commands.Failure) and commands.is_private(failure)
    [record] = [r for r in caplog.records if failure.ref in r.getMessage()]
    assert "index on fire" in str(record.exc_info[1])


def test_wrongly_typed_options_are_refused_before_running():
    with pytest.raises(commands.CommandError, match="must be text"):
        commands.from_options("check", {"words": ["a"]})
    request = commands.from_options("ask", {"question": COX, "story": f" {STORY} ", "public": True}, user="u")
    assert request == Request("ask", COX, STORY, user="u")


def test_every_listed_row_is_in_both_helps_and_registered_with_discord():
    from bot.discord_app import STORY_COMMAND

    slack_help = str(render_slack.render_help())
    discord_help = render_discord.render_help()["content"]
    registered = {o["name"] for o in STORY_COMMAND["options"]}
    assert registered == {spec.name for spec in commands.COMMANDS if spec.listed}
    for spec in (s for s in commands.COMMANDS if s.listed):
        assert f"/story {spec.name}" in discord_help
        assert spec.summary.split(";")[0] in slack_help


def test_every_result_renders_on_both_surfaces(cmds):
    results = [cmds.run(Request(name, arg, channel="slack:C3"))
               for name, arg in [("help", ""), ("stories", ""), ("use", STORY), ("use", "all"), ("quotes", "West"),
                                 ("check", "the single most catastrophic decision"), ("ask", COX),
                                 ("ask", "What is the weather on Mars?"), ("use", "nope")]]
    results += [commands.Done("Added `x`."), commands.Failure("ABC123")]
    for result in results:
        assert render_discord.validate(render_discord.render_result(result)) == []
        assert render_slack.render_result(result)["text"]
    notice = render_discord.render_result(commands.Notice("No story `a*b*c` **here**"))
    assert notice["content"] == "No story `a*b*c` \\*\\*here\\*\\*"
