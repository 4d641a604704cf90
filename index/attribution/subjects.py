"""Step 3d: who a subject is. A speech verb's subject token -> the speaker (``Said``): a name
and its role, "a spokesman for X" (X speaks), "Director of rugby X", an owned body, a document's
author, a pronoun or description resolved (``coreference``), else an unnamed speaker.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from index.attribution.coreference import description, pronoun
from index.attribution.data import (
    DOCUMENT_HEADS,
    GROUP_HEADS,
    NEVER_SPEAK,
    ORG_HEADS,
    PERSON_HEADS,
    PROXY_LABELS,
    PROXY_NOUNS,
    RELATIONAL_HEADS,
    SPEAKER_LABELS,
    SPEAKING_PLACES,
    SPEECH_VERBS,
    SUBJECT_PRONOUNS,
)
from index.attribution.entities import clean_name, gender_of, is_outlet
from index.attribution.marks import Segment
from index.attribution.names import full_name, np_text, proper_text, role_of
from index.attribution.reading import Reading, Said
from index.attribution.sentences import Sent
from index.attribution.syntax import clean_role, lemma_of, pos_of, speaker_kind, words_before
from index.attribution.verbs import subject_of

if TYPE_CHECKING:
    from spacy.tokens import Span, Token


def speaker_of(r: Reading, tok: Token, sent: Sent, spans: dict[int, Span]) -> Said:
    """Resolve the subject token of a speech verb to a speaker."""
    low = tok.lower_
    if low in SUBJECT_PRONOUNS and pos_of(tok) == "PRON":
        return Said(pronoun(r, low, sent))
    span = spans.get(tok.i)
    kind = speaker_kind(span) if span is not None else None
    if span is not None and kind is not None and not is_outlet(span.text):
        ent = r.registry.link(full_name(span), kind, words_before(span))
        return Said(ent, role_of(r, tok, span, sent))
    if span is not None and span.text in SPEAKING_PLACES or \
            proper_text(r, tok, sent) in SPEAKING_PLACES:
        return Said(r.registry.link(proper_text(r, tok, sent), "organisation"))
    if span is not None and span.label_ not in SPEAKER_LABELS and pos_of(tok) == "PROPN":
        # The recogniser takes some surnames for places ("Baros", "Souness"): a person
        # already introduced under that name is the speaker; a real place never is.
        name, _, _ = clean_name(proper_text(r, tok, sent))
        known = r.registry.find(name, "person")
        if known is not None and known.kind == "person":
            return Said(known)
        if span.label_ in NEVER_SPEAK:
            return Said(None)
    # A person named beside a title: "president and chief executive Bill Owens".
    for c in tok.children:
        cs = spans.get(c.i)
        if cs is None and c.dep_ == "appos" and c.tag_ == "NNP" and \
                lemma_of(tok) in PERSON_HEADS and not r.in_quote(sent, c):
            # "Arsenal's Brazilian midfielder Edu": a role and a name the recogniser missed
            name = proper_text(r, c, sent)
            known = r.registry.find(clean_name(name)[0], "person")
            ent = known or r.registry.link(name, "person")
            return Said(ent, clean_role(np_text(r, tok, sent)))
        if c.dep_ in ("appos", "conj", "compound") and cs is not None and \
                speaker_kind(cs) == "person" and c.i == cs.root.i:
            ent = r.registry.link(full_name(cs), "person")
            if c.i < tok.i or (c.dep_ == "appos" and tok.doc[cs.start - 1].text == ","):
                role = np_text(r, tok, sent)  # "the manager, Arsene Wenger,"
            else:  # "president and chief executive| Bill Owens"
                role = r.text_of(sent, tok.left_edge, tok.doc[cs.start - 1])
            for part in re.split(r"\s+and\s+", re.split(r"['’]s\s+", role)[-1]):
                if part and len(part.split()) <= 5 and part not in ent.descriptions:
                    ent.descriptions.append(part)  # "fellow distance runner"
            return Said(ent, clean_role(role))
    titled = title_of(r, tok, sent, spans)
    if titled is not None:
        return titled
    if pos_of(tok) == "PROPN":
        name = proper_text(r, tok, sent)
        words = name.split()
        if words and all(w[:1].isupper() or w == "of" for w in words) and not is_outlet(name):
            bare, _, _ = clean_name(name)
            known = r.registry.find(bare, "person") or r.registry.find(bare, "organisation")
            if known is not None:
                r.registry.touch(known)
                return Said(known)
            kind = "person" if gender_of(words) else "organisation"
            return Said(r.registry.link(name, kind), "")
        return Said(None)
    if pos_of(tok) not in ("NOUN", "NUM", "PRON", "ADJ") or low in SUBJECT_PRONOUNS:
        return Said(None)
    lemma = lemma_of(tok)
    text = np_text(r, tok, sent)
    if lemma in PROXY_NOUNS or tok.lower_ in PROXY_NOUNS:
        return proxy(r, tok, sent, spans, text)
    det = next((c.lower_ if c.dep_ == "det" or pos_of(c) == "PRON" else "the"
                for c in tok.children if c.dep_ in ("det", "poss")), "")
    if lemma in ORG_HEADS and any(
            c.dep_ == "poss" and pos_of(c) in ("NOUN", "PROPN") for c in tok.children):
        # "The prime minister's office", "Supporters' group": a body the possessor names,
        # not the last organisation met; "it" can then mean it.
        return Said(r.registry.link(text, "organisation"), "", text)
    if lemma in DOCUMENT_HEADS or lemma in ("figure", "research", "book"):
        owner = next((c for c in tok.children if c.dep_ == "poss" and pos_of(c) == "PROPN"),
                     None)
        if owner is not None:
            said = speaker_of(r, owner, sent, spans)  # "Mr Crosby's statement said"
            if said.entity is not None:
                return Said(said.entity, said.role, text)
        # "a survey conducted by security firm Mirapoint": the body named inside speaks.
        for t in tok.subtree:
            inner = spans.get(t.i)
            if t.i != tok.i and inner is not None and inner.label_ in ("ORG", "PERSON") \
                    and t.i == inner.root.i and not is_outlet(inner.text):
                return Said(r.registry.link(full_name(inner),
                                               SPEAKER_LABELS[inner.label_]), "", text)
    if lemma in DOCUMENT_HEADS and det in ("the", "its", "their"):
        for e in reversed(r.registry.recent):
            if e.kind == "organisation":
                return Said(e, "", text)
    if det in ("the", "his", "her", "its", "their"):
        known = description(r, tok, text)
        if known is not None:
            ent = known
            desc = text[0].lower() + text[1:] if text else text
            if desc not in ent.descriptions and len(desc.split()) <= 6 and not re.match(
                    r"(?:his|her|their|its)\b", desc) and (
                    lemma in PERSON_HEADS or lemma in ORG_HEADS or lemma in GROUP_HEADS):
                ent.descriptions.append(desc)
            return Said(ent, "", desc)
    # Any other common noun is an unnamed speaker ("officials", "a survey", "critics"):
    # keeping only agent-like nouns was measured worse (train right speaker 0.864 -> 0.855).
    said = Said(r.registry.unnamed(text), "", text)
    if det in ("a", "an") and lemma in PERSON_HEADS:
        r.pending.append(said)  # "a headteacher has warned" ... named in the next sentence
    return said


def title_of(r: Reading, tok: Token, sent: Sent, spans: dict[int, Span]) -> Said | None:
    """ "Director of rugby Nigel Melville", "Chairman of the committee Peter Ainsworth": a
    title whose "of" phrase ends in a person's name is that person (a relational noun,
    "the father of Damilola Taylor", is someone else)."""
    lemma = lemma_of(tok)
    if lemma not in PERSON_HEADS or lemma in RELATIONAL_HEADS:
        return None
    for prep in tok.children:
        if prep.dep_ != "prep" or prep.lower_ != "of":
            continue
        last = prep.right_edge
        if last.is_upper and last.i > 0 and last.doc[last.i - 1].ent_type_ == "PERSON":
            last = last.doc[last.i - 1]  # "... Peter Ainsworth MP"
        cs = spans.get(last.i)
        if cs is not None and cs.label_ == "PERSON" and cs.end - 1 == last.i and \
                cs.start > prep.i + 1:
            ent = r.registry.link(full_name(cs), "person")
            role = r.text_of(sent, tok.left_edge, tok.doc[cs.start - 1])
            return Said(ent, clean_role(role))
    return None


def proxy(r: Reading, tok: Token, sent: Sent, spans: dict[int, Span], text: str) -> Said:
    """ "a spokesman for X", "a Tesco spokesman": X speaks, the noun is the role."""
    noun = tok.text
    for c in tok.children:
        if c.dep_ == "prep" and c.lower_ in ("for", "of", "at", "from", "representing"):
            for pobj in c.children:
                if pobj.dep_ == "pobj":
                    inner = speaker_of(r, pobj, sent, spans)
                    if inner.entity is not None:
                        return Said(inner.entity, noun, text)
        if c.dep_ in ("compound", "nmod") and spans.get(c.i) is not None and \
                spans[c.i].label_ in PROXY_LABELS:
            # "a Tesco spokesman", "the Trafford Centre spokeswoman"
            ent = r.registry.link(proper_text(r, c, sent),
                                     SPEAKER_LABELS.get(spans[c.i].label_, "organisation"))
            return Said(ent, noun, text)
        if c.dep_ == "poss" and spans.get(c.i) is not None and spans[c.i].label_ == "ORG":
            ent = r.registry.link(spans[c.i].text, "organisation")
            return Said(ent, noun, text)
        if c.dep_ == "poss" and spans.get(c.i) is not None and \
                speaker_kind(spans[c.i]) == "person" and lemma_of(tok) in DOCUMENT_HEADS:
            # "Mr Crosby's statement said": his own words, not a spokesman's
            ent = r.registry.link(full_name(spans[c.i]), "person")
            return Said(ent, "", text)
    det = next((c.lower_ for c in tok.children if c.dep_ == "det"), "")
    if det in ("the", "a", "an") and "spokes" in tok.lower_:
        for s in reversed(r.done[-3:]):
            for e in (*reversed(s.speakers), s.subject):
                if e is not None and e.kind == "organisation":
                    return Said(e, noun, text)
    return Said(r.registry.unnamed(text), "", text)


def said_by(r: Reading, verb: Token, sent: Sent, spans: dict[int, Span]) -> Said:
    """The speaker of a speech verb; a body speaking through a spokesperson is noted on the
    sentence (``Sent.proxy``) for the "she added" after it."""
    subj = subject_of(r, verb, sent)
    if subj is None:
        return Said(None)
    said = speaker_of(r, subj, sent, spans)
    if said.entity is not None and said.entity.kind != "person" and \
            said.role.lower() in PROXY_NOUNS:
        role = said.role.lower()
        sent.proxy = (said.entity, "f" if "woman" in role else "m" if "man" in role else None)
    return said


def colon_speaker(r: Reading, sent: Sent, seg: Segment, spans: dict[int, Span]) -> Said:
    """ "Blackburn boss Mark Hughes: "..."", "He went on: "..."": the subject before the colon."""
    assert sent.doc is not None
    colon = [t for t in sent.doc if t.text == ":" and r.orig(sent, t) < seg.start]
    if not colon:
        return Said(None)
    head = colon[-1].head
    subj = next((c for c in head.children if c.dep_ == "nsubj"), None)
    if subj is not None and subj.i < colon[-1].i:
        return speaker_of(r, subj, sent, spans)
    if head.i < colon[-1].i and pos_of(head) in ("PROPN", "NOUN"):
        return speaker_of(r, head, sent, spans)
    prev = sent.doc[colon[-1].i - 1] if colon[-1].i > 0 else None
    if prev is not None and lemma_of(prev) in SPEECH_VERBS:
        subj = subject_of(r, prev, sent)  # "... he replied:" the parse hung elsewhere
        return speaker_of(r, subj, sent, spans) if subj is not None else Said(None)
    if prev is not None and pos_of(prev) == "PROPN":
        return speaker_of(r, prev, sent, spans)
    return Said(None)
