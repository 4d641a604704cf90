"""Sentence splitting: the unit of excerpts and of speaker attribution."""

from __future__ import annotations

from index.text import sentences


def test_two_quoted_sentences_by_two_speakers_are_split() -> None:
    # pysbd alone keeps `...environment." "The economy ...` together, so the second speaker's
    # words were shown (and attributed) as the first speaker's.
    text = ('"We are not getting the boost to employment," said Rick Egelton. "We would have got it '
            'given the low dollar." "The economy is producing a moderate amount of job growth," '
            'said Ken Mayland.')
    got = [s.text for s in sentences(text)]
    assert got == [
        '"We are not getting the boost to employment," said Rick Egelton.',
        '"We would have got it given the low dollar."',
        '"The economy is producing a moderate amount of job growth," said Ken Mayland.',
    ]
    assert all(text[s.start:s.end] == s.text for s in sentences(text))  # verbatim offsets


def test_a_quote_ending_mid_sentence_is_not_split() -> None:
    text = 'She called it "a disgrace." and left. Then "It is over," he said.'
    assert [s.text for s in sentences(text)][0].startswith('She called it "a disgrace."')
