"""Step 3b: the names of a parsed sentence. Entity spans -> speakers in the story's registry,
with full names ("Sir Ian Blair", "Lord X of Y") and roles (titles before a name, appositives).

A name spoken *to* (an outlet, "told Czech newspaper Daily Sport", a statement's addressee) is
no speaker; ``register_names`` notes which names are subjects, mentions or inside a subject's
phrase, for the pronouns of the sentences after.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from index.attribution.data import DOCUMENT_HEADS, HONORIFICS, KEEP_TITLES, NAME_PARTICLES, OUTLET_WORDS
from index.attribution.entities import clean_name, is_outlet
from index.attribution.reading import Reading
from index.attribution.sentences import Sent
from index.attribution.syntax import clean_role, lemma_of, pos_of, speaker_kind, words_before

if TYPE_CHECKING:
    from spacy.tokens import Span, Token


def entity_spans(sent: Sent) -> dict[int, Span]:
    """Token index -> the recogniser's entity span that holds it."""
    assert sent.doc is not None
    out: dict[int, Span] = {}
    for ent in sent.doc.ents:
        for t in ent:
            out[t.i] = ent
    return out


def register_names(r: Reading, sent: Sent) -> None:
    """Link the sentence's named speakers; note which are subjects (pronouns prefer them)."""
    assert sent.doc is not None
    for ent in sent.doc.ents:
        kind = speaker_kind(ent)
        if kind is None or r.in_quote(sent, ent[0]) or spoken_to(ent):
            continue
        e = r.registry.link(full_name(ent), kind, words_before(ent))
        role = premodifier(r, ent, sent)
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


def spoken_to(ent: Span) -> bool:
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
    if root.dep_ == "pobj" and head.lower_ == "to" and (
            head.dep_ == "dative" or lemma_of(head.head) in DOCUMENT_HEADS):
        return True  # "issued a statement to the Stock Exchange": addressed, not speaking
    return root.dep_ == "pobj" and head.lower_ in ("to", "with") and \
        lemma_of(head.head) in ("tell", "talk", "speak", "say", "explain", "write")


def full_name(ent: Span) -> str:
    """The entity's text with a title of nobility before it ("Sir Ian Blair", "Lord X of Y")."""
    doc = ent.doc
    start, end = ent.start, ent.end
    if ent.label_ == "PERSON" and end - start > 2:
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


def premodifier(r: Reading, ent: Span, sent: Sent) -> str:
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
                t.is_quote or r.in_quote(sent, t) for t in words):
            text = r.text_of(sent, words[0], words[-1]).strip(" ,")
            if words[0].is_sent_start and pos_of(words[0]) != "PROPN":
                text = text[0].lower() + text[1:]  # "Sports psychologist Hugh Richards"
            return text
    for c in root.rights:
        if c.dep_ == "appos" and pos_of(c) == "NOUN":
            return clean_role(r.text_of(sent, c.left_edge, c.right_edge))
    return ""


def role_of(r: Reading, tok: Token, span: Span, sent: Sent) -> str:
    """Title words before a name and the appositive after it."""
    bits: list[str] = []
    _, titles, _ = clean_name(span.text)
    titles = [t for t in titles if t not in HONORIFICS and t not in KEEP_TITLES]
    pre = [t for t in tok.lefts if t.i < span.start and t.dep_ in ("compound", "amod", "nmod",
                                                                   "poss")]
    if pre:
        first = min((t.left_edge for t in pre), key=lambda t: t.i)
        before = r.text_of(sent, first, tok.doc[span.start - 1]).strip()
        if before and not re.search(r"\b(?:said|told|says)\b", before):
            bits.append(before)
    if titles:
        bits.append(" ".join(titles))
    appos = next((c for c in tok.rights if c.dep_ == "appos" and c.i > span.end - 1), None)
    doc = tok.doc
    if appos is not None:
        bits.append(r.text_of(sent, appos.left_edge, appos.right_edge).strip(" ,"))
    elif span.end < len(doc) and doc[span.end].text == "," and tok.head.i > span.end:
        # "Haines, policing lead for Enfield, said": the parse may not call it appos.
        close = next((t.i for t in doc[span.end + 1:tok.head.i] if t.text == ","), None)
        inner = doc[span.end + 1:close] if close is not None else None
        if inner is not None and 0 < len(inner) <= 10 and not any(
                t.tag_ in ("VBD", "VBZ", "VBP", "MD") or r.in_quote(sent, t) or t.is_quote
                for t in inner):
            bits.append(r.text_of(sent, inner[0], inner[-1]))
    return clean_role(", ".join(b for b in bits if b))


def proper_text(r: Reading, tok: Token, sent: Sent) -> str:
    """A proper noun with its compound name words ("Lord Nicholls of Birkenhead" whole)."""
    parts = [t for t in tok.lefts if t.dep_ == "compound" and pos_of(t) == "PROPN"]
    first = min([tok, *parts], key=lambda t: t.i)
    last = tok
    if first.text in KEEP_TITLES:  # "Lord Nicholls of Birkenhead": the peer's whole title
        of = next((c for c in tok.rights if c.dep_ == "prep" and c.lower_ == "of"), None)
        place = next((c for c in of.children if c.dep_ == "pobj"), None) if of else None
        if place is not None and pos_of(place) == "PROPN" and of is not None and \
                of.i == tok.i + 1:
            last = place
    return r.text_of(sent, first, last).strip()


def np_text(r: Reading, tok: Token, sent: Sent) -> str:
    """The noun phrase a common-noun subject heads, without clauses or appositives."""
    left = [t for t in tok.lefts if t.dep_ in ("det", "amod", "compound", "poss", "nummod",
                                                  "nmod", "case", "punct")]
    first = min([tok, *[t.left_edge for t in left]], key=lambda t: t.i)
    last = tok
    for right in tok.rights:
        if right.dep_ == "prep" and right.lower_ in ("for", "of", "at", "from") and \
                right.right_edge.i - tok.i <= 8:
            last = right.right_edge
    return r.text_of(sent, first, last).strip(" ,")
