"""Quote extraction and attribution: patterns on short passages, then the bundled story."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.models import Paragraph, Quote, Story
from index.quotes import extract_quotes, match_speaker, speaker_for, speaker_index

STORY_FILE = Path(__file__).resolve().parents[2] / "stories" / "met-police-safer-schools-officers.txt"


def story(*paragraphs: str, sid: str = "t") -> Story:
    return Story(sid, "Headline", tuple(Paragraph(sid, i + 1, t) for i, t in enumerate(paragraphs)))


def direct(*paragraphs: str) -> list[Quote]:
    return [q for q in extract_quotes(story(*paragraphs)) if q.kind == "direct"]


def who(quotes: list[Quote], fragment: str) -> str:
    """The speaker of the quote whose text contains ``fragment``."""
    hits = [q for q in quotes if fragment in q.text]
    assert hits, f"no quote contains {fragment!r}: {[q.text for q in quotes]}"
    return hits[0].speaker


# --- attribution patterns -------------------------------------------------------------------


def test_said_after_quote_and_colon_before() -> None:
    qs = direct(
        '"We will fight this all the way," Mr John Smith said.',
        'Jane Doe, the council leader, said: "The plan is sound and it will go ahead."',
    )
    assert who(qs, "fight this") == "John Smith"
    assert who(qs, "plan is sound") == "Jane Doe"
    assert [q for q in qs if "plan" in q.text][0].role == "the council leader"


def test_inverted_said_x_and_told_the_bbc() -> None:
    qs = direct(
        "Hugh Richards is a psychologist. Liz Yelling is a runner.",
        '"The heat was the main factor in Athens," said Yelling, herself a runner.',
        '"You cannot change history at all," Richards told the BBC.',
    )
    assert who(qs, "heat was") == "Liz Yelling"
    assert who(qs, "change history") == "Hugh Richards"


def test_curly_and_straight_marks_with_nested_single_quotes_and_apostrophes() -> None:
    qs = direct(
        "Sir Alex Ferguson spoke on Saturday.",
        "“He ran at me saying ‘what do you want to do about it?’ and that’s that,” Ferguson said.",
        "\"It's 'bringing the game into disrepute', isn't it?\" Ferguson added.",
    )
    assert qs[0].text == "He ran at me saying ‘what do you want to do about it?’ and that’s that,"
    assert qs[0].speaker == "Sir Alex Ferguson"
    assert qs[1].text == "It's 'bringing the game into disrepute', isn't it?"


def test_pronoun_resolves_by_gender_not_nearest_name() -> None:
    qs = direct(
        "Caroline Russell met Mr Peter Jones at the hall on Monday.",
        '"If we step into that space there is a real risk," she added.',
        '"I do not agree with that view at all," he said.',
    )
    assert who(qs, "step into") == "Caroline Russell"
    assert who(qs, "do not agree") == "Peter Jones"


def test_he_refers_to_subject_of_previous_sentence() -> None:
    qs = direct(
        "Mr Hain, Leader of the Commons, told the BBC that Mr Howard's stance was risky. "
        'He then accused him of "playing opposition for opposition sake".'
    )
    assert who(qs, "playing opposition") == "Hain"


def test_multi_paragraph_quote_is_one_quote_with_one_speaker() -> None:
    qs = direct(
        "Superintendent Matt Cox told the committee: “This is about embedding officers in teams.",
        "“We are focused on delivering better in our communities for young people.”",
        "The role has been criticised in the past.",
    )
    assert len(qs) == 1
    assert qs[0].speaker == "Matt Cox"
    assert qs[0].role == "Superintendent"
    assert qs[0].paragraphs == (1, 2)


def test_collapsed_paragraphs_run_on_quote_is_a_continuation() -> None:
    qs = direct(
        'Mr Howard told his party that Labour would "do anything to cling on to office". '
        '"So far this year they have called me names. This morning Peter Hain called me a mongrel. '
        '"I don\'t know about you, but something tells me someone is rattled."'
    )
    assert who(qs, "So far this year") == "Howard"
    assert "I don't know about you" in [q for q in qs if "So far" in q.text][0].text


def test_unclosed_quote_does_not_swallow_next_attribution() -> None:
    qs = direct(
        'Labour co-ordinator Alan Milburn said: "His only strategy is opportunism and no vision. '
        'Asked about the family photo, Mr Milburn said: "He is perfectly entitled to pose."'
    )
    first = [q for q in qs if "opportunism" in q.text][0]
    assert "Asked about" not in first.text
    assert who(qs, "perfectly entitled") == "Alan Milburn"


def test_quote_only_paragraph_keeps_previous_speaker() -> None:
    qs = direct(
        "The committee heard from Omar Alleyne-Lawler of the Hope in Haringey charity. "
        "“The presence of officers is something young people have vouched for,” he said.",
        "“Young people will feel safe if they engage with officers.”",
    )
    assert who(qs, "Young people will") == "Omar Alleyne-Lawler"


def test_according_to_and_reported_speech_are_indirect() -> None:
    qs = extract_quotes(story(
        "Yesterday Jessica West told the committee that reducing contact would harm children.",
        "The images were mostly fictional stories, according to Ms Ellen Simonetti.",
    ))
    ind = [q for q in qs if q.kind == "indirect"]
    assert ind and ind[0].speaker == "Jessica West"
    assert ind[0].text.startswith("reducing contact would harm children")


def test_partial_quotes_in_reported_speech_go_to_the_subject_not_nearest_name() -> None:
    qs = direct(
        "Det Ch Supt Caroline Haines, policing lead for Enfield, said PC Hussain Chehab’s "
        "offences were “sickening” and that he “exploited” young girls “for his own gratification”."
    )
    assert [q.speaker for q in qs] == ["Caroline Haines"] * 3
    assert [q.text for q in qs] == ["sickening", "exploited", "for his own gratification"]


def test_spokesperson_for_a_described_organisation() -> None:
    qs = direct(
        "Some organisations, including the Runnymede Trust, have called for change.",
        "In April, a spokesperson for the race equality think tank said: “There is no credible "
        "evidence that police make schools safer.”",
    )
    assert qs[0].speaker == "Runnymede Trust"
    assert qs[0].role == "spokesperson"


def test_indefinite_description_named_in_next_sentence() -> None:
    qs = direct(
        "The decision is “undermining the trust of young people” in the force, a headteacher has "
        "warned.",
        "Jessica West, principal of Ark Walworth Academy, said the change was “catastrophic”.",
    )
    assert [q.speaker for q in qs] == ["Jessica West", "Jessica West"]
    assert "a headteacher" in qs[0].aliases


def test_definite_description_resolves_to_earlier_person() -> None:
    qs = direct(
        "Arsene Wenger spoke to a small group of reporters on Saturday.",
        '"I have no diplomatic relations with him," the Arsenal boss is quoted as saying.',
    )
    assert qs[0].speaker == "Arsene Wenger"


# --- negatives: not speech ---------------------------------------------------------------------


def test_scare_quotes_and_labels_are_not_quotes() -> None:
    qs = direct(
        "Jessica West said shifting trained ‘safer school officers’ into teams was wrong.",
        'Peter Hain accused the Tory leader of behaving like an "attack mongrel".',
        'They were detained as part of the US-led "war on terror".',
        'Two companies launched adverts to "set the record straight" about their products.',
    )
    texts = [q.text for q in qs]
    assert "safer school officers" not in texts
    assert "attack mongrel" not in texts
    assert "war on terror" not in texts
    assert "set the record straight" not in texts


def test_apostrophes_and_inches_are_not_quote_marks() -> None:
    qs = direct(
        "Police said the intruder was about 5' 10\" tall and the owners' dog didn't bark.",
        "It's the Osbournes' house, and Ozzy's wife wasn't hurt.",
    )
    assert qs == []


def test_unattributed_quote_in_narrative_is_dropped() -> None:
    qs = direct('Every runner will see written on the wall, "Are you strong enough to finish?"')
    assert qs == []


# --- public helpers -------------------------------------------------------------------------------


def test_match_speaker_titles_surnames_and_misspellings() -> None:
    qs = [
        Quote("t", "Jessica West", "x", (1,), aliases=("West", "a headteacher")),
        Quote("t", "Matt Cox", "y", (2,), aliases=("Cox",)),
        Quote("t", "Runnymede Trust", "z", (3,), aliases=()),
    ]
    assert match_speaker("Ms West", qs) == "Jessica West"
    assert match_speaker("jesica west", qs) == "Jessica West"
    assert match_speaker("Superintendent Cox", qs) == "Matt Cox"
    assert match_speaker("Mr Cox", qs) == "Matt Cox"
    assert match_speaker("runnymede", qs) == "Runnymede Trust"
    assert match_speaker("Boris Johnson", qs) is None
    assert set(speaker_index(qs)) == {"Jessica West", "Matt Cox", "Runnymede Trust"}


# --- the bundled story, end to end ----------------------------------------------------------------


def bundled_story() -> Story:
    """The bundled story cleaned by hand: no label, headline, standfirst or donation appeal."""
    text = STORY_FILE.read_text(encoding="utf-8")
    text = text.split("No news is bad news")[0]
    blocks = [" ".join(b.split()) for b in text.split("\n\n") if b.strip()]
    assert blocks[0] == "News" and blocks[2].startswith("The Met scrapped")
    body = blocks[3:]
    assert body[0].startswith("The Metropolitan Police’s decision")
    sid = "met-police-safer-schools-officers"
    return Story(sid, blocks[1], tuple(Paragraph(sid, i + 1, t) for i, t in enumerate(body)))


@pytest.fixture(scope="module")
def bundled() -> tuple[Story, list[Quote]]:
    st = bundled_story()
    return st, extract_quotes(st)


EXPECTED = [  # (fragment, speaker, paragraphs)
    ("undermining the trust of young people", "Jessica West", (1,)),
    ("catastrophic", "Jessica West", (2,)),
    ("Children have a right to be safe", "Jessica West", (6, 7, 8, 9, 10)),
    ("The presence of officers in schools", "Omar Alleyne-Lawler", (11,)),
    ("Young people will feel safe if we demystify", "Omar Alleyne-Lawler", (12,)),
    ("children are safe outside of school", "Met Police", (15,)),
    ("no clear evidence", "Met Police", (15,)),
    ("This is about embedding the 371 school officers", "Matt Cox", (16, 17)),
    ("disciplinary matters", "Caroline Russell", (19,)),
    ("If we step into that space", "Caroline Russell", (20,)),
    ("sickening", "Caroline Haines", (22,)),
    ("exploited", "Caroline Haines", (22,)),
    ("for his own sexual gratification", "Caroline Haines", (22,)),
    ("There is no credible or conclusive evidence", "Runnymede Trust", (24, 25)),
]


def test_bundled_story_every_direct_quote_and_speaker(bundled: tuple[Story, list[Quote]]) -> None:
    _, quotes = bundled
    directs = [q for q in quotes if q.kind == "direct"]
    got = [(q.speaker, q.paragraphs) for q in directs]
    want = [(speaker, paras) for _, speaker, paras in EXPECTED]
    assert got == want
    for (fragment, _, _), q in zip(EXPECTED, directs):
        assert q.text.startswith(fragment) or q.text == fragment


def test_bundled_story_roles_aliases_and_texts(bundled: tuple[Story, list[Quote]]) -> None:
    story_, quotes = bundled
    by = speaker_index([q for q in quotes if q.kind == "direct"])
    west = by["Jessica West"][0]
    assert west.role.startswith("principal of Ark Walworth Academy")
    assert "West" in west.aliases and "a headteacher" in west.aliases
    assert by["Matt Cox"][0].role == "Superintendent"
    assert by["Runnymede Trust"][0].role == "spokesperson"
    assert "policing lead for Enfield" in by["Caroline Haines"][0].role
    cox = by["Matt Cox"][0]
    assert cox.text.endswith("work in a different way.")
    # Verbatim: every segment of every quote is in its paragraph.
    for q in quotes:
        if q.kind == "direct" and len(q.paragraphs) == 1:
            assert q.text in story_.paragraph(q.paragraph).text


def test_bundled_story_reported_speech_and_speaker_for(bundled: tuple[Story, list[Quote]]) -> None:
    _, quotes = bundled
    told = speaker_for(quotes, 5, "Yesterday (Thursday 4th) West told the London Assembly’s "
                                  "police and crime committee that reducing interaction between "
                                  "students and police officers would have a knock-on effect "
                                  "down the line.")
    assert told is not None and told.speaker == "Jessica West" and told.kind == "indirect"
    she = speaker_for(quotes, 6, "She said: “Children have a right to be safe and to feel safe")
    assert she is not None and she.speaker == "Jessica West"
    cont = speaker_for(quotes, 7, "“It was important to have a named officer who would be within "
                                  "schools as a point of contact with a familiar face and uniform.")
    assert cont is not None and cont.speaker == "Jessica West"
    assert speaker_for(quotes, 4, "But the Met scrapped the role in May.") is None
    assert match_speaker("Ms West", quotes) == "Jessica West"
    assert match_speaker("Carolin Hains", quotes) == "Caroline Haines"
    assert match_speaker("Det Ch Supt Haines", quotes) == "Caroline Haines"
