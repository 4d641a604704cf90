"""Step 3c: speech verbs. A parsed sentence -> its speech verbs (and "according to", stances),
each verb's subject token, and the verb each quote goes to.

The subject is found through conjoined and participle verbs ("was heard saying", "the film showed
X telling"), relative clauses ("X who said") and the two subjects of a missed apposition (a name,
then the nearest); a passive "is said to" names nobody.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from index.attribution.data import NEVER_SPEAK, PERCEPTION_LEMMAS, SPEAKER_LABELS, SPEECH_FORMS, SPEECH_VERBS
from index.attribution.marks import Segment
from index.attribution.reading import Reading
from index.attribution.sentences import Sent
from index.attribution.syntax import is_reported, lemma_of, pos_of, stance_clause

if TYPE_CHECKING:
    from spacy.tokens import Token


def speech_verbs(r: Reading, sent: Sent) -> list[Token]:
    """The sentence's speech verbs outside its quotes and outside another's report, with
    "according to" and stances ("X is confident"), in sentence order."""
    assert sent.doc is not None
    out = []
    for t in sent.doc:
        if lemma_of(t) not in SPEECH_VERBS or t.lower_ not in SPEECH_FORMS:
            continue
        if not t.tag_.startswith("VB") or r.in_quote(sent, t) or is_reported(t):
            continue
        if lemma_of(t) != "quote" and any(c.dep_ in ("nsubjpass", "auxpass") for c in t.children):
            continue  # "Lomu was asked", "is said to": nobody named speaks
        out.append(t)
    for t in sent.doc:
        if t.lower_ == "according" and any(c.lower_ == "to" for c in t.children):
            out.append(t)
        elif stance_clause(t) is not None and not r.in_quote(sent, t) and not is_reported(t):
            out.append(t)  # "Thanou is confident she ... will not be punished"
    return sorted(out, key=lambda t: t.i)


def subject_of(r: Reading, verb: Token, sent: Sent) -> Token | None:
    """The token that says who speaks through ``verb`` (see the module docstring), or None."""
    if verb.lower_ == "according":
        to = next(c for c in verb.children if c.lower_ == "to")
        return next((c for c in to.children if c.dep_ == "pobj"), None)
    v: Token | None = verb
    below: Token | None = None  # the verb climbed from
    for _ in range(3):
        if v is None:
            return None
        # The subject of a participle is the raised subject or the perceived object of the verb
        # above it.
        if below is not None and below.tag_ == "VBG" and v.lower_ in PERCEPTION_LEMMAS:
            obj = next((c for c in v.children if c.dep_ in ("dobj", "dative")
                        and c.i < below.i and not r.in_quote(sent, c)), None)
            if obj is not None:
                return obj  # "The documentary showed Mr Nattrass ... telling the meeting"
        subjs = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")
                 and not r.in_quote(sent, c)]
        # "The charity's head of HIV/Aids, Simon Wright said", "said co-ordinator Peter
        # Facey": two subjects where the parse missed an apposition; a name first, then the
        # one next to the verb.
        at = v.i
        subj = min(subjs, key=lambda c: (c.ent_type_ not in SPEAKER_LABELS, abs(c.i - at))) \
            if subjs else None
        if subj is not None:
            if subj.dep_ == "nsubjpass" and below is not None:
                return subj  # "Mr X was heard saying", "she was quoted as saying"
            if subj.dep_ == "nsubjpass" and lemma_of(v) != "quote":
                return None  # "is said to", "were told": nobody named speaks
            if subj.lower_ in ("who", "that", "which") and v.dep_ == "relcl":
                if subj.lower_ == "who" and subj.i > 0:
                    # "backed by Culture, Media and Sport Secretary Tessa Jowell who said":
                    # "who" follows the person it is said of, wherever the parse hung it.
                    prev = v.doc[subj.i - 1]
                    prev = v.doc[subj.i - 2] if prev.text == "," and subj.i > 1 else prev
                    if prev.ent_type_ == "PERSON" and prev.i != v.head.i:
                        return prev
                return v.head
            return subj
        if any(c.dep_ == "auxpass" for c in v.children) and below is None:
            return None
        before = v.doc[v.i - 1] if v.i > 0 else None
        if v.dep_ == "conj" and before is not None and pos_of(before) == "PROPN" and \
                not r.in_quote(sent, before) and not (
                    before.dep_ == "pobj" and before.ent_type_ in NEVER_SPEAK):
            # ("... on Wednesday said": a date after a preposition is no misplaced name)
            return before  # "... at Twickenham and Kirwan says": a name the parse misplaced
        if v.dep_ in ("conj", "xcomp", "advcl", "pcomp") and v.head.i != v.i:
            below, v = v, v.head
            if v.dep_ == "prep" and v.tag_ == "IN" and v.head.i != v.i:
                v = v.head  # "was quoted as| saying"
            continue
        if v.dep_ in ("relcl", "acl") and pos_of(v.head) in ("NOUN", "PROPN"):
            return v.head  # "exporters who stated ...", "with some analysts saying ..."
        return None
    return None


def verb_for(r: Reading, seg: Segment, sent: Sent, verbs: list[Token]) -> Token | None:
    """The speech verb a quote goes to: the one governing it in the parse, else the nearest
    before it (with narrative before the quote), else the first after it."""
    if not verbs:
        return None
    assert sent.doc is not None
    inside = [t for t in sent.doc if seg.start <= r.orig(sent, t) < seg.end]
    if inside:
        for anc in inside[0].ancestors:
            if anc in verbs:
                return anc
    at = seg.start
    before = [v for v in verbs if r.orig(sent, v) < at]
    after = [v for v in verbs if r.orig(sent, v) >= seg.end]
    if before and re.search(r"[A-Za-z]", r.texts[sent.para][sent.start:at - 1]):
        return before[-1]
    if after:
        return after[0]
    return before[-1] if before else None
