"""Step 3: attribution. Who said each quote, from the dependency parse.

For each sentence that holds a quote mark or a speech verb (``data.SPEECH_VERBS``), the parser
reads the narrative around the quote (long quotes are a placeholder, ``marks.masked``):

- the speaker is the *subject of the speech verb* ("said/told/added"), never another name in the
  sentence; an inverted "said X" is parsed the same way. The subject's appositive, or the title
  words before the name, is the role. "a spokesman for X" speaks for X; "according to X" gives X.
- a quote goes to the speech verb that governs it in the parse, else the nearest one before it,
  else the first after it;
- pronouns and descriptions ("he", "the minister", "the firm", "it") resolve to the nearest
  compatible speaker already introduced (``entities.Registry``); a description that names no one
  introduced is an unnamed speaker ("a spokesperson", "officials");
- a quote with no speech verb in its sentence keeps the speaker of the quote run it belongs to (a
  multi-paragraph quote, or quote-only paragraphs after "X said:"), until a new speech verb says
  otherwise; a quote in a narrative sentence with no speech verb is a title or label, not speech;
- the clause of a reporting verb ("X said that ...", "X told the committee that ...") and the
  clause beside "according to X" are indirect quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.attribution.data import (
    CHARGE_LEMMAS,
    DOCUMENT_HEADS,
    GROUP_HEADS,
    HONORIFICS,
    INFINITIVE_LEMMAS,
    KEEP_TITLES,
    NAME_PARTICLES,
    NEVER_SPEAK,
    ORG_HEADS,
    OUTLET_WORDS,
    PERCEPTION_LEMMAS,
    PERSON_HEADS,
    PROXY_LABELS,
    PROXY_NOUNS,
    RELATIONAL_HEADS,
    REPORTING_LEMMAS,
    SPEAKER_LABELS,
    SPEAKING_PLACES,
    SPEECH_FORMS,
    SPEECH_VERBS,
    STANCE_ADJECTIVES,
    TITLE_MODIFIERS,
)
from index.attribution.entities import Entity, Registry, clean_name, gender_of, is_outlet
from index.attribution.marks import PLACEHOLDER, Masked, Segment, chains, find_segments, masked
from index.models import Quote, Story

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_SPEECH_WORD = re.compile(r"\b(?:{})\b".format("|".join(sorted(SPEECH_FORMS, key=len, reverse=True))),
                          re.IGNORECASE)
_STANCE_WORD = re.compile(r"\b(?:is|are|was|were|am|be|been|remains?|remained)\s+(?:\w+\s+)?(?:{})\b"
                          .format("|".join(sorted(STANCE_ADJECTIVES))))
_BACKSHIFT = re.compile(r"\b(?:would|could|should|might|must)\b")
_LABEL_BEFORE = re.compile(r"\b(?:a|an|the|as|its|his|her|their|so-called|dubbed|named|called)"
                           r"\s*[\"“]?$", re.IGNORECASE)

# Parse the sentence before each quote or speech verb: pronoun antecedents (train right speaker
# 0.841 -> 0.864, dev 0.819 -> 0.842, for 40% more parsed words).
CONTEXT = True
# '- Blackburn boss Mark Hughes: "..."': the subject before a colon (train 0.834 -> 0.864).
COLON = True
# A pronoun's antecedent is the previous sentence's subject when compatible, before a mention of
# known gender in that sentence.
SUBJECT_FIRST = True
MENTIONS_LAST = True
MENTION_WINDOW = 8
# Parse the story's first sentence: the lede names who the story is about.
LEDE = True
# A quote's speech verb beats a speaker carried into its first part.
CHAIN_VERB_FIRST = True
# The subject of a participle is the raised subject or the perceived object of the verb above.
RAISING = True
# A name after a person's role noun is a person, whatever the recogniser's label.
ROLE_NOUN_PERSON = True
# A pronoun never resolves to a person named in the quote it introduces.
QUOTE_NAMES_OTHERS = True
# A person's name is the capitalised tail of the recogniser's span.
NAME_TAIL = True
# "Director of rugby Nigel Melville": a title's "of" phrase ending in a name is the speaker.
TITLE_OF = True
# A backshifted sentence after an indirect quote goes on reporting its speaker.
REPORTED_RUN = True
# "The former commissioner told ...": "former" is part of a role, not a new person.
FORMER_IS_ROLE = True
# "the foreign secretary" finds "Foreign Secretary Jack Straw" in the story's text.
TITLE_IN_TEXT = True
# A name with a "who" clause is a person, whatever the recogniser's label.
WHO_PERSON = True
# A quote right after a sentence about a new person in its paragraph is that person's.
INTRODUCED = True
# "said A and there was B": B's clause, conjoined to the verb, is reported too.
CONJ_CLAUSE = True
# "said the Dome cost taxpayers ...": a noun object and a verb after "say" is a broken clause.
MISPARSED_SAY = True
# "X is confident (that) ..." reports X's view, as "X believes" does.
STANCE = True
# Of two subjects the parse gave a verb, the one next to it speaks.
NEAREST_SUBJECT = True
# "X who said": the person right before "who".
WHO_NEXT = True
# "midfielder Edu": a proper noun in apposition to a role noun is a person.
ROLE_APPOS = True
# "the prime minister's office" is that office, not the last organisation named.
OWNED_BODY = True
# The body a document is addressed to is not a speaker ("a statement to the Stock Exchange").
ADDRESSEE = True
# "The director is X": X is the sentence's subject for the pronouns after it.
COPULA_NAME = True
# "the group" is the unnamed "group of MPs" met before, if nearer than any body.
SAME_HEAD = True
# "X's statement said": X speaks.
OWNER_SPEAKS = True
# "S, X has warned.": the whole of S is reported.
INVERTED_REPORT = True
# "S, he said, and T": T is reported too.
PARENTHETICAL_CONJ = True
# A date or place after a preposition is never a subject the parse misplaced.
NOT_OBJECT = True
# "the firm" resolves only to a body the sentences before were about.
SALIENT_BODY = True
SALIENT_WINDOW = 5
_COPULAS = frozenset(["is", "are", "was", "were", "am", "be", "been", "remain", "remains", "remained"])
_PRONOUNS = {"he": "m", "she": "f", "it": "it", "they": "they", "we": "they", "i": "self"}


@dataclass
class Sent:
    """One sentence of a paragraph: offsets in the paragraph and in its masked form."""

    para: int
    start: int  # paragraph offsets
    end: int
    mtext: str
    masked: Masked
    mstart: int
    segs: list[Segment] = field(default_factory=list)
    quote_only: bool = False
    doc: Doc | None = None
    speakers: list[Entity] = field(default_factory=list)
    subject: Entity | None = None
    subjects: list[Entity] = field(default_factory=list)
    mentions: list[Entity] = field(default_factory=list)
    topics: list[Entity] = field(default_factory=list)  # named inside a subject's phrase
    proxy: tuple[Entity, str | None] | None = None  # a body that spoke through a spokes-person


@dataclass
class Said:
    """A resolved speaker: the entity, the role the sentence gives it, how it was referred to."""

    entity: Entity | None
    role: str = ""
    alias: str = ""


def sentence_spans(text: str, doc: Doc) -> list[tuple[int, int]]:
    """Sentence spans of a masked paragraph; an opening mark left at a sentence's end moves on."""
    spans = [(s.start_char, s.end_char) for s in doc.sents]
    out: list[tuple[int, int]] = []
    carry = None
    for a, b in spans:
        if carry is not None:
            a, carry = carry, None
        while b > a and text[b - 1].isspace():
            b -= 1
        if b - a > 1 and text[b - 1] in '"“' and (text[b - 2].isspace()):
            carry = b - 1
            b -= 1
            while b > a and text[b - 1].isspace():
                b -= 1
        if b > a:
            out.append((a, b))
    if carry is not None:
        out.append((carry, len(text.rstrip())))
    # '"Yes!" said the giant winger.': a sentence never starts in lower case; it goes on.
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and text[a:a + 1].islower():
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def split_story(story: Story) -> tuple[list[Sent], list[Segment]]:
    """Sentences of every paragraph (quotes masked) and every quote segment."""
    from index.attribution.model import splitter

    texts = [p.text for p in story.paragraphs]
    segs = find_segments(texts)
    maskeds = [masked(text, [s for s in segs if s.para == p]) for p, text in enumerate(texts)]
    docs = splitter().pipe([m.text for m in maskeds])
    out: list[Sent] = []
    for p, (text, m, doc) in enumerate(zip(texts, maskeds, docs, strict=True)):
        psegs = [s for s in segs if s.para == p]
        for ms, me in sentence_spans(m.text, doc):
            a, b = m.original(ms), m.original(me, end=True)
            sent = Sent(p, a, b, m.text[ms:me], m, ms)
            sent.segs = [s for s in psegs if a <= s.start - 1 < b or (s.start == 0 and a == 0)
                         or (s.cont and s.start <= 1 and a == 0)]
            rest = text[a:b]
            for s in sorted(sent.segs, key=lambda s: -s.start):
                rest = rest[: max(0, s.start - a)] + rest[max(0, s.end - a):]
            sent.quote_only = bool(sent.segs) and not re.search(r"[A-Za-z0-9]", rest)
            out.append(sent)
    return out, segs


def needs_parse(sent: Sent) -> bool:
    """Only sentences with a quote mark or a speech verb (or "according to") are parsed."""
    if sent.quote_only:
        return False
    return bool(sent.segs) or bool(_SPEECH_WORD.search(sent.mtext)) or \
        "ccording to" in sent.mtext or STANCE and bool(_STANCE_WORD.search(sent.mtext))


class Reader:
    """Reads one story front to back, resolving each quote's speaker."""

    def __init__(self, story: Story, sents: list[Sent], segs: list[Segment]) -> None:
        self.story = story
        self.texts = [p.text for p in story.paragraphs]
        self.sents = sents
        self.segs = segs
        self.registry = Registry("\n".join(self.texts))
        self.said: dict[int, Said] = {}  # id(segment) -> speaker
        self.dropped: set[int] = set()
        self.carry: dict[int, Said] = {}
        self.carried: set[int] = set()  # segments whose speaker was carried, not named by a verb
        self.indirect: list[tuple[Sent, str, Said]] = []
        self.last: Said | None = None
        self.done: list[Sent] = []
        self.pending: list[Said] = []
        self.quoted_names: set[str] = set()  # capitalised words of the sentence's quotes

    # -- offsets and spans

    def _orig(self, sent: Sent, tok: Token, end: bool = False) -> int:
        pos = sent.mstart + tok.idx + (len(tok.text) if end else 0)
        return sent.masked.original(pos, end=end)

    def _in_quote(self, sent: Sent, tok: Token) -> bool:
        o = self._orig(sent, tok)
        return any(s.start <= o < s.end for s in sent.segs)

    def _text(self, sent: Sent, first: Token, last: Token) -> str:
        a, b = self._orig(sent, first), self._orig(sent, last, end=True)
        return self.texts[sent.para][a:b]

    # -- entities of a sentence

    def _entity_spans(self, sent: Sent) -> dict[int, Span]:
        assert sent.doc is not None
        out: dict[int, Span] = {}
        for ent in sent.doc.ents:
            for t in ent:
                out[t.i] = ent
        return out

    def _register(self, sent: Sent) -> None:
        """Link the sentence's named speakers; note which are subjects (pronouns prefer them)."""
        assert sent.doc is not None
        for ent in sent.doc.ents:
            kind = _kind_of(ent)
            if kind is None or self._in_quote(sent, ent[0]) or self._outlet(ent):
                continue
            e = self.registry.link(self._full_name(ent), kind, _before(ent))
            role = self._premodifier(ent, sent)
            desc = re.split(r"['’]s\s+", role)[-1]  # "Moazzam Begg's Labour MP" -> "Labour MP"
            if desc and not re.match(r"(?:his|her|their|its|our|my)\b", desc, re.IGNORECASE):
                if desc not in e.descriptions:
                    e.descriptions.append(desc)
                if kind == "person":
                    e.role = e.role or role
            if ent.root.dep_ in ("nsubj", "nsubjpass") or (ent.root.dep_ == "appos" and
                                                           ent.root.head.dep_ == "nsubj"):
                sent.subjects.append(e)
            sent.mentions.append(e)
            if any(a.dep_ in ("nsubj", "nsubjpass") for a in (ent.root, *ent.root.ancestors)):
                sent.topics.append(e)  # in the subject's phrase: "Some groups, including X,"

    def _outlet(self, ent: Span) -> bool:
        """The outlet or person spoken to ("told Czech newspaper Daily Sport"), or a medium."""
        if is_outlet(ent.text):
            return True
        root = ent.root
        if any(t.lower_ in OUTLET_WORDS and t.lower_ in ("newspaper", "radio", "magazine",
                                                        "channel", "programme", "station",
                                                        "paper", "website", "show", "tv")
               for t in root.lefts):
            return True
        head = root.head
        if root.dep_ in ("dobj", "dative") and lemma_of(head) in ("tell", "inform", "ask"):
            return True
        if ADDRESSEE and root.dep_ == "pobj" and head.lower_ == "to" and (
                head.dep_ == "dative" or lemma_of(head.head) in DOCUMENT_HEADS):
            return True  # "issued a statement to the Stock Exchange": addressed, not speaking
        return root.dep_ == "pobj" and head.lower_ in ("to", "with") and \
            lemma_of(head.head) in ("tell", "talk", "speak", "say", "explain", "write")

    def _full_name(self, ent: Span) -> str:
        """The entity's text with a title of nobility before it ("Sir Ian Blair", "Lord X of Y")."""
        doc = ent.doc
        start, end = ent.start, ent.end
        if NAME_TAIL and ent.label_ == "PERSON" and end - start > 2:
            # "Gloucester director of rugby Nigel Melville", "Tories Ken Clarke": the recogniser
            # took the role or a group in; the name is what follows the last such word.
            for t in doc[start:end - 2]:
                if t.is_lower and t.is_alpha and t.lower_ not in NAME_PARTICLES or \
                        t.tag_ in ("NNPS", "NN", "NNS"):
                    start = t.i + 1
        if start > 0 and doc[start - 1].text in KEEP_TITLES:
            start -= 1
        if doc[start].text in KEEP_TITLES and end + 1 < len(doc) and doc[end].lower_ == "of" \
                and pos_of(doc[end + 1]) == "PROPN":
            end += 2
        text = doc[start:end].text
        if text.count("(") > text.count(")"):
            text = text[:text.rindex("(")].strip()  # "Office for Policing and Crime (Mopac"
        return text

    def _premodifier(self, ent: Span, sent: Sent) -> str:
        """The description before a name ("Liverpool forward", "World 100m champion") or its
        appositive (", principal of Ark Walworth Academy,")."""
        root = ent.root
        pre = [t for t in root.lefts if t.i < ent.start and t.dep_ in ("compound", "amod", "nmod")
               and t.text not in HONORIFICS and t.text not in KEEP_TITLES]
        if pre:
            first = min((t.left_edge for t in pre), key=lambda t: t.i)
            last = ent.start - 1
            while last >= first.i and (ent.doc[last].text in KEEP_TITLES or
                                       ent.doc[last].text in HONORIFICS):
                last -= 1  # "... spokesman Sir| Menzies Campbell"
            words = ent.doc[first.i:last + 1]
            if len(words) and any(pos_of(t) == "NOUN" for t in words) and not any(
                    t.is_quote or self._in_quote(sent, t) for t in words):
                text = self._text(sent, words[0], words[-1]).strip(" ,")
                if words[0].is_sent_start and pos_of(words[0]) != "PROPN":
                    text = text[0].lower() + text[1:]  # "Sports psychologist Hugh Richards"
                return text
        for c in root.rights:
            if c.dep_ == "appos" and pos_of(c) == "NOUN":
                return _clean_role(self._text(sent, c.left_edge, c.right_edge))
        return ""

    # -- resolution

    def _pronoun(self, word: str, sent: Sent) -> Entity | None:
        want = _PRONOUNS.get(word.lower())
        if want in (None, "self"):
            return self.last.entity if self.last and self.last.entity else None
        # The subject of the sentence before first, then who spoke there, then anyone named;
        # a person known to have the pronoun's gender beats one of unknown gender nearby.
        history: list[tuple[int, Entity]] = []
        for dist, s in enumerate(reversed(self.done[-8:]), start=1):
            for e in (s.subject, *s.speakers[::-1], *s.subjects):
                if e is not None:
                    history.append((dist, e))
            if not MENTIONS_LAST:
                history.extend((dist, e) for e in s.mentions)
        if MENTIONS_LAST:
            # A name met only as an object ("a win over Bath") comes after every subject and
            # speaker of the sentences before.
            for dist, s in enumerate(reversed(self.done[-MENTION_WINDOW:]), start=1):
                history.extend((dist + 50, e) for e in s.mentions)
        history.extend((99, e) for e in reversed(self.registry.recent))
        if want in ("m", "f"):
            prev = self.done[-1] if self.done else None
            if prev is not None and prev.proxy is not None and prev.proxy[1] in (want, None):
                return prev.proxy[0]  # "The X spokeswoman said ... she added": X speaking
            ok = [(d, e) for d, e in history if (e.kind == "person" and e.gender in (want, None)
                  or e.kind == "unnamed" and e.gender == want) and not self._named_in_quote(e)]
            if not ok:
                return None
            # The nearest sentence's subject, when it may have the gender, is the antecedent
            # (centering: "Vickery spoke with David Barnes. '...,' he said" is Vickery);
            # otherwise, within that sentence, one known to have the gender wins.
            near = self.done[-ok[0][0]] if ok[0][0] <= min(len(self.done), 8) else None
            if SUBJECT_FIRST and near is not None and near.subject is ok[0][1]:
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

    def _named_in_quote(self, e: Entity) -> bool:
        """Is this person named in the sentence's own quote? ("I've had a quiet word with Olof,"
        he told ...: people do not speak of themselves by name, so "he" is someone else.)"""
        return QUOTE_NAMES_OTHERS and any(t in self.quoted_names for t in e.tokens
                                          if t not in HONORIFICS)

    def _description(self, head: Token, text: str) -> Entity | None:
        """ "the minister" / "the firm": the nearest compatible speaker already introduced."""
        lemma = lemma_of(head)
        org = lemma in ORG_HEADS
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)} - {"the", "a", "an", "his",
                                                                       "her", "its", "their"}
        if not org:
            # The person whose introduction shares the head noun and most other words
            # ("the Tory leader" -> "Tory leader Michael Howard"), the more recent on a tie.
            best: tuple[int, int, Entity] | None = None
            titled = self._titled_in_text(text) if TITLE_IN_TEXT else None
            for rank, e in enumerate(self.registry.recent):
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
                return self.registry.find(name, "person") or self.registry.link(titled, "person")
        if org:
            # "the group" after "A group of MPs", "the commission" after "the Electoral
            # Commission": a body named with the same head noun, before the last one met.
            for e in reversed(self.registry.recent if SAME_HEAD else []):
                if e.kind in ("organisation", "group", "unnamed") and \
                        lemma in re.findall(r"[a-z]+", e.name.lower()):
                    return e
            if SALIENT_BODY:
                # "the firm said" is the body the last sentences were about; a body only
                # mentioned ("... to the House of Lords") is no antecedent: "the government".
                for near in reversed(self.done[-SALIENT_WINDOW:]):
                    for cand in (near.subject, *reversed(near.speakers), *near.subjects,
                                 *near.topics):
                        if cand is not None and cand.kind == "organisation":
                            return cand
                return None
            for e in reversed(self.registry.recent):
                if e.kind == "organisation":
                    return e
            return None
        if lemma in PERSON_HEADS and not (words & ({"another", "other"} if FORMER_IS_ROLE
                                                   else {"former", "another", "other"})):
            for s in reversed(self.done[-3:]):
                for cand in (*reversed(s.speakers), s.subject):
                    if cand is not None and cand.kind == "person":
                        return cand
        return None

    def _titled_in_text(self, text: str) -> str | None:
        """ "the foreign secretary" -> "Foreign Secretary Jack Straw" written anywhere before in
        the story (its introduction may lie in a sentence the parser never read)."""
        title = re.sub(r"^(?:the|The)\s+", "", text.strip())
        if not title or len(title.split()) > 4 or not title[0].isalpha():
            return None
        pattern = re.escape(title).replace("\\ ", r"\s+")
        for m in re.finditer(rf"\b(?i:{pattern})\s+((?:[A-Z][\w'’-]+\s+){{0,2}}[A-Z][\w'’-]+)",
                             self.registry.text):
            before = self.registry.text[max(0, m.start() - 20):m.start()].split()
            if before and before[-1].lower() in TITLE_MODIFIERS:
                continue  # "Deputy Prime Minister X", "shadow home secretary X": another title
            name, titles, _ = clean_name(m.group(1))
            if gender_of(name.split()[:1]) or titles or len(name.split()) > 1:
                return m.group(1)
        return None

    def _np_text(self, tok: Token, sent: Sent) -> str:
        """The noun phrase a common-noun subject heads, without clauses or appositives."""
        left = [t for t in tok.lefts if t.dep_ in ("det", "amod", "compound", "poss", "nummod",
                                                      "nmod", "case", "punct")]
        first = min([tok, *[t.left_edge for t in left]], key=lambda t: t.i)
        last = tok
        for r in tok.rights:
            if r.dep_ == "prep" and r.lower_ in ("for", "of", "at", "from") and \
                    r.right_edge.i - tok.i <= 8:
                last = r.right_edge
        return self._text(sent, first, last).strip(" ,")

    def _speaker_of(self, tok: Token, sent: Sent, spans: dict[int, Span]) -> Said:
        """Resolve the subject token of a speech verb to a speaker."""
        low = tok.lower_
        if low in _PRONOUNS and pos_of(tok) == "PRON":
            return Said(self._pronoun(low, sent))
        span = spans.get(tok.i)
        kind = _kind_of(span) if span is not None else None
        if span is not None and kind is not None and not is_outlet(span.text):
            ent = self.registry.link(self._full_name(span), kind, _before(span))
            return Said(ent, self._role(tok, span, sent))
        if span is not None and span.text in SPEAKING_PLACES or \
                self._proper_text(tok, sent) in SPEAKING_PLACES:
            return Said(self.registry.link(self._proper_text(tok, sent), "organisation"))
        if span is not None and span.label_ not in SPEAKER_LABELS and pos_of(tok) == "PROPN":
            # The recogniser takes some surnames for places ("Baros", "Souness"): a person
            # already introduced under that name is the speaker; a real place never is.
            name, _, _ = clean_name(self._proper_text(tok, sent))
            known = self.registry.find(name, "person")
            if known is not None and known.kind == "person":
                return Said(known)
            if span.label_ in NEVER_SPEAK:
                return Said(None)
        # A person named beside a title: "president and chief executive Bill Owens".
        for c in tok.children:
            cs = spans.get(c.i)
            if ROLE_APPOS and cs is None and c.dep_ == "appos" and c.tag_ == "NNP" and \
                    lemma_of(tok) in PERSON_HEADS and not self._in_quote(sent, c):
                # "Arsenal's Brazilian midfielder Edu": a role and a name the recogniser missed
                name = self._proper_text(c, sent)
                known = self.registry.find(clean_name(name)[0], "person")
                ent = known or self.registry.link(name, "person")
                return Said(ent, _clean_role(self._np_text(tok, sent)))
            if c.dep_ in ("appos", "conj", "compound") and cs is not None and \
                    _kind_of(cs) == "person" and c.i == cs.root.i:
                ent = self.registry.link(self._full_name(cs), "person")
                if c.i < tok.i or (c.dep_ == "appos" and tok.doc[cs.start - 1].text == ","):
                    role = self._np_text(tok, sent)  # "the manager, Arsene Wenger,"
                else:  # "president and chief executive| Bill Owens"
                    role = self._text(sent, tok.left_edge, tok.doc[cs.start - 1])
                for part in re.split(r"\s+and\s+", re.split(r"['’]s\s+", role)[-1]):
                    if part and len(part.split()) <= 5 and part not in ent.descriptions:
                        ent.descriptions.append(part)  # "fellow distance runner"
                return Said(ent, _clean_role(role))
        titled = self._title_of(tok, sent, spans)
        if titled is not None:
            return titled
        if pos_of(tok) == "PROPN":
            name = self._proper_text(tok, sent)
            words = name.split()
            if words and all(w[:1].isupper() or w == "of" for w in words) and not is_outlet(name):
                bare, _, _ = clean_name(name)
                known = self.registry.find(bare, "person") or self.registry.find(bare, "organisation")
                if known is not None:
                    self.registry.touch(known)
                    return Said(known)
                kind = "person" if gender_of(words) else "organisation"
                return Said(self.registry.link(name, kind), "")
            return Said(None)
        if pos_of(tok) not in ("NOUN", "NUM", "PRON", "ADJ") or low in _PRONOUNS:
            return Said(None)
        lemma = lemma_of(tok)
        text = self._np_text(tok, sent)
        if lemma in PROXY_NOUNS or tok.lower_ in PROXY_NOUNS:
            return self._proxy(tok, sent, spans, text)
        det = next((c.lower_ if c.dep_ == "det" or pos_of(c) == "PRON" else "the"
                    for c in tok.children if c.dep_ in ("det", "poss")), "")
        if OWNED_BODY and lemma in ORG_HEADS and any(
                c.dep_ == "poss" and pos_of(c) in ("NOUN", "PROPN") for c in tok.children):
            # "The prime minister's office", "Supporters' group": a body the possessor names,
            # not the last organisation met; "it" can then mean it.
            return Said(self.registry.link(text, "organisation"), "", text)
        if lemma in DOCUMENT_HEADS or lemma in ("figure", "research", "book"):
            owner = next((c for c in tok.children if c.dep_ == "poss" and pos_of(c) == "PROPN"),
                         None)
            if OWNER_SPEAKS and owner is not None:
                said = self._speaker_of(owner, sent, spans)  # "Mr Crosby's statement said"
                if said.entity is not None:
                    return Said(said.entity, said.role, text)
            # "a survey conducted by security firm Mirapoint": the body named inside speaks.
            for t in tok.subtree:
                inner = spans.get(t.i)
                if t.i != tok.i and inner is not None and inner.label_ in ("ORG", "PERSON") \
                        and t.i == inner.root.i and not is_outlet(inner.text):
                    return Said(self.registry.link(self._full_name(inner),
                                                   SPEAKER_LABELS[inner.label_]), "", text)
        if lemma in DOCUMENT_HEADS and det in ("the", "its", "their"):
            for e in reversed(self.registry.recent):
                if e.kind == "organisation":
                    return Said(e, "", text)
        if det in ("the", "his", "her", "its", "their"):
            known = self._description(tok, text)
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
        said = Said(self.registry.unnamed(text), "", text)
        if det in ("a", "an") and lemma in PERSON_HEADS:
            self.pending.append(said)  # "a headteacher has warned" ... named in the next sentence
        return said

    def _title_of(self, tok: Token, sent: Sent, spans: dict[int, Span]) -> Said | None:
        """ "Director of rugby Nigel Melville", "Chairman of the committee Peter Ainsworth": a
        title whose "of" phrase ends in a person's name is that person (a relational noun,
        "the father of Damilola Taylor", is someone else)."""
        lemma = lemma_of(tok)
        if not TITLE_OF or lemma not in PERSON_HEADS or lemma in RELATIONAL_HEADS:
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
                ent = self.registry.link(self._full_name(cs), "person")
                role = self._text(sent, tok.left_edge, tok.doc[cs.start - 1])
                return Said(ent, _clean_role(role))
        return None

    def _proxy(self, tok: Token, sent: Sent, spans: dict[int, Span], text: str) -> Said:
        """ "a spokesman for X", "a Tesco spokesman": X speaks, the noun is the role."""
        noun = tok.text
        for c in tok.children:
            if c.dep_ == "prep" and c.lower_ in ("for", "of", "at", "from", "representing"):
                for pobj in c.children:
                    if pobj.dep_ == "pobj":
                        inner = self._speaker_of(pobj, sent, spans)
                        if inner.entity is not None:
                            return Said(inner.entity, noun, text)
            if c.dep_ in ("compound", "nmod") and spans.get(c.i) is not None and \
                    spans[c.i].label_ in PROXY_LABELS:
                # "a Tesco spokesman", "the Trafford Centre spokeswoman"
                ent = self.registry.link(self._proper_text(c, sent),
                                         SPEAKER_LABELS.get(spans[c.i].label_, "organisation"))
                return Said(ent, noun, text)
            if c.dep_ == "poss" and spans.get(c.i) is not None and spans[c.i].label_ == "ORG":
                ent = self.registry.link(spans[c.i].text, "organisation")
                return Said(ent, noun, text)
            if OWNER_SPEAKS and c.dep_ == "poss" and spans.get(c.i) is not None and \
                    _kind_of(spans[c.i]) == "person" and lemma_of(tok) in DOCUMENT_HEADS:
                # "Mr Crosby's statement said": his own words, not a spokesman's
                ent = self.registry.link(self._full_name(spans[c.i]), "person")
                return Said(ent, "", text)
        det = next((c.lower_ for c in tok.children if c.dep_ == "det"), "")
        if det in ("the", "a", "an") and "spokes" in tok.lower_:
            for s in reversed(self.done[-3:]):
                for e in (*reversed(s.speakers), s.subject):
                    if e is not None and e.kind == "organisation":
                        return Said(e, noun, text)
        return Said(self.registry.unnamed(text), "", text)

    def _proper_text(self, tok: Token, sent: Sent) -> str:
        parts = [t for t in tok.lefts if t.dep_ == "compound" and pos_of(t) == "PROPN"]
        first = min([tok, *parts], key=lambda t: t.i)
        last = tok
        if first.text in KEEP_TITLES:  # "Lord Nicholls of Birkenhead": the peer's whole title
            of = next((c for c in tok.rights if c.dep_ == "prep" and c.lower_ == "of"), None)
            place = next((c for c in of.children if c.dep_ == "pobj"), None) if of else None
            if place is not None and pos_of(place) == "PROPN" and of is not None and \
                    of.i == tok.i + 1:
                last = place
        return self._text(sent, first, last).strip()

    def _role(self, tok: Token, span: Span, sent: Sent) -> str:
        """Title words before a name and the appositive after it."""
        bits: list[str] = []
        _, titles, _ = clean_name(span.text)
        titles = [t for t in titles if t not in HONORIFICS and t not in KEEP_TITLES]
        pre = [t for t in tok.lefts if t.i < span.start and t.dep_ in ("compound", "amod", "nmod",
                                                                       "poss")]
        if pre:
            first = min((t.left_edge for t in pre), key=lambda t: t.i)
            before = self._text(sent, first, tok.doc[span.start - 1]).strip()
            if before and not re.search(r"\b(?:said|told|says)\b", before):
                bits.append(before)
        if titles:
            bits.append(" ".join(titles))
        appos = next((c for c in tok.rights if c.dep_ == "appos" and c.i > span.end - 1), None)
        doc = tok.doc
        if appos is not None:
            bits.append(self._text(sent, appos.left_edge, appos.right_edge).strip(" ,"))
        elif span.end < len(doc) and doc[span.end].text == "," and tok.head.i > span.end:
            # "Haines, policing lead for Enfield, said": the parse may not call it appos.
            close = next((t.i for t in doc[span.end + 1:tok.head.i] if t.text == ","), None)
            inner = doc[span.end + 1:close] if close is not None else None
            if inner is not None and 0 < len(inner) <= 10 and not any(
                    t.tag_ in ("VBD", "VBZ", "VBP", "MD") or self._in_quote(sent, t) or t.is_quote
                    for t in inner):
                bits.append(self._text(sent, inner[0], inner[-1]))
        return _clean_role(", ".join(b for b in bits if b))

    # -- verbs

    def _verbs(self, sent: Sent) -> list[Token]:
        assert sent.doc is not None
        out = []
        for t in sent.doc:
            if lemma_of(t) not in SPEECH_VERBS or t.lower_ not in SPEECH_FORMS:
                continue
            if not t.tag_.startswith("VB") or self._in_quote(sent, t) or _reported(t):
                continue
            if lemma_of(t) != "quote" and any(c.dep_ in ("nsubjpass", "auxpass") for c in t.children):
                continue  # "Lomu was asked", "is said to": nobody named speaks
            out.append(t)
        for t in sent.doc:
            if t.lower_ == "according" and any(c.lower_ == "to" for c in t.children):
                out.append(t)
            elif STANCE and _stance_clause(t) is not None and not self._in_quote(sent, t) \
                    and not _reported(t):
                out.append(t)  # "Thanou is confident she ... will not be punished"
        return sorted(out, key=lambda t: t.i)

    def _subject(self, verb: Token, sent: Sent) -> Token | None:
        if verb.lower_ == "according":
            to = next(c for c in verb.children if c.lower_ == "to")
            return next((c for c in to.children if c.dep_ == "pobj"), None)
        v: Token | None = verb
        below: Token | None = None  # the verb climbed from
        for _ in range(3):
            if v is None:
                return None
            if RAISING and below is not None and below.tag_ == "VBG" and \
                    v.lower_ in PERCEPTION_LEMMAS:
                obj = next((c for c in v.children if c.dep_ in ("dobj", "dative")
                            and c.i < below.i and not self._in_quote(sent, c)), None)
                if obj is not None:
                    return obj  # "The documentary showed Mr Nattrass ... telling the meeting"
            subjs = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass", "csubj")
                     and not self._in_quote(sent, c)]
            # "The charity's head of HIV/Aids, Simon Wright said", "said co-ordinator Peter
            # Facey": two subjects where the parse missed an apposition; a name first, then the
            # one next to the verb.
            at = v.i
            subj = min(subjs, key=lambda c: (c.ent_type_ not in SPEAKER_LABELS, abs(c.i - at))) \
                if subjs and NEAREST_SUBJECT else next(iter(subjs), None)
            if subj is not None:
                if subj.dep_ == "nsubjpass" and RAISING and below is not None:
                    return subj  # "Mr X was heard saying", "she was quoted as saying"
                if subj.dep_ == "nsubjpass" and lemma_of(v) != "quote":
                    return None  # "is said to", "were told": nobody named speaks
                if subj.lower_ in ("who", "that", "which") and v.dep_ == "relcl":
                    if WHO_NEXT and subj.lower_ == "who" and subj.i > 0:
                        # "backed by Culture, Media and Sport Secretary Tessa Jowell who said":
                        # "who" follows the person it is said of, wherever the parse hung it.
                        prev = v.doc[subj.i - 1]
                        prev = v.doc[subj.i - 2] if prev.text == "," and subj.i > 1 else prev
                        if prev.ent_type_ == "PERSON" and prev.i != v.head.i:
                            return prev
                    return v.head
                return subj
            if any(c.dep_ == "auxpass" for c in v.children) and (below is None or not RAISING):
                return None
            before = v.doc[v.i - 1] if v.i > 0 else None
            if v.dep_ == "conj" and before is not None and pos_of(before) == "PROPN" and \
                    not self._in_quote(sent, before) and not (
                        NOT_OBJECT and before.dep_ == "pobj" and before.ent_type_ in NEVER_SPEAK):
                # ("... on Wednesday said": a date after a preposition is no misplaced name)
                return before  # "... at Twickenham and Kirwan says": a name the parse misplaced
            if v.dep_ in ("conj", "xcomp", "advcl", "pcomp") and v.head.i != v.i:
                below, v = v, v.head
                if RAISING and v.dep_ == "prep" and v.tag_ == "IN" and v.head.i != v.i:
                    v = v.head  # "was quoted as| saying"
                continue
            if v.dep_ in ("relcl", "acl") and pos_of(v.head) in ("NOUN", "PROPN"):
                return v.head  # "exporters who stated ...", "with some analysts saying ..."
            return None
        return None

    def _said(self, verb: Token, sent: Sent, spans: dict[int, Span]) -> Said:
        subj = self._subject(verb, sent)
        if subj is None:
            return Said(None)
        said = self._speaker_of(subj, sent, spans)
        if said.entity is not None and said.entity.kind != "person" and \
                said.role.lower() in PROXY_NOUNS:
            role = said.role.lower()
            sent.proxy = (said.entity, "f" if "woman" in role else "m" if "man" in role else None)
        return said

    # -- the walk

    def read(self) -> None:
        for sent in self.sents:
            before = len(self.indirect)
            self._read(sent)
            if len(self.indirect) == before and REPORTED_RUN:
                self._reported_run(sent)
            self.done.append(sent)

    def _reported_run(self, sent: Sent) -> None:
        """ "The report said ... . Financing would be too little.": a sentence with no speech
        verb and no quote, right after an indirect quote in the same paragraph, whose verb is
        backshifted to a modal ("would", "could", "should") goes on reporting the same speaker."""
        if not self.indirect or not self.done or sent.segs or _SPEECH_WORD.search(sent.mtext):
            return
        prev_sent, _, said = self.indirect[-1]
        if prev_sent is not self.done[-1] or prev_sent.para != sent.para:
            return
        root = next((t for t in sent.doc if t.dep_ == "ROOT"), None) if sent.doc else None
        if root is None or not any(c.dep_ == "aux" and _BACKSHIFT.fullmatch(c.lower_)
                                   for c in root.children):
            return  # the main verb's own modal, not one in a clause inside the sentence
        if any(c.dep_ == "nsubj" and c.lower_ in ("i", "we", "you", "it") for c in root.children):
            return  # "it would seem": the writer's voice
        text = self.texts[sent.para][sent.start:sent.end].strip().rstrip(".")
        self.indirect.append((sent, text, said))

    def _carry(self, sent: Sent | None = None) -> Said | None:
        prev = self.done[-1] if self.done else None
        if INTRODUCED and sent is not None and prev is not None and prev.para == sent.para and \
                not prev.segs and prev.subject is not None and prev.subject.kind == "person" \
                and (self.last is None or self.last.entity is not prev.subject):
            # "His friend, Saxon Spence, lays the blame on one issue. "You cannot ...": the
            # person the sentence before introduced, not the last speaker.
            return Said(prev.subject)
        if self.last is not None:
            return self.last
        if prev is not None and prev.subject is not None and prev.subject.kind == "person":
            return Said(prev.subject)
        return None

    def _read(self, sent: Sent) -> None:
        if self.pending and sent.doc is not None:
            first = next((e for e in sent.doc.ents if e.label_ == "PERSON"
                          and not self._in_quote(sent, e[0])), None)
            if first is not None:
                person = self.registry.link(first.text, "person")
                for said in self.pending:
                    if said.entity is not None and said.entity.kind == "unnamed":
                        person.descriptions.append(said.entity.name)
                        said.entity.name = person.name
                        said.entity.kind = "person"
                        said.entity.names = person.names
                        said.entity.descriptions = person.descriptions
                        said.entity = person
            self.pending = []
        if sent.doc is None:
            for seg in sent.segs:
                if seg.cont:
                    continue
                carried = self._carry(sent)
                if carried is not None and sent.quote_only:
                    self.said[id(seg)] = carried
                    self.carried.add(id(seg))
                    sent.speakers.append(carried.entity) if carried.entity else None
                else:
                    self.dropped.add(id(seg))
            return
        spans = self._entity_spans(sent)
        self._register(sent)
        verbs = self._verbs(sent)
        root = next((t for t in sent.doc if t.dep_ == "ROOT"), None)
        if root is not None:
            subj = next((c for c in root.children if c.dep_ == "nsubj"
                         and not self._in_quote(sent, c)), None)
            if subj is not None and root not in verbs and (pos_of(subj) in ("PROPN", "PRON") or (
                    INTRODUCED and any(c.dep_ == "appos" and (
                        c.i in spans and _kind_of(spans[c.i]) == "person" or ROLE_APPOS and
                        c.i not in spans and c.tag_ == "NNP" and lemma_of(subj) in PERSON_HEADS)
                        for c in subj.children))):
                sent.subject = self._speaker_of(subj, sent, spans).entity  # "His friend, X, ..."
            elif SAME_HEAD and subj is not None and pos_of(subj) == "NOUN" and \
                    lemma_of(subj) in ORG_HEADS | GROUP_HEADS and any(
                        c.dep_ == "det" and c.lower_ in ("a", "an") for c in subj.children):
                # "A group of MPs has tried ...": a body introduced, for "the group" after it.
                self.registry.unnamed(self._np_text(subj, sent))
            elif COPULA_NAME and subj is not None and root.lower_ in _COPULAS and \
                    lemma_of(subj) in PERSON_HEADS:
                # "The musical's British director is Matthew Warchus": the name is the subject.
                attr = next((c for c in root.children if c.dep_ == "attr" and c.i in spans
                             and _kind_of(spans[c.i]) == "person"), None)
                if attr is not None:
                    sent.subject = self.registry.link(self._full_name(spans[attr.i]), "person")
        self.quoted_names = {w for seg in sent.segs for w in re.findall(
            r"[A-Z][\w'’-]+", self.texts[sent.para][seg.start:seg.end])}
        resolved: dict[int, Said] = {}
        for v in verbs:
            said = self._said(v, sent, spans)
            resolved[v.i] = said
            if said.entity is not None:
                sent.subject = sent.subject or said.entity
        for seg in sent.segs:
            words = self.texts[sent.para][seg.start:seg.end].split()
            before = self.texts[sent.para][sent.start:max(sent.start, seg.start - 1)]
            if len(words) <= 3 and _LABEL_BEFORE.search(before):
                self.dropped.add(id(seg))
                continue
            verb = self._verb_for(seg, sent, verbs)
            if verb is None and COLON and re.search(r":\s*$", before):
                said = self._colon(sent, seg, spans)
                if said.entity is not None:
                    self.said[id(seg)] = said
                    sent.speakers.append(said.entity)
                    self.last = said
                    continue
            if verb is None:
                if seg.cont:
                    continue
                carried = self._carry(sent)
                narrative_before = re.search(r"[A-Za-z]", before)
                if carried is not None and not narrative_before and len(words) > 3:
                    self.said[id(seg)] = carried
                    self.carried.add(id(seg))
                else:
                    self.dropped.add(id(seg))
                continue
            said = resolved[verb.i]
            self.said[id(seg)] = said
            if said.entity is not None:
                sent.speakers.append(said.entity)
                self.last = said
                if said.role and not said.entity.role:
                    said.entity.role = said.role
        self._indirect(sent, verbs, resolved, spans)
        for said in resolved.values():
            if said.entity is not None and said.entity not in sent.speakers:
                sent.speakers.append(said.entity)
                self.last = said

    def _colon(self, sent: Sent, seg: Segment, spans: dict[int, Span]) -> Said:
        """ "Blackburn boss Mark Hughes: "..."", "He went on: "..."": the subject before the colon."""
        assert sent.doc is not None
        colon = [t for t in sent.doc if t.text == ":" and self._orig(sent, t) < seg.start]
        if not colon:
            return Said(None)
        head = colon[-1].head
        subj = next((c for c in head.children if c.dep_ == "nsubj"), None)
        if subj is not None and subj.i < colon[-1].i:
            return self._speaker_of(subj, sent, spans)
        if head.i < colon[-1].i and pos_of(head) in ("PROPN", "NOUN"):
            return self._speaker_of(head, sent, spans)
        prev = sent.doc[colon[-1].i - 1] if colon[-1].i > 0 else None
        if prev is not None and lemma_of(prev) in SPEECH_VERBS:
            subj = self._subject(prev, sent)  # "... he replied:" the parse hung elsewhere
            return self._speaker_of(subj, sent, spans) if subj is not None else Said(None)
        if prev is not None and pos_of(prev) == "PROPN":
            return self._speaker_of(prev, sent, spans)
        return Said(None)

    def _verb_for(self, seg: Segment, sent: Sent, verbs: list[Token]) -> Token | None:
        if not verbs:
            return None
        assert sent.doc is not None
        inside = [t for t in sent.doc if seg.start <= self._orig(sent, t) < seg.end]
        if inside:
            for anc in inside[0].ancestors:
                if anc in verbs:
                    return anc
        at = seg.start
        before = [v for v in verbs if self._orig(sent, v) < at]
        after = [v for v in verbs if self._orig(sent, v) >= seg.end]
        if before and re.search(r"[A-Za-z]", self.texts[sent.para][sent.start:at - 1]):
            return before[-1]
        if after:
            return after[0]
        return before[-1] if before else None

    def _indirect(self, sent: Sent, verbs: list[Token], resolved: dict[int, Said],
                  spans: dict[int, Span]) -> None:
        assert sent.doc is not None
        for v in verbs:
            said = resolved[v.i]
            if said.entity is None:
                continue
            toks = self._reported_clause(v, sent)
            if toks is None:
                continue
            while toks and (toks[0].is_punct or toks[0].lower_ == "that"):
                toks = toks[1:]
            while toks and toks[-1].is_punct and toks[-1].text not in "\"”":
                toks = toks[:-1]
            words = [t for t in toks if not t.is_punct]
            if len(words) < 3 or sum(t.text != PLACEHOLDER for t in words) < 3:
                continue
            if all(self._in_quote(sent, t) for t in words):
                continue
            text = self._text(sent, toks[0], toks[-1])
            self.indirect.append((sent, text.strip(), said))

    def _reported_clause(self, v: Token, sent: Sent) -> list[Token] | None:
        """The words a reporting verb reports, or None.

        "X said (that) ..." / "X told Y that ...": the verb's clausal complement; "..., he said,
        and ..." (the verb set in the sentence it reports): the sentence less the verb's own
        words; "according to X, ...": the sentence less that phrase; "X urged Y to ...",
        "X pledged to ...": the object and the infinitive.
        """
        doc = sent.doc
        assert doc is not None
        lemma = lemma_of(v)
        if v.lower_ == "according" or v.dep_ == "parataxis":
            own = {t.i for t in v.subtree}
            if PARENTHETICAL_CONJ and v.dep_ == "parataxis":
                # "The economy had grown, he said, and was forecast to ...": what the parse
                # conjoined to the inserted "he said" goes on with the report.
                for c in v.children:
                    if c.dep_ in ("conj", "cc") and c.i > v.i:
                        own -= {t.i for t in c.subtree}
            clause = [t for t in doc if t.i not in own]
            return clause if len([t for t in clause if not t.is_punct]) >= 3 else None
        if MISPARSED_SAY and lemma == "say" and any(c.dep_ == "dobj" and c.i > v.i
                                                    for c in v.children):
            # "said the Dome cost taxpayers £28.7m": "say" with a noun object and a verb after
            # it is a clause the small parser broke; what follows the verb is reported.
            rest = list(doc[v.i + 1:])
            if len([t for t in rest if not t.is_punct]) >= 5 and any(
                    t.tag_ in ("VBD", "VBZ", "VBP", "MD", "VBN") for t in rest):
                return rest
        stance = _stance_clause(v) if STANCE else None
        if stance is not None:
            return list(doc[stance.left_edge.i:stance.right_edge.i + 1])
        comps = [c for c in v.children if c.dep_ == "ccomp"]
        subj = next((c for c in v.children if c.dep_ == "nsubj"), None)
        if INVERTED_REPORT and lemma in REPORTING_LEMMAS and subj is not None and \
                subj.left_edge.i > 1 and doc[subj.left_edge.i - 1].text == "," and \
                all(t.is_punct for t in doc[v.right_edge.i + 1:]) and (
                    comps and comps[0].i < subj.i or not comps and v.dep_ == "conj"
                    and v.head.i < subj.i and not any(c.dep_ in ("dobj", "xcomp")
                                                      for c in v.children)):
            # "Deaths in custody have reached "shocking" levels, a committee has warned",
            # "National Insurance will be raised if Labour wins, Michael Howard has claimed":
            # the report is all before the comma, however the parse hung it.
            return list(doc[:subj.left_edge.i - 1])
        if comps and lemma in REPORTING_LEMMAS:
            end = comps[-1].right_edge.i
            if CONJ_CLAUSE:
                # "said the rebate was X and there was no reason ...": a clause the parse
                # conjoined to the verb, with its own subject, goes on with what is reported.
                for c in v.children:
                    if c.dep_ == "conj" and c.i > end and lemma_of(c) not in SPEECH_VERBS and any(
                            g.dep_ in ("nsubj", "nsubjpass", "expl") for g in c.children):
                        end = c.right_edge.i
            return list(doc[comps[0].left_edge.i:end + 1])
        if lemma in CHARGE_LEMMAS:
            # "accused ministers of turning Britain into a dumpsite", "criticised the firm for
            # failing ...": the charge, object and gerund, is what the speaker said.
            obj = next((c for c in v.children if c.dep_ == "dobj"), None)
            prep = next((c for c in v.children if c.dep_ == "prep" and c.lower_ in ("of", "for")
                         and any(g.dep_ == "pcomp" and g.tag_ == "VBG" for g in c.children)), None)
            if obj is not None and prep is not None and obj.i < prep.i:
                return list(doc[obj.left_edge.i:prep.right_edge.i + 1])
        xcomp = next((c for c in v.children if c.dep_ == "xcomp"
                      and any(a.lower_ == "to" for a in c.lefts)), None)
        if xcomp is not None and lemma in INFINITIVE_LEMMAS:
            obj = next((c for c in v.children if c.dep_ in ("dobj", "dative") and c.i < xcomp.i),
                       None)
            start = obj.left_edge.i if obj is not None else xcomp.left_edge.i
            return list(doc[start:xcomp.right_edge.i + 1])
        return None

    # -- output

    def quotes(self) -> list[Quote]:
        sid = self.story.id
        out: list[tuple[tuple[int, int], Quote]] = []
        for chain in chains(self.segs):
            if id(chain[0]) in self.dropped:
                continue
            # A speech verb anywhere in the quote ('"... house. "Some exhibitors ...," said Mr
            # Joseph') names its speaker; a speaker carried from before only fills in.
            named = [s for s in chain if id(s) in self.said and self.said[id(s)].entity is not None]
            if CHAIN_VERB_FIRST:
                named.sort(key=lambda s: id(s) in self.carried)
            said = self.said[id(named[0])] if named else None
            if said is None or said.entity is None:
                continue
            ent = said.entity
            text = " ".join(self.texts[s.para][s.start:s.end].strip() for s in chain).strip()
            if not text:
                continue
            paras = tuple(sorted({s.para + 1 for s in chain}))
            out.append(((chain[0].para, chain[0].start), Quote(
                sid, ent.canonical(), text, paras, "direct", ent.aliases(), said.role or ent.role)))
        for sent, text, said in self.indirect:
            if said.entity is None:
                continue
            ent = said.entity
            out.append(((sent.para, sent.start), Quote(
                sid, ent.canonical(), text, (sent.para + 1,), "indirect", ent.aliases(),
                said.role or ent.role)))
        out.sort(key=lambda x: x[0])
        return [q for _, q in out]


# Coarse parts of speech from the tagger's Penn tags (the attribute ruler that maps them is
# left out of the pipeline: 20% of the parse time for a table lookup).
_POS = {"NN": "NOUN", "NNS": "NOUN", "NNP": "PROPN", "NNPS": "PROPN", "PRP": "PRON",
        "PRP$": "PRON", "WP": "PRON", "CD": "NUM", "JJ": "ADJ", "JJR": "ADJ", "JJS": "ADJ",
        "MD": "AUX"}
_LEMMA = {form: lemma for lemma, (forms, _) in SPEECH_VERBS.items() for form in forms.split()}


def pos_of(t: Token) -> str:
    """NOUN, PROPN, PRON, NUM, ADJ, VERB or the tag itself."""
    return _POS.get(t.tag_, "VERB" if t.tag_.startswith("VB") else t.tag_)


def lemma_of(t: Token) -> str:
    """Speech verbs by their forms table; plural nouns made singular; else the lower form."""
    low = t.lower_
    if low in _LEMMA and t.tag_.startswith("VB"):
        return _LEMMA[low]
    if t.tag_ in ("NNS", "NNPS") and len(low) > 3:
        if low.endswith("people"):
            return low[:-6] + "person"
        if low.endswith("ies"):
            return low[:-3] + "y"
        if low.endswith(("ches", "shes", "sses", "xes")):
            return low[:-2]
        if low.endswith("s") and not low.endswith("ss"):
            return low[:-1]
    return low


def _reported(verb: Token) -> bool:
    """Is this verb part of what another speech verb reports ("X said people did not believe")?"""
    t = verb
    while t.head.i != t.i:
        if t.dep_ in ("ccomp", "xcomp") and lemma_of(t.head) in SPEECH_VERBS:
            return True
        t = t.head
    return False


def _stance_clause(t: Token) -> Token | None:
    """The clause of "X is confident (that) ...": a copula whose adjective of stance
    (``data.STANCE_ADJECTIVES``) takes a clause; None for any other token."""
    if t.tag_ not in ("VBZ", "VBD", "VBP", "VB", "VBN") or t.lower_ not in _COPULAS:
        return None
    for adj in t.children:
        if adj.dep_ == "acomp" and adj.lower_ in STANCE_ADJECTIVES:
            return next((c for c in adj.children if c.dep_ == "ccomp"), None)
    return None


def _kind_of(ent: Span) -> str | None:
    """The kind of speaker a name is: its label's (``data.SPEAKER_LABELS``), but a person
    whatever the label when a person's role noun stands before it ("captain Fabien Pelous")."""
    if ROLE_NOUN_PERSON and ent.root.tag_ == "NNP" and any(
            t.i < ent.start and t.dep_ in ("compound", "amod", "nmod") and t.tag_ == "NN"
            and t.lower_ in PERSON_HEADS for t in ent.root.lefts):
        return "person"
    root = ent.root
    if ROLE_NOUN_PERSON and root.tag_ == "NNP" and (
            root.dep_ == "appos" and lemma_of(root.head) in PERSON_HEADS
            or any(c.dep_ == "appos" and c.tag_ in ("NN", "NNS") and lemma_of(c) in PERSON_HEADS
                   for c in root.children)):
        return "person"  # "His friend, Saxon Spence, leader of ...": in apposition to a role
    if WHO_PERSON and ent.root.tag_ == "NNP" and ent.label_ != "PERSON" and any(
            c.dep_ == "relcl" and any(w.lower_ in ("who", "whom") and w.dep_.startswith("nsubj")
                                      for w in c.children) for c in ent.root.children):
        return "person"  # "Baros, who is Liverpool's leading scorer": "who" is said of people
    return SPEAKER_LABELS.get(ent.label_)


def _before(ent: Span) -> list[str]:
    return [t.text for t in ent.doc[max(0, ent.start - 2):ent.start]]


def _clean_role(role: str) -> str:
    role = re.sub(r"^(?:(?:but|and|so|meanwhile|now|then|the|a|an)\s+)+", "", role.strip(" ,"),
                  flags=re.IGNORECASE)
    if re.match(r"(?:who|which|whose|that)\b", role) or len(role.split()) > 14:
        return ""
    return role


def to_parse(sents: list[Sent]) -> list[Sent]:
    """The sentences worth parsing: those with a quote mark or a speech verb, and the sentence
    before each (where "he" in '"...," he said' usually finds its antecedent)."""
    keep = [needs_parse(s) for s in sents]
    if REPORTED_RUN:
        # A backshifted sentence after a speech verb in its paragraph may go on reporting it.
        for i in range(1, len(sents)):
            if keep[i - 1] and sents[i].para == sents[i - 1].para and not sents[i].segs and \
                    _BACKSHIFT.search(sents[i].mtext):
                keep[i] = True
    if LEDE and keep:
        keep[0] = True
    if CONTEXT:
        for i in range(len(sents) - 1):
            if keep[i + 1] or sents[i + 1].quote_only:
                keep[i] = True
    return [s for s, k in zip(sents, keep, strict=True) if k and not s.quote_only]


def attribute(story: Story, parse: object) -> list[Quote]:
    """Quotes of one story; ``parse`` maps a list of sentence texts to spaCy docs."""
    sents, segs = split_story(story)
    todo = to_parse(sents)
    docs = parse([s.mtext for s in todo])  # type: ignore[operator]
    for s, d in zip(todo, docs, strict=True):
        s.doc = d
    reader = Reader(story, sents, segs)
    reader.read()
    return reader.quotes()


def attribute_many(stories: Sequence[Story], parse: object) -> list[list[Quote]]:
    """Quotes of many stories, their sentences parsed in one batched pass."""
    prepared = [split_story(st) for st in stories]
    todo = [s for sents, _ in prepared for s in to_parse(sents)]
    docs = parse([s.mtext for s in todo])  # type: ignore[operator]
    for s, d in zip(todo, docs, strict=True):
        s.doc = d
    out = []
    for story, (sents, segs) in zip(stories, prepared, strict=True):
        reader = Reader(story, sents, segs)
        reader.read()
        out.append(reader.quotes())
    return out
