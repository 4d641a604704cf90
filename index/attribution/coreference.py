"""Step 3e: pronouns and descriptions. "he", "they", "the minister", "the firm" -> the nearest
compatible speaker already introduced (``entities.Registry``, the sentences read so far).

A pronoun tries the previous sentence's subject first, then who spoke there, then anyone named;
a gender is never learned from a guess. A description finds the person whose introduction shares
its head noun ("the Tory leader" -> "Tory leader Michael Howard"), or the title written before a
name elsewhere in the story; "the firm" only a body the sentences before were about.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from index.attribution.data import HONORIFICS, ORG_HEADS, PERSON_HEADS, SUBJECT_PRONOUNS, TITLE_MODIFIERS
from index.attribution.entities import Entity, clean_name, gender_of
from index.attribution.reading import Reading
from index.attribution.sentences import Sent
from index.attribution.syntax import lemma_of

if TYPE_CHECKING:
    from spacy.tokens import Token

MENTION_WINDOW = 8  # sentences back where a name met only as an object may be "he" / "she"
SALIENT_WINDOW = 5  # sentences back where "the firm" finds the body they were about


def pronoun(r: Reading, word: str, sent: Sent) -> Entity | None:
    """The speaker a pronoun subject ("he", "they", "I") refers to, or None."""
    want = SUBJECT_PRONOUNS.get(word.lower())
    if want in (None, "self"):
        return r.last.entity if r.last and r.last.entity else None
    # The subject of the sentence before first, then who spoke there, then anyone named;
    # a person known to have the pronoun's gender beats one of unknown gender nearby.
    history: list[tuple[int, Entity]] = []
    for dist, s in enumerate(reversed(r.done[-8:]), start=1):
        for e in (s.subject, *s.speakers[::-1], *s.subjects):
            if e is not None:
                history.append((dist, e))
    # A name met only as an object ("a win over Bath") comes after every subject and speaker of
    # the sentences before.
    for dist, s in enumerate(reversed(r.done[-MENTION_WINDOW:]), start=1):
        history.extend((dist + 50, e) for e in s.mentions)
    history.extend((99, e) for e in reversed(r.registry.recent))
    if want in ("m", "f"):
        prev = r.done[-1] if r.done else None
        if prev is not None and prev.proxy is not None and prev.proxy[1] in (want, None):
            return prev.proxy[0]  # "The X spokeswoman said ... she added": X speaking
        ok = [(d, e) for d, e in history if (e.kind == "person" and e.gender in (want, None)
              or e.kind == "unnamed" and e.gender == want) and not named_in_quote(r, e)]
        if not ok:
            return None
        # The nearest sentence's subject, when it may have the gender, is the antecedent
        # (centering: "Vickery spoke with David Barnes. '...,' he said" is Vickery);
        # otherwise, within that sentence, one known to have the gender wins.
        near = r.done[-ok[0][0]] if ok[0][0] <= min(len(r.done), 8) else None
        if near is not None and near.subject is ok[0][1]:
            return ok[0][1]
        known = [e for d, e in ok if e.gender == want and d == ok[0][0]]
        pick = known[0] if known else ok[0][1]
        return pick  # its gender is not learned from here: one wrong guess would cascade
    for _, e in history:
        if want == "it" and e.kind == "organisation":
            return e
        if want == "they" and e.kind in ("organisation", "group", "unnamed"):
            return e
    return None


def named_in_quote(r: Reading, e: Entity) -> bool:
    """Is this person named in the sentence's own quote? ("I've had a quiet word with Olof,"
    he told ...: people do not speak of themselves by name, so "he" is someone else.)"""
    return any(t in r.quoted_names for t in e.tokens if t not in HONORIFICS)


def description(r: Reading, head: Token, text: str) -> Entity | None:
    """ "the minister" / "the firm": the nearest compatible speaker already introduced."""
    lemma = lemma_of(head)
    org = lemma in ORG_HEADS
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)} - {"the", "a", "an", "his",
                                                                   "her", "its", "their"}
    if not org:
        # The person whose introduction shares the head noun and most other words
        # ("the Tory leader" -> "Tory leader Michael Howard"), the more recent on a tie.
        best: tuple[int, int, Entity] | None = None
        titled = titled_in_text(r, text)
        for rank, e in enumerate(r.registry.recent):
            if e.kind != "person":
                continue
            known = set(" ".join([e.role, *e.descriptions]).lower().replace("-", " ").split())
            if lemma not in known and head.lower_ not in known:
                continue
            if titled is not None and words - known - {"former"}:
                continue  # "the foreign secretary" is not "shadow home secretary X"
            score = len(words & known)
            if best is None or (score, rank) > best[:2]:
                best = (score, rank, e)
        if best is not None:
            return best[2]
        if titled is not None:
            name, _, _ = clean_name(titled)
            return r.registry.find(name, "person") or r.registry.link(titled, "person")
    if org:
        # "the group" after "A group of MPs", "the commission" after "the Electoral
        # Commission": a body named with the same head noun, before the last one met.
        for e in reversed(r.registry.recent):
            if e.kind in ("organisation", "group", "unnamed") and \
                    lemma in re.findall(r"[a-z]+", e.name.lower()):
                return e
        # "the firm said" is the body the last sentences were about; a body only mentioned
        # ("... to the House of Lords") is no antecedent: "the government".
        for near in reversed(r.done[-SALIENT_WINDOW:]):
            for cand in (near.subject, *reversed(near.speakers), *near.subjects, *near.topics):
                if cand is not None and cand.kind == "organisation":
                    return cand
        return None
    # "The former commissioner": "former" is part of a role, not a new person.
    if lemma in PERSON_HEADS and not words & {"another", "other"}:
        for s in reversed(r.done[-3:]):
            for cand in (*reversed(s.speakers), s.subject):
                if cand is not None and cand.kind == "person":
                    return cand
    return None


def titled_in_text(r: Reading, text: str) -> str | None:
    """ "the foreign secretary" -> "Foreign Secretary Jack Straw" written anywhere before in
    the story (its introduction may lie in a sentence the parser never read)."""
    title = re.sub(r"^(?:the|The)\s+", "", text.strip())
    if not title or len(title.split()) > 4 or not title[0].isalpha():
        return None
    pattern = re.escape(title).replace("\\ ", r"\s+")
    for m in re.finditer(rf"\b(?i:{pattern})\s+((?:[A-Z][\w'’-]+\s+){{0,2}}[A-Z][\w'’-]+)",
                         r.registry.text):
        before = r.registry.text[max(0, m.start() - 20):m.start()].split()
        if before and before[-1].lower() in TITLE_MODIFIERS:
            continue  # "Deputy Prime Minister X", "shadow home secretary X": another title
        name, titles, _ = clean_name(m.group(1))
        if gender_of(name.split()[:1]) or titles or len(name.split()) > 1:
            return m.group(1)
    return None
