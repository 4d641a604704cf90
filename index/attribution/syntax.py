"""What the parse says about a token: coarse part of speech, lemma, the kind of speaker a name
is, whether a verb lies inside another's report. Pure functions over spaCy tokens and spans,
used by every step of attribution.

``pos_of`` and ``lemma_of`` stand in for spaCy's attribute ruler and lemmatizer, which the
pipeline leaves out (``model``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from index.attribution.data import COPULAS, PERSON_HEADS, SPEAKER_LABELS, SPEECH_VERBS, STANCE_ADJECTIVES

if TYPE_CHECKING:
    from spacy.tokens import Span, Token

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


def is_reported(verb: Token) -> bool:
    """Is this verb part of what another speech verb reports ("X said people did not believe")?"""
    t = verb
    while t.head.i != t.i:
        if t.dep_ in ("ccomp", "xcomp") and lemma_of(t.head) in SPEECH_VERBS:
            return True
        t = t.head
    return False


def stance_clause(t: Token) -> Token | None:
    """The clause of "X is confident (that) ...": a copula whose adjective of stance
    (``data.STANCE_ADJECTIVES``) takes a clause; None for any other token."""
    if t.tag_ not in ("VBZ", "VBD", "VBP", "VB", "VBN") or t.lower_ not in COPULAS:
        return None
    for adj in t.children:
        if adj.dep_ == "acomp" and adj.lower_ in STANCE_ADJECTIVES:
            return next((c for c in adj.children if c.dep_ == "ccomp"), None)
    return None


def speaker_kind(ent: Span) -> str | None:
    """The kind of speaker a name is: its label's (``data.SPEAKER_LABELS``), but a person
    whatever the label when a person's role noun stands before it ("captain Fabien Pelous")."""
    if ent.root.tag_ == "NNP" and any(
            t.i < ent.start and t.dep_ in ("compound", "amod", "nmod") and t.tag_ == "NN"
            and t.lower_ in PERSON_HEADS for t in ent.root.lefts):
        return "person"
    root = ent.root
    if root.tag_ == "NNP" and (
            root.dep_ == "appos" and lemma_of(root.head) in PERSON_HEADS
            or any(c.dep_ == "appos" and c.tag_ in ("NN", "NNS") and lemma_of(c) in PERSON_HEADS
                   for c in root.children)):
        return "person"  # "His friend, Saxon Spence, leader of ...": in apposition to a role
    if ent.root.tag_ == "NNP" and ent.label_ != "PERSON" and any(
            c.dep_ == "relcl" and any(w.lower_ in ("who", "whom") and w.dep_.startswith("nsubj")
                                      for w in c.children) for c in ent.root.children):
        return "person"  # "Baros, who is Liverpool's leading scorer": "who" is said of people
    return SPEAKER_LABELS.get(ent.label_)


def words_before(ent: Span) -> list[str]:
    """The two words before a name: context from which the registry may learn its gender."""
    return [t.text for t in ent.doc[max(0, ent.start - 2):ent.start]]


def clean_role(role: str) -> str:
    """A role without leading conjunctions and articles; none for a clause or an overlong phrase."""
    role = re.sub(r"^(?:(?:but|and|so|meanwhile|now|then|the|a|an)\s+)+", "", role.strip(" ,"),
                  flags=re.IGNORECASE)
    if re.match(r"(?:who|which|whose|that)\b", role) or len(role.split()) > 14:
        return ""
    return role
