"""Answer -> Block Kit: escaping, Slack's limits, cutting, buttons. Pure; no model, no network."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from slack_api_stub import block_texts, check_message

from bot import render_slack as render
from bot.answer import Answer
from index.models import Hit, Quote, StoryInfo

STORY = "met-police-safer-schools-officers"
HEADLINE = "Headteacher slams Met Police decision to axe specialist school officers"


def hit(paragraph: int = 9, excerpt: str = "Removing safer schools officers is catastrophic.", **kw) -> Hit:
    fields = dict(story=STORY, headline=HEADLINE, paragraph=paragraph, text=excerpt, excerpt=excerpt, score=0.9)
    fields.update(kw)
    return Hit(**fields)


def answer(*hits: Hit, question: str = "Who called the decision catastrophic?", found: bool = True,
           message: str = "") -> Answer:
    return Answer(question, None, found, message, tuple(hits))


def all_text(message: dict) -> str:
    return message["text"] + "\n" + "\n".join(block_texts(message["blocks"]))


# --------------------------------------------------------------------------- escaping


def test_escape_turns_slack_control_characters_into_entities():
    assert render.escape("<!channel> & <@U123> <http://x|y>") == "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;http://x|y&gt;"


@pytest.mark.parametrize("nasty", ["<!channel>", "<@U123>", "<http://x|y>", "<!here|here>", "<#C123>"])
def test_user_and_story_text_never_pings_or_links(nasty):
    message = render.render_answer(
        answer(
            hit(excerpt=f"He said {nasty} twice.", speaker=f"Eve {nasty}", role=f"role {nasty}", headline=f"H {nasty}"),
            question=f"What about {nasty}?",
        ),
        share=True,
    )
    shown = all_text(message)  # everything Slack parses; button values are opaque data
    assert nasty not in shown
    assert render.escape(nasty) in shown


def test_links_only_for_plain_http_urls():
    good = render.render_hit(hit(url="https://example.com/story?a=1&b=2"))
    assert "<https://example.com/story?a=1&amp;b=2|Headteacher slams" in good["text"]["text"]
    bad = render.render_hit(hit(url="javascript:alert(1)|x>"))
    assert "<javascript" not in bad["text"]["text"]


# --------------------------------------------------------------------------- answers


def test_hit_shows_speaker_role_excerpt_paragraph_and_headline():
    section = render.render_hit(hit(speaker="Jessica West", role="principal of Ark Walworth Academy"))
    text = section["text"]["text"]
    assert text.startswith("*Jessica West* (principal of Ark Walworth Academy)\n>Removing safer schools")
    assert "¶9 · " + HEADLINE in text


def test_hit_without_speaker_has_no_empty_bold():
    text = render.render_hit(hit())["text"]["text"]
    assert "**" not in text and text.startswith(">")


def test_answer_shows_three_hits_then_more_and_share_buttons():
    message = render.render_answer(answer(*(hit(paragraph=n) for n in range(1, 7))), share=True)
    quoted = [b for b in message["blocks"] if b["type"] == "section" and b["text"]["text"].startswith(">")]
    assert len(quoted) == 3
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert buttons[render.MORE_ACTION]["text"]["text"] == "More (3)"
    shared = render.decode_request(buttons[render.SHARE_ACTION]["value"])
    assert shared == ("Who called the decision catastrophic?", None)
    assert message["text"].startswith("Q: Who called the decision catastrophic?\n¶1")
    assert check_message(message) == []


def test_no_more_button_when_nothing_further():
    message = render.render_answer(answer(hit(), hit(paragraph=2)))
    assert not [b for b in message["blocks"] if b["type"] == "actions"]


def test_not_found_says_so_and_what_the_desk_covers():
    stories = [StoryInfo(STORY, HEADLINE, "Kumail Jaffer", "", "", 25)]
    message = render.render_answer(
        answer(hit(), question="What is the weather on Mars?", found=False, message="The story doesn't say."),
        stories=stories,
    )
    text = all_text(message)
    assert "The story doesn't say." in text and "The desk covers" in text and HEADLINE in text
    assert check_message(message) == []


def test_shared_copy_names_who_shared_it_and_has_no_share_button():
    message = render.render_answer(answer(hit()), shared_by="U0ABC123")
    assert "Shared by <@U0ABC123>" in all_text(message)
    assert render.SHARE_ACTION not in json.dumps(message)
    assert "<@" not in all_text(render.render_answer(answer(hit()), shared_by="<!channel>")).replace("<@U", "")


# --------------------------------------------------------------------------- limits and cutting


def test_cut_prefers_a_sentence_boundary():
    text = "First sentence is here. Second one follows on. Third goes past the limit for sure."
    assert render.cut(text, 60) == "First sentence is here. Second one follows on. …"


def test_cut_never_splits_a_word():
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda"
    for limit in range(7, len(text)):  # from where the first word fits
        out = render.cut(text, limit)
        assert len(out) <= limit and out.endswith("…")
        assert all(word in text.split() for word in out.rstrip("…").split())


def test_fit_counts_escaped_length():
    out = render.fit("a < b & c > d. " * 500, 300)
    assert len(out) <= 300 and out.endswith("…") and "&lt;" in out


def test_huge_answers_stay_within_slack_limits():
    long = ("The commissioner said that officers would return to schools “when it is safe”. " * 200) + "<!channel>"
    hits = [hit(paragraph=n, excerpt=long, speaker="A" * 400, role="B & " * 300) for n in range(1, 30)]
    big = answer(*hits, question="Q & <A>? " * 500)
    for options in ({}, {"shown": 50}, {"share": True}):
        message = render.render_answer(big, **options)
        assert check_message(message) == [], options
        assert "<!channel>" not in json.dumps(message)
    quoted = render.render_hit(hits[0])["text"]["text"]
    assert "…" in quoted and len(quoted) <= render.SECTION_LIMIT


def test_button_value_fits_for_any_question():
    value = render.encode_request("ü" * 5000, STORY)
    assert len(value) <= render.BUTTON_VALUE_LIMIT
    question, story = render.decode_request(value)
    assert story == STORY and question.startswith("üüü")


# --------------------------------------------------------------------------- other replies


def test_stories_list_marks_the_bound_story():
    stories = [StoryInfo(STORY, HEADLINE, "Kumail Jaffer", "https://x.test/s", "2024-07-05", 25, 7)]
    message = render.render_stories(stories, bound=STORY)
    text = all_text(message)
    assert "← this channel" in text and "<https://x.test/s|Headteacher" in text and "7 quotes" in text
    assert check_message(message) == []
    assert "No stories" in render.render_stories([])["text"]


@dataclass
class FakeQuotes:
    found: bool
    message: str
    quotes: tuple


def test_quotes_render_speaker_role_and_paragraphs():
    q = Quote(STORY, "Jessica West", "Removing <b> officers is catastrophic", (9, 10), role="principal")
    message = render.render_quotes(FakeQuotes(True, "", (q,) * 60))
    text = all_text(message)
    assert "*Jessica West* (principal)" in text and "¶9, ¶10" in text and "&lt;b&gt;" in text
    assert "…and 20 more" in text
    assert check_message(message) == []
    missing = render.render_quotes(FakeQuotes(False, "No one named Bob is quoted.", ()))
    assert missing["text"] == "No one named Bob is quoted."


def test_check_renders_each_verdict():
    from index.quote_check import QuoteCheck

    words = "the single worst decision"
    near = render.render_check(
        QuoteCheck("near", words, STORY, 9, "the single most catastrophic decision", "Jessica West", 0.8,
                   ("'worst' vs 'most catastrophic'",)),
        words,
    )
    text = all_text(near)
    assert "Close, but not word for word" in text and "*Jessica West*" in text
    assert "¶9" in text and "Differences" in text
    absent = render.render_check(QuoteCheck("absent", "<!channel> never said"), "<!channel> never said")
    assert "Not in the story" in all_text(absent) and "<!channel>" not in json.dumps(absent)
    assert "Verbatim" in all_text(render.render_check(QuoteCheck("verbatim", "x", STORY, 9, "x"), "x"))


def test_help_and_error_replies():
    assert "/story <question>" in all_text(render.render_help())
    error = render.render_error("A1B2C3")
    assert "Something went wrong (ref A1B2C3)" in error["text"]
    for message in (render.render_help(), error, render.render_notice("Too long.")):
        assert check_message(message) == []


def test_a_byline_answer_is_cited_as_the_byline_not_paragraph_zero():
    message = render.render_answer(answer(hit(paragraph=0, excerpt="reports Kumail Jaffer, Local Democracy Reporter"),
                                          question="Who wrote this story?"), share=True)
    shown = all_text(message)
    assert "byline · " in shown and "¶0" not in shown
    assert check_message(message) == []
