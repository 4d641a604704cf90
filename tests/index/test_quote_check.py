"""Quote check: verbatim, near (with differences) and absent, with the speaker."""

from __future__ import annotations

from index.attribution import extract_quotes
from index.models import Paragraph, Story
from index.quote_check import check_quote, fold

SID = "s"
STORY = Story(SID, "Headline", (
    Paragraph(SID, 1, "Jessica West, principal of Ark Walworth Academy, said the change was "
                      "“catastrophic” for pupils."),
    Paragraph(SID, 2, "She said: “Children have a right to be safe and to feel safe – those "
                      "don’t necessarily come in tandem.”"),
    Paragraph(SID, 3, "The Met scrapped the role in May."),
))
QUOTES = extract_quotes(STORY)


def test_fold_maps_marks_dashes_case_and_space() -> None:
    folded, where = fold("“Don’t”  —  GO")
    assert folded == "\"don't\" - go"
    assert len(where) == len(folded)


def test_verbatim_with_straight_marks_and_hyphen_for_en_dash() -> None:
    r = check_quote('"children have a right to be safe and to feel safe - those don\'t '
                    'necessarily come in tandem"', [STORY], QUOTES)
    assert r.verdict == "verbatim"
    assert r.paragraph == 2 and r.story == SID
    assert r.matched.startswith("Children have a right") and "–" in r.matched
    assert r.speaker == "Jessica West"
    assert r.differences == ()


def test_near_lists_the_differences() -> None:
    r = check_quote("Children have the right to be safe and to feel secure", [STORY], QUOTES)
    assert r.verdict == "near"
    assert r.paragraph == 2
    assert r.speaker == "Jessica West"
    assert 85 <= r.score < 100
    joined = " ".join(r.differences)
    assert "secure" in joined and "safe" in joined
    assert '"the" should be "a"' in joined


def test_absent_and_narrative_has_no_speaker() -> None:
    assert check_quote("Police numbers will double next year", [STORY], QUOTES).verdict == "absent"
    r = check_quote("the Met scrapped the role in May", [STORY], QUOTES)
    assert r.verdict == "verbatim" and r.paragraph == 3 and r.speaker == ""
    assert check_quote("  ", [STORY], QUOTES).verdict == "absent"
