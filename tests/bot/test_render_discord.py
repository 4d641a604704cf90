"""Answer -> Discord message JSON: citations, escaping, mentions and Discord's limits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot import render_discord as rd
from bot.answer import Answer
from index.models import Hit, Quote, StoryInfo

COX = (
    "This is about embedding the 371 school officers into ward teams as the children and young "
    "person specialists and ensuring they deliver for the safety of children in the wider community."
)


def hit(excerpt: str = COX, **kw) -> Hit:
    base = dict(
        story="met-police", headline="Met Police pulls 371 officers from schools", paragraph=17,
        text=excerpt, excerpt=excerpt, score=0.9, speaker="Matt Cox", role="Superintendent",
        url="https://example.org/met-police",
    )
    base.update(kw)
    return Hit(**base)


def answer(*hits: Hit, question: str = "What did Matt Cox tell the Assembly?", found: bool = True) -> Answer:
    return Answer(question, None, found, "" if found else "The story doesn't say.", tuple(hits))


@dataclass
class Quotes:
    found: bool
    message: str
    quotes: tuple[Quote, ...] = ()


@dataclass
class Check:
    verdict: str
    story: str = "met-police"
    paragraph: int = 17
    speaker: str = "Matt Cox"
    matched: str = COX
    differences: list[str] = field(default_factory=list)


def assert_valid(msg: rd.Message) -> None:
    assert rd.validate(msg) == []
    assert msg["allowed_mentions"] == {"parse": []}


def test_hit_embed_carries_speaker_excerpt_paragraph_headline_and_link():
    msg = rd.render_answer(answer(hit()))
    assert_valid(msg)
    [embed] = msg["embeds"]
    assert embed["title"] == "Matt Cox, Superintendent"
    assert embed["description"] == COX
    assert embed["footer"]["text"] == "¶17 · Met Police pulls 371 officers from schools"
    assert embed["url"] == "https://example.org/met-police"
    assert "What did Matt Cox tell the Assembly?" in msg["content"]


def test_hit_without_speaker_or_url_uses_headline_and_no_link():
    msg = rd.render_answer(answer(hit(speaker="", role="", url="")))
    [embed] = msg["embeds"]
    assert embed["title"] == "Met Police pulls 371 officers from schools"
    assert "url" not in embed


def test_not_found_says_so_shows_nearest_passages_muted_and_what_the_desk_covers():
    story = StoryInfo("met-police", "Met Police pulls officers", "", "", "", 25)
    msg = rd.render_answer(answer(hit(), hit(paragraph=3), hit(paragraph=4), found=False), stories=[story])
    assert_valid(msg)
    assert "The story doesn't say." in msg["content"]
    assert "**The desk covers:** Met Police pulls officers" in msg["content"]
    assert len(msg["embeds"]) == 2 and {e["color"] for e in msg["embeds"]} == {rd.COLOUR_MUTED}
    assert rd.render_answer(answer(found=False))["embeds"] == []


def test_markdown_and_mentions_in_question_and_story_are_escaped():
    nasty = "@everyone **look** <@123> <#456> [x](https://evil) ||spoil|| `code` ~~s~~ _i_"
    msg = rd.render_answer(answer(hit(excerpt="# Heading\n> quoted\n- item\n1. one " + nasty, speaker="*Cox*"),
                                  question=nasty))
    assert_valid(msg)
    content, embed = msg["content"], msg["embeds"][0]
    for text in (content, embed["description"]):
        assert "\\@everyone" in text and "\\*\\*look\\*\\*" in text and "\\<\\@123>" in text
        assert "\\[x\\](https://evil)" in text and "\\|\\|spoil\\|\\|" in text and "\\`code\\`" in text
    assert embed["description"].startswith("\\# Heading\n\\> quoted\n\\- item\n1\\. one")
    assert embed["title"].startswith("\\*Cox\\*")


def test_footer_is_plain_text_because_discord_does_not_render_markdown_there():
    msg = rd.render_answer(answer(hit(headline="Cuts *hurt* schools")))
    assert msg["embeds"][0]["footer"]["text"] == "¶17 · Cuts *hurt* schools"


def test_every_renderer_locks_mentions():
    story = StoryInfo("met-police", "Headline @everyone", "By X", "", "2024-01-01", 40, 12)
    quote = Quote("met-police", "Matt Cox", COX, (17,), role="Superintendent")
    messages = [
        rd.render_answer(answer(hit())),
        rd.render_stories([story], bound="met-police"),
        rd.render_stories([]),
        rd.render_quotes(Quotes(True, "", (quote,))),
        rd.render_quotes(Quotes(False, "No one named Bob is quoted.")),
        rd.render_check("the 371 school officers", Check("verbatim")),
        rd.render_check("371 officers were sacked", Check("near", differences=["sacked vs embedding"])),
        rd.render_check("aliens", Check("absent", matched="")),
        rd.render_help(),
        rd.render_error("Something went wrong", ref="abc12345"),
        rd.render_bound(story),
        rd.message(embeds=[{"title": "x", "description": "y"}]),
    ]
    for msg in messages:
        assert_valid(msg)


def test_stories_mark_the_bound_story():
    stories = [StoryInfo("a", "First", "", "", "", 3), StoryInfo("b", "Second", "", "", "", 5, 2)]
    msg = rd.render_stories(stories, bound="b")
    description = msg["embeds"][0]["description"]
    assert "**Second** ← this channel" in description and "5 paragraphs, 2 quotes" in description
    assert "**First**\na" in description


def test_quotes_show_speaker_words_and_paragraphs_and_cap_at_ten():
    quotes = tuple(Quote("s", f"Speaker {i}", f"Words {i}.", (i, i + 1), role="MP") for i in range(1, 14))
    msg = rd.render_quotes(Quotes(True, "", quotes))
    assert_valid(msg)
    assert len(msg["embeds"]) == 10
    assert msg["embeds"][0]["title"] == "Speaker 1, MP"
    assert msg["embeds"][0]["footer"]["text"].startswith("¶1, ¶2 · direct quote")
    assert "13 quotes" in msg["content"] and "first 10" in msg["content"]


def test_check_verdicts():
    near = rd.render_check("officers were sacked", Check("near", differences=["'sacked' is not in the story"]))
    assert near["content"].startswith("⚠️") and near["embeds"][0]["fields"][0]["value"].startswith("• ")
    assert rd.render_check("x", Check("verbatim"))["embeds"][0]["description"] == COX
    absent = rd.render_check("aliens landed", Check("absent", matched=""))
    assert absent["content"].startswith("❌") and absent["embeds"] == []


def test_error_shows_ref():
    assert rd.render_error("Sorry", ref="deadbeef")["content"] == "Sorry (ref `deadbeef`)"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("One two three. Four five six seven.", 24, "One two three. …"),
        ("alpha beta gamma delta", 14, "alpha beta…"),
        ("alpha beta gamma delta", 11, "alpha beta…"),
    ],
)
def test_trim_cuts_at_sentence_or_word_boundary(text, limit, expected):
    out = rd.trim(text, limit)
    assert out == expected and len(out) <= limit


def test_trim_never_cuts_mid_word():
    text = " ".join(f"word{i}" for i in range(2000))
    out = rd.trim(text, 4096)
    assert len(out) <= 4096 and out.endswith("…")
    assert out[:-1].split(" ")[-1] in text.split(" ")


def test_fit_keeps_escapes_whole_within_limit():
    out = rd.fit("a*" * 3000, 100)
    assert len(out) <= 100 and not out.rstrip("…").endswith("\\")


def test_six_thousand_character_answer_is_trimmed_within_limits():
    sentence = "The officers were moved into ward teams after the review. "
    long = sentence * 120  # ~7,000 characters per hit
    hits = [hit(excerpt=long, paragraph=i, speaker=f"Speaker {i}") for i in range(1, 4)]
    msg = rd.render_answer(answer(*hits, question="Why? " * 190), max_hits=3)
    assert_valid(msg)
    assert len(msg["embeds"]) == 3  # every hit keeps its citation
    assert sum(rd.embed_size(e) for e in msg["embeds"]) <= 6000
    for i, embed in enumerate(msg["embeds"], start=1):
        assert embed["footer"]["text"].startswith(f"¶{i} ·")
        assert embed["description"].endswith("…") and len(embed["description"]) > 1000
        # cut after a whole sentence, so the excerpt stays verbatim up to the ellipsis
        assert long.startswith(embed["description"][:-2])
    assert len(msg["content"]) <= 2000


def test_more_than_ten_embeds_are_capped():
    msg = rd.message("x", [{"title": str(i), "description": "d"} for i in range(15)])
    assert len(msg["embeds"]) == 10 and rd.validate(msg) == []


def test_validate_reports_each_broken_limit():
    bad = {"content": "x" * 2001, "embeds": [{"title": "t" * 300, "description": "d" * 5000}] * 11}
    problems = rd.validate(bad)
    assert "allowed_mentions must be {'parse': []}" in problems
    assert "content over 2000" in problems and "more than 10 embeds" in problems
    assert "embeds over 6000 in total" in problems
    assert "embed 0 title over 256" in problems and "embed 0 description over 4096" in problems


def test_a_byline_answer_is_cited_as_the_byline_not_paragraph_zero():
    msg = rd.render_answer(answer(hit(excerpt="reports Kumail Jaffer, Local Democracy Reporter", paragraph=0),
                                  question="Who wrote this story?"))
    assert msg["embeds"][0]["footer"]["text"].startswith("byline ·")
    assert "¶0" not in str(msg)
