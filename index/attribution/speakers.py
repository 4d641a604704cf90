"""Step 4: speaker look-up. Which quoted speaker a typed name or description means, and which
quote a sentence belongs to.

``match_speaker`` matches typed names (surname and first name must both agree for a full name,
so "Michael Howard" is never "Michael Ancram") and then descriptions against roles and
description aliases ("the Lib Dem foreign affairs spokesman", "BT's boss"); an ambiguous
description gives ``None``. :class:`SpeakerIndex` prepares the name forms of many speakers once
(an archive has thousands). ``speaker_for`` gives the quote a sentence of a paragraph belongs
to. Unchanged in behaviour from the rules they replace (``index/quotes.py``), which the tests
pin. Library: ``rapidfuzz`` (fuzzy name matching, C++).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz, process

from index.attribution.data import PERSON_HEADS, RANKS
from index.models import Quote


def _is_name_form(form: str) -> bool:
    """A proper name ("Jessica West", "Ms West", "Runnymede Trust"), not a description."""
    toks = form.split()
    return bool(toks) and all(t[:1].isupper() or t in ("van", "de", "von", "der", "al", "of")
                              for t in toks) and not all(
        t in RANKS or t.lower() in PERSON_HEADS for t in toks)


def speaker_index(quotes: Sequence[Quote]) -> dict[str, list[Quote]]:
    """Quotes grouped by canonical speaker, in story order within each speaker."""
    index: dict[str, list[Quote]] = {}
    for q in quotes:
        index.setdefault(q.speaker, []).append(q)
    return index


_TITLE_WORDS = re.compile(
    r"^(?:(?:mr|mrs|ms|miss|mx|dr|prof|professor|sir|dame|lord|lady|det|ch|supt|insp|sgt|pc|"
    r"detective|inspector|superintendent|chief|the)\.?\s+)+",
    re.IGNORECASE,
)


def _fold_name(name: str) -> str:
    name = unicodedata.normalize("NFKD", name)
    name = "".join(c for c in name if not unicodedata.combining(c))
    name = re.sub(r"['’]s\b", "", name)
    name = _TITLE_WORDS.sub("", name.strip().lower())
    return re.sub(r"[^a-z0-9 ]+", " ", name).strip()


# Description words: abbreviations spelled out, and head nouns that mean the same job.
_DESC_ABBREV = {
    "lib": "liberal", "dem": "democrat", "dems": "democrats", "tory": "conservative",
    "tories": "conservative", "govt": "government", "gov": "government", "dept": "department",
    "exec": "executive", "det": "detective", "insp": "inspector", "supt": "superintendent",
    "ch": "chief", "sgt": "sergeant", "sec": "secretary", "spokeswoman": "spokesman",
    "spokesperson": "spokesman", "spokespeople": "spokesman", "democratic": "democrat",
    "cllr": "councillor", "prof": "professor", "ceo": "chief executive",
    "md": "managing director", "pm": "prime minister",
}
_SAME_JOB = [
    {"boss", "chief", "head", "manager", "executive", "chairman", "chairwoman", "chair",
     "director", "leader", "president", "principal", "headteacher", "coach"},
    {"spokesman", "representative", "official"},
    {"detective", "inspector", "officer", "policeman", "policewoman", "superintendent",
     "constable", "sergeant", "police"},
    {"lawyer", "solicitor", "barrister", "attorney", "counsel", "advocate"},
    {"star", "singer", "musician", "rocker"},
    {"runner", "athlete"},
    {"mp", "politician", "member"},
]
_DESC_SKIP = {"the", "a", "an", "of", "for", "at", "in", "on", "to", "and", "his", "her", "its",
              "their", "s", "said", "who", "with", "from", "by"}


def _desc_tokens(text: str) -> list[str]:
    """Folded content words of a description, abbreviations spelled out."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"['’]s\b", "", text)
    out: list[str] = []
    for w in re.findall(r"[a-z0-9]+", text):
        out.extend(_DESC_ABBREV.get(w, w).split())
    return [w for w in out if w not in _DESC_SKIP]


def _word_match(q: str, words: set[str], head: bool = False) -> bool:
    """Does query word ``q`` match one of ``words``: exactly, by abbreviation prefix ("lib" ->
    "liberal"), by a small misspelling, or (for the head noun) as the same job ("boss"/"chief")?"""
    if q in words:
        return True
    if head and any(q in g and words & g for g in _SAME_JOB):
        return True
    for w in words:
        if len(q) >= 3 and len(w) > len(q) and w.startswith(q) and not head:
            return True
        if len(q) >= 5 and len(w) >= 5 and fuzz.ratio(q, w) >= 85:
            return True
    return False


def _name_matches(query: str, key: str, **_: object) -> float:
    """Similarity of a typed name and a speaker's name form, both folded (0-100).

    Two or more typed words must agree on the surname (small misspellings allowed) and on the
    first name or its initial: "Michael Howard" is not "Michael Ancram", "Sir Alex" is not
    "Sir Menzies Campbell".
    """
    q, k = query.split(), key.split()
    if not q or not k:
        return 0.0
    if q == k:
        return 100.0
    if len(q) == 1:
        return _name_score(query, key)
    if len(k) == 1:
        return 0.0  # a full name is checked against full names, first name included
    surname = fuzz.ratio(q[-1], k[-1])
    first = fuzz.ratio(q[0], k[0])
    if surname >= 80 and (first >= 75 or (len(q[0]) == 1 and q[0] == k[0][0])):
        return (surname + first) / 2
    if set(q) == set(k):
        return 95.0
    return 0.0


def match_speaker(name: str, quotes: Sequence[Quote], threshold: float = 80.0) -> str | None:
    """The canonical speaker a user-typed ``name`` means, or ``None`` if no one quoted fits.

    Names first: titles ignored, compared with each speaker's canonical name, surname and name
    aliases with rapidfuzz ("Ms West", "jesica west", "cox"); a typed full name must agree on
    surname and first name, so "Michael Howard" never falls back to "Michael Ancram". Then
    descriptions ("the sports psychologist", "the Lib Dem foreign affairs spokesman", "BT's
    boss") against each speaker's roles and description aliases: the head noun must match (the
    same job counts: boss = chief = manager) and every other word must match the speaker's
    descriptions or name (abbreviations and small misspellings allowed). A description that
    fits two speakers equally is ambiguous and gives ``None``.

    For many lookups over the same quotes (the whole archive), build a :class:`SpeakerIndex` once.
    """
    return SpeakerIndex(quotes).match(name, threshold)


class SpeakerIndex:
    """The name forms and descriptions of a set of speakers, prepared once for :meth:`match`.

    Across an archive there are thousands of speakers; :meth:`match` first narrows the name forms
    to those sharing a similar word with the typed name (rapidfuzz's C++ ``process.extract``) before
    applying the exact name rules, so a lookup costs milliseconds rather than a scan.
    """

    # A name form can only score >= the match threshold if one of its words is this close to a
    # typed word; set well below the threshold so the shortlist never drops a real match.
    _WORD_CUTOFF = 60.0

    def __init__(self, quotes: Sequence[Quote]):
        self.names: dict[str, str] = {}
        self.descs: dict[str, set[str]] = {}
        self.own: dict[str, set[str]] = {}
        self.phrases: dict[str, set[tuple[str, ...]]] = {}
        for q in quotes:
            self.descs.setdefault(q.speaker, set())
            self.own.setdefault(q.speaker, set()).update(_desc_tokens(q.speaker))
            for form in (q.speaker, *q.aliases):
                key = _fold_name(form)
                if not key or key in ("he", "she", "they"):
                    continue
                if form == q.speaker or _is_name_form(form):
                    self.names.setdefault(key, q.speaker)
                    self.own[q.speaker].update(key.split())
                else:
                    self.descs[q.speaker].update(_desc_tokens(form))
            if q.role:
                self.descs[q.speaker].update(_desc_tokens(q.role))
                self.phrases.setdefault(q.speaker, set()).update(
                    tuple(_desc_tokens(r)) for r in q.role.split(","))
            self.phrases.setdefault(q.speaker, set()).update(
                tuple(_desc_tokens(a)) for a in q.aliases if not _is_name_form(a))
        self._keys = list(self.names)
        self._by_word: dict[str, list[int]] = {}
        for i, key in enumerate(self._keys):
            for word in set(key.split()):
                self._by_word.setdefault(word, []).append(i)
        self._words = list(self._by_word)

    def _shortlist(self, query: str) -> list[str]:
        """Name forms (in index order) with a word similar to one of the query's words."""
        if len(self._keys) <= 64:
            return self._keys
        rows: set[int] = set()
        for word in set(query.split()):
            for match, _, _ in process.extract(word, self._words, scorer=fuzz.ratio,
                                               score_cutoff=self._WORD_CUTOFF, limit=None):
                rows.update(self._by_word[match])
        return [self._keys[i] for i in sorted(rows)]

    def match(self, name: str, threshold: float = 80.0) -> str | None:
        """The canonical speaker ``name`` means, or ``None`` (see :func:`match_speaker`)."""
        if not self.names:
            return None
        # "chairman Louis Schweitzer", "Lib Dem leader Charles Kennedy": the name after the role.
        tail = re.search(r"(?:[A-Z][\w’'\-]+\s*)+$", name.strip())
        forms = [name] + ([tail.group()] if tail and tail.start() > 0 else [])
        for form in forms:
            query = _fold_name(form)
            if query in self.names:
                return self.names[query]
            if query:
                choices = self._shortlist(query)
                best = process.extractOne(query, choices, scorer=_name_matches) if choices else None
                if best and best[1] >= threshold:
                    return self.names[best[0]]
        if len(name.split()) >= 2 and _is_name_form(name.strip()):
            return None  # a full name no speaker has ("Moazzam Begg"), not a description
        return _match_description(name, self.descs, self.own, self.phrases)  # "the superintendent"


def _match_description(text: str, descs: dict[str, set[str]], own: dict[str, set[str]],
                       phrases: dict[str, set[tuple[str, ...]]] | None = None) -> str | None:
    """The one speaker whose roles/descriptions fit a typed description, else ``None``."""
    words = _desc_tokens(text)
    if not words:
        return None
    head, rest = words[-1], words[:-1]
    scored: list[tuple[float, str]] = []
    for speaker, dwords in descs.items():
        if not dwords or not _word_match(head, dwords, head=True):
            continue
        pool = dwords | own.get(speaker, set())
        if not all(_word_match(w, pool) for w in rest):
            continue
        scored.append((sum(w in pool for w in words), speaker))
    if not scored:
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        # A tie goes to the one speaker whose role is exactly what was typed ("the
        # Superintendent": Superintendent Cox, not Det Ch Supt Haines); otherwise ambiguous.
        tied = [sp for sc, sp in scored if sc == scored[0][0]]
        exact = [sp for sp in tied if tuple(words) in (phrases or {}).get(sp, set())]
        return exact[0] if len(exact) == 1 else None
    return scored[0][1]


def _name_score(a: str, b: str, **_: object) -> float:
    """Whole-name similarity, or surname similarity when only one word was typed."""
    score = fuzz.ratio(a, b)
    if len(a.split()) == 1 and len(b.split()) > 1:
        # One typed word: the surname, or the distinctive first word of an organisation.
        score = max(score, fuzz.ratio(a, b.split()[-1]) - 2, fuzz.ratio(a, b.split()[0]) - 5)
    if len(a.split()) > 1:
        score = max(score, fuzz.token_sort_ratio(a, b))
    return score


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[“”„\"‘’'`´]", "", text)
    text = re.sub(r"[^\w%£$]+", " ", text)
    return " ".join(text.split())


def speaker_for(quotes: Sequence[Quote], paragraph: int, sentence: str) -> Quote | None:
    """The quote a sentence of paragraph ``paragraph`` belongs to, or ``None`` for narrative.

    ``quotes`` are one story's quotes. A sentence belongs to a quote when it lies inside the
    quoted words or contains (part of) them; a direct quote wins over reported speech.
    """
    target = _norm(sentence)
    if not target:
        return None
    best: tuple[float, Quote] | None = None
    for q in quotes:
        if paragraph not in q.paragraphs:
            continue
        qt = _norm(q.text)
        if not qt:
            continue
        if target in qt:
            score = 1.0
        elif qt in target:
            # The quote lies inside the sentence: the more of it the quote covers, the likelier
            # the sentence is that speaker's (a scare-quoted word must not outweigh a full quote).
            score = 0.5 + 0.5 * len(qt) / len(target)
        else:
            tw, qw = set(target.split()), set(qt.split())
            small = min(len(tw), len(qw))
            score = len(tw & qw) / small if small >= 3 else 0.0
            if score < 0.6:
                continue
        score += 0.5 if q.kind == "direct" else 0.0
        if best is None or score > best[0]:
            best = (score, q)
    return best[1] if best else None
