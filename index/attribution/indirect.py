"""Step 3f: indirect quotes. A sentence's speech verbs and their speakers -> the clauses they
report, as indirect quotes.

"X said (that) ...", "X told Y that ...", "according to X, ...", "..., he said, and ...", "X is
confident that ...", "accused X of -ing", "urged X to ...", "S, X has warned" (all of S), and a
backshifted sentence right after an indirect quote ("... would ...") going on with the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.attribution.data import CHARGE_LEMMAS, INFINITIVE_LEMMAS, REPORTING_LEMMAS, SPEECH_VERBS
from index.attribution.marks import PLACEHOLDER
from index.attribution.reading import Reading, Said
from index.attribution.sentences import BACKSHIFT, SPEECH_WORD, Sent
from index.attribution.syntax import lemma_of, stance_clause

if TYPE_CHECKING:
    from spacy.tokens import Token


def indirect_quotes(r: Reading, sent: Sent, verbs: list[Token], resolved: dict[int, Said]) -> None:
    """Record, for each speech verb with a speaker, the clause it reports as an indirect quote."""
    assert sent.doc is not None
    for v in verbs:
        said = resolved[v.i]
        if said.entity is None:
            continue
        toks = reported_clause(v, sent)
        if toks is None:
            continue
        while toks and (toks[0].is_punct or toks[0].lower_ == "that"):
            toks = toks[1:]
        while toks and toks[-1].is_punct and toks[-1].text not in "\"”":
            toks = toks[:-1]
        words = [t for t in toks if not t.is_punct]
        if len(words) < 3 or sum(t.text != PLACEHOLDER for t in words) < 3:
            continue
        if all(r.in_quote(sent, t) for t in words):
            continue
        text = r.text_of(sent, toks[0], toks[-1])
        r.indirect.append((sent, text.strip(), said))


def reported_clause(v: Token, sent: Sent) -> list[Token] | None:
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
        if v.dep_ == "parataxis":
            # "The economy had grown, he said, and was forecast to ...": what the parse
            # conjoined to the inserted "he said" goes on with the report.
            for c in v.children:
                if c.dep_ in ("conj", "cc") and c.i > v.i:
                    own -= {t.i for t in c.subtree}
        clause = [t for t in doc if t.i not in own]
        return clause if len([t for t in clause if not t.is_punct]) >= 3 else None
    if lemma == "say" and any(c.dep_ == "dobj" and c.i > v.i for c in v.children):
        # "said the Dome cost taxpayers £28.7m": "say" with a noun object and a verb after
        # it is a clause the small parser broke; what follows the verb is reported.
        rest = list(doc[v.i + 1:])
        if len([t for t in rest if not t.is_punct]) >= 5 and any(
                t.tag_ in ("VBD", "VBZ", "VBP", "MD", "VBN") for t in rest):
            return rest
    stance = stance_clause(v)  # "X is confident (that) ..." reports X's view
    if stance is not None:
        return list(doc[stance.left_edge.i:stance.right_edge.i + 1])
    comps = [c for c in v.children if c.dep_ == "ccomp"]
    subj = next((c for c in v.children if c.dep_ == "nsubj"), None)
    if lemma in REPORTING_LEMMAS and subj is not None and \
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
        # "said the rebate was X and there was no reason ...": a clause the parse conjoined
        # to the verb, with its own subject, goes on with what is reported.
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


def reported_run(r: Reading, sent: Sent) -> None:
    """ "The report said ... . Financing would be too little.": a sentence with no speech
    verb and no quote, right after an indirect quote in the same paragraph, whose verb is
    backshifted to a modal ("would", "could", "should") goes on reporting the same speaker."""
    if not r.indirect or not r.done or sent.segs or SPEECH_WORD.search(sent.mtext):
        return
    prev_sent, _, said = r.indirect[-1]
    if prev_sent is not r.done[-1] or prev_sent.para != sent.para:
        return
    root = next((t for t in sent.doc if t.dep_ == "ROOT"), None) if sent.doc else None
    if root is None or not any(c.dep_ == "aux" and BACKSHIFT.fullmatch(c.lower_)
                               for c in root.children):
        return  # the main verb's own modal, not one in a clause inside the sentence
    if any(c.dep_ == "nsubj" and c.lower_ in ("i", "we", "you", "it") for c in root.children):
        return  # "it would seem": the writer's voice
    text = r.texts[sent.para][sent.start:sent.end].strip().rstrip(".")
    r.indirect.append((sent, text, said))
