"""Who said what: direct and indirect quotes of a story, with speaker and role.

The steps, one file each, in the order a story goes through them:

1. ``marks``       quotation marks: where each direct quote starts and ends, across paragraphs;
2. ``entities``    who can speak (spaCy's PERSON / ORG / NORP; never places, works, dates or the
                   outlet a speaker talked to), and which mentions are the same one;
3. ``attribution`` who said each quote: it walks the story (quote runs keeping their speaker)
                   through these sub-steps, one file each:
   ``sentences``   the story's sentences, quotes masked, and which of them are parsed;
   ``names``       the names of a parsed sentence as speakers, with full names and roles;
   ``verbs``       speech verbs and each one's subject in the dependency parse;
   ``subjects``    who a subject is (a name, "a spokesman for X", a title, an unnamed speaker);
   ``coreference`` pronouns and descriptions resolved to a speaker already introduced;
   ``indirect``    the clauses reporting verbs report, as indirect quotes;
4. ``speakers``    speaker look-up for questions (``match_speaker``, ``SpeakerIndex``) and the
                   quote each sentence belongs to (``speaker_for``).

``reading`` is the state a story's reading carries, ``syntax`` the token helpers every step
uses, ``data`` the word tables; ``model`` loads spaCy's ``en_core_web_sm`` 3.8 (checksummed)
lazily, on the first call of :func:`extract_quotes`: the query path never loads it. Each
measured rule below lives in the step it belongs to, one path each, with a comment saying what
it does.

Measured (``python -m evaluation.attribution_eval --gold FILES``), on quotes written by
annotators who never saw this code (``eval/quotes/``, split by story; test frozen first):

| | dev (37 stories; 265 direct, 225 indirect) | | | train (138 stories; 894 / 805) | |
| --- | --- | --- | --- | --- | --- |
| | rules before (``index/quotes.py``) | first version | now | first version | now |
| direct found / right speaker | 0.925 / 0.728 | 0.932 / 0.842 | 0.981 / 0.943 | 0.970 / 0.864 | 0.984 / 0.927 |
| precision (direct, 4+ words) | 0.789 | 0.886 | 0.946 | 0.878 | 0.928 |
| indirect right speaker | 0.382 | 0.764 | 0.840 | 0.759 | 0.805 |

("found" rose mostly because ingest no longer drops news paragraphs that mention donations or
subscriptions as if they were a page's appeal box: 21 dev gold quotes lay in them.) The frozen
test split's figures, first sight of the old rules and the scorings of this package, are in the
issue note.

Ingest cost (``make bench PART=ingest``, 2,096 archive stories, a run on the shared machine
under load, 2026-12-01): storydesk 925 s against the plain encode's 663 s (1.40x); the quotes
stage 113 s of it (encode 780 s). Only sentences with a quote mark or a speech verb, and the
sentence before each, are parsed (about 53% of the narrative words once long quotes are
masked), in one ``nlp.pipe`` per story, with the lemmatizer, attribute ruler and statistical
sentence splitter left out.

What earns its keep on dev/train (each measured; the rest was dropped):
parsing the sentence before each quote (pronoun antecedents: +2.3 points right speaker on
train, for 40% more parsed words); any common-noun subject of a speech verb as an unnamed
speaker (+1.5); pronouns trying the previous sentence's subject first, genders never learned from
a guess (+1.0); indirect quotes from "..., he said, and ..." and "urged X to ..." (+5.8 indirect);
verbs inside another's reported clause not attributing (+0.7). Second round (train / dev right
speaker unless said): the lede parsed, the nearest sentence's subject before a known-gender
mention, names met only as objects last (+1.7 / +0.7); a speech verb anywhere in a quote over a
carried speaker (+0.7 / +0.8); raised subjects and perceived objects of participles ("was heard
saying", "the film showed X telling") (+0.5 / 0); role nouns, appositions and "who" clauses
making persons of names the recogniser mislabels or misses, a pronoun never someone named in its
own quote, "X who said" (+1.2 / +1.6); "director of rugby X" (also "... X MP"), names cut to their capitalised
tail, a peer's "of Y" (+0.4 / +0.7); "the foreign secretary" found as "Foreign Secretary X" in
the text (+0.2 / 0); a quote after a sentence introducing a new person (+0.2 / +0.4); of two
subjects a name, then the nearest (+0.4 / +1.8); "the director is X" (+0.3 / 0); bodies: an
owned body ("the prime minister's office"), "the group" for the body with that head noun, "the
firm" only for a body the sentences before were about (+0.4 / 0, indirect +0.9 / +2.2);
indirect: clauses conjoined to "said", "said" with a broken clause, "X is confident that",
modal sentences after an indirect quote, "accused X of -ing", "S, X has warned" taking all of S,
"S, he said, and T" (+3.2 / +1.8). These parse 4.7%
more words than the first version (the lede, stance and modal sentences).
Dropped: parsing every sentence (+0.4 right speaker for twice the parse time), leaving out
noun-like speech forms ("state", "calls") from the parse selection (-1 indirect), learning a
person's gender from a resolved pronoun (wrong guesses cascaded), a sentence's own earlier
speaker as a pronoun's antecedent (-0.9); "the 34-year-old" resolved to the salient person (-0.3
train: annotators keep such descriptions as the speaker); an unnamed "France's finance minister"
named by the next sentence's person (-0.4 dev indirect); "..., X said" hung under the clause it
reports (7 new indirect quotes on train, none right); "the board" looked up as "the United
board" in the text (+0.3 train from one story, but any "the Japanese firm" would become a name).

>>> from index.attribution import extract_quotes, match_speaker, speaker_for, SpeakerIndex
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from index.attribution.speakers import SpeakerIndex, match_speaker, speaker_for, speaker_index
from index.models import Quote, Story

__all__ = ["SpeakerIndex", "extract_quotes", "extract_quotes_many", "match_speaker",
           "speaker_for", "speaker_index"]

BATCH = 256  # sentences per nlp.pipe batch


def _parse(texts: Sequence[str]) -> Iterable[object]:
    from index.attribution.model import nlp

    return list(nlp().pipe(texts, batch_size=BATCH))


def extract_quotes(story: Story) -> list[Quote]:
    """Every quote of ``story`` in story order, direct and indirect, with speaker and role."""
    from index.attribution.attribution import attribute

    return attribute(story, _parse)


def extract_quotes_many(stories: Sequence[Story]) -> list[list[Quote]]:
    """:func:`extract_quotes` for many stories, their sentences parsed in shared batches.

    (``nlp.pipe(n_process=2)`` here was measured no faster on the shared 2-core machine: 21.6 s
    against 18.1 s one story at a time for 420 stories.)
    """
    from index.attribution.attribution import attribute_many

    return attribute_many(stories, _parse)
