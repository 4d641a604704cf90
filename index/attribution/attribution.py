"""Step 3: attribution. Who said each quote, from the dependency parse: a story -> its quotes.

For each sentence that holds a quote mark or a speech verb (``data.SPEECH_VERBS``), the parser
reads the narrative around the quote (long quotes are a placeholder, ``marks.masked``). The
sub-steps, one file each:

- ``sentences``   the story's sentences, and which the parser reads;
- ``names``       the names of a sentence as speakers, with full names and roles;
- ``verbs``       the speech verbs and each one's subject: the speaker is the *subject of the
                  speech verb* ("said/told/added"), never another name in the sentence; an
                  inverted "said X" is parsed the same way;
- ``subjects``    who a subject is: the subject's appositive, or the title words before the name,
                  is the role; "a spokesman for X" speaks for X; "according to X" gives X;
- ``coreference`` pronouns and descriptions ("he", "the minister", "the firm", "it") resolved to
                  the nearest compatible speaker already introduced (``entities.Registry``); a
                  description that names no one introduced is an unnamed speaker ("officials");
- ``indirect``    the clause of a reporting verb ("X said that ...", "X told the committee that
                  ...") and the clause beside "according to X" as indirect quotes.

This file walks the story front to back (``Reader``): a quote goes to the speech verb that
governs it in the parse, else the nearest one before it, else the first after it; a quote with no
speech verb in its sentence keeps the speaker of the quote run it belongs to (a multi-paragraph
quote, or quote-only paragraphs after "X said:"), until a new speech verb says otherwise; a quote
in a narrative sentence with no speech verb is a title or label, not speech.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.attribution.data import COPULAS, GROUP_HEADS, ORG_HEADS, PERSON_HEADS
from index.attribution.indirect import indirect_quotes, reported_run
from index.attribution.marks import chains
from index.attribution.names import entity_spans, full_name, np_text, register_names
from index.attribution.reading import Reading, Said
from index.attribution.sentences import Sent, split_story, to_parse
from index.attribution.subjects import colon_speaker, said_by, speaker_of
from index.attribution.syntax import lemma_of, pos_of, speaker_kind
from index.attribution.verbs import speech_verbs, verb_for
from index.models import Quote, Story

_LABEL_BEFORE = re.compile(r"\b(?:a|an|the|as|its|his|her|their|so-called|dubbed|named|called)"
                           r"\s*[\"“]?$", re.IGNORECASE)


class Reader(Reading):
    """Reads one story front to back, resolving each quote's speaker."""

    def read(self) -> None:
        """Read every sentence in order, then ``quotes`` gives the result."""
        for sent in self.sents:
            before = len(self.indirect)
            self._read(sent)
            if len(self.indirect) == before:
                reported_run(self, sent)  # a backshifted sentence goes on reporting
            self.done.append(sent)

    def _carry(self, sent: Sent | None = None) -> Said | None:
        """The speaker a quote with no speech verb keeps: the person the sentence before
        introduced, else the last speaker, else the previous sentence's subject."""
        prev = self.done[-1] if self.done else None
        if sent is not None and prev is not None and prev.para == sent.para and \
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
        """One sentence: its names, its speech verbs and speakers, each quote's speaker (or the
        run's, or none: a label), and its indirect quotes."""
        if self.pending and sent.doc is not None:
            first = next((e for e in sent.doc.ents if e.label_ == "PERSON"
                          and not self.in_quote(sent, e[0])), None)
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
        spans = entity_spans(sent)
        register_names(self, sent)
        verbs = speech_verbs(self, sent)
        root = next((t for t in sent.doc if t.dep_ == "ROOT"), None)
        if root is not None:
            subj = next((c for c in root.children if c.dep_ == "nsubj"
                         and not self.in_quote(sent, c)), None)
            # A sentence about a new person ("His friend, X, ...") gives the quote after it
            # its speaker (``_carry``).
            if subj is not None and root not in verbs and (pos_of(subj) in ("PROPN", "PRON") or any(
                    c.dep_ == "appos" and (
                        c.i in spans and speaker_kind(spans[c.i]) == "person" or
                        c.i not in spans and c.tag_ == "NNP" and lemma_of(subj) in PERSON_HEADS)
                    for c in subj.children)):
                sent.subject = speaker_of(self, subj, sent, spans).entity
            elif subj is not None and pos_of(subj) == "NOUN" and \
                    lemma_of(subj) in ORG_HEADS | GROUP_HEADS and any(
                        c.dep_ == "det" and c.lower_ in ("a", "an") for c in subj.children):
                # "A group of MPs has tried ...": a body introduced, for "the group" after it.
                self.registry.unnamed(np_text(self, subj, sent))
            elif subj is not None and root.lower_ in COPULAS and \
                    lemma_of(subj) in PERSON_HEADS:
                # "The musical's British director is Matthew Warchus": the name is the subject.
                attr = next((c for c in root.children if c.dep_ == "attr" and c.i in spans
                             and speaker_kind(spans[c.i]) == "person"), None)
                if attr is not None:
                    sent.subject = self.registry.link(full_name(spans[attr.i]), "person")
        self.quoted_names = {w for seg in sent.segs for w in re.findall(
            r"[A-Z][\w'’-]+", self.texts[sent.para][seg.start:seg.end])}
        resolved: dict[int, Said] = {}
        for v in verbs:
            said = said_by(self, v, sent, spans)
            resolved[v.i] = said
            if said.entity is not None:
                sent.subject = sent.subject or said.entity
        for seg in sent.segs:
            words = self.texts[sent.para][seg.start:seg.end].split()
            before = self.texts[sent.para][sent.start:max(sent.start, seg.start - 1)]
            if len(words) <= 3 and _LABEL_BEFORE.search(before):
                self.dropped.add(id(seg))
                continue
            verb = verb_for(self, seg, sent, verbs)
            if verb is None and re.search(r":\s*$", before):  # "Boss Mark Hughes: "...""
                said = colon_speaker(self, sent, seg, spans)
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
        indirect_quotes(self, sent, verbs, resolved)
        for said in resolved.values():
            if said.entity is not None and said.entity not in sent.speakers:
                sent.speakers.append(said.entity)
                self.last = said

    def quotes(self) -> list[Quote]:
        """The story's quotes, direct (one per chain of segments) and indirect, in story order."""
        sid = self.story.id
        out: list[tuple[tuple[int, int], Quote]] = []
        for chain in chains(self.segs):
            if id(chain[0]) in self.dropped:
                continue
            # A speech verb anywhere in the quote ('"... house. "Some exhibitors ...," said Mr
            # Joseph') names its speaker; a speaker carried from before only fills in.
            named = [s for s in chain if id(s) in self.said and self.said[id(s)].entity is not None]
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
