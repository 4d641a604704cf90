"""Step 2: entities. Who in a story can speak, and which mentions are the same one.

spaCy's entity recogniser gives the kind of each capitalised name: ``PERSON``, ``ORG`` and
``NORP`` (groups: "Conservatives") may speak; places, works, dates, products and the outlets a
speaker talks *to* never do (``data.SPEAKER_LABELS``, ``data.OUTLET_WORDS``). A few places that
speak for an institution ("Downing Street") are listed in ``data.SPEAKING_PLACES``.

:class:`Registry` links the mentions of one story as it is read: a surname or first name to the
full name met before it, "Nortel" to "Nortel Networks", titles stripped ("Ms West"). It keeps the
order in which speakers were introduced, which is what pronouns and descriptions ("the minister",
"the firm") resolve against (``attribution``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.attribution.data import (
    FEMALE_NAMES,
    FEMALE_WORDS,
    HONORIFICS,
    KEEP_TITLES,
    MALE_NAMES,
    MALE_WORDS,
    NOT_FIRST_NAMES,
    OUTLET_WORDS,
    PAPER_FIRST,
    PAPER_LAST,
    RANKS,
)


@dataclass(eq=False)
class Entity:
    """A person, organisation, group or unnamed speaker of one story."""

    name: str
    kind: str  # person | organisation | group | unnamed
    names: list[str] = field(default_factory=list)
    gender: str | None = None  # "m", "f" or unknown
    role: str = ""
    descriptions: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> list[str]:
        return [t for t in self.name.split() if t not in KEEP_TITLES]

    def canonical(self) -> str:
        """The fullest name form seen, without a leading "the" or an honorific."""
        plain = [n for n in self.names if n.split()[0] not in HONORIFICS] or self.names or [self.name]
        best = sorted(plain, key=lambda n: (-len(n.split()), n))[0]
        return re.sub(r"^(?:the|The)\s+", "", best)

    def aliases(self) -> tuple[str, ...]:
        canon = self.canonical()
        forms = list(self.names)
        toks = [t for t in canon.split() if t not in KEEP_TITLES]
        if self.kind == "person" and len(toks) > 1:
            forms.append(toks[-1])
        forms += self.descriptions
        out: list[str] = []
        for f in forms:
            if f and f != canon and f not in out:
                out.append(f)
        return tuple(out)


def gender_of(words: list[str]) -> str | None:
    """Gender from an honorific, a gendered word or a known first name."""
    for w in words:
        if w in MALE_WORDS and w[0].isupper():
            return "m"
        if w in FEMALE_WORDS and w[0].isupper():
            return "f"
    names = [w for w in words if w not in HONORIFICS and w not in KEEP_TITLES and w not in RANKS]
    if names:
        first = names[0].lower()
        if first in MALE_NAMES:
            return "m"
        if first in FEMALE_NAMES:
            return "f"
    return None


def clean_name(text: str) -> tuple[str, list[str], str]:
    """(name, titles, possessive-stripped text): "Det Ch Supt Caroline Haines" -> name and ranks."""
    text = re.sub(r"['’]s?$", "", text.strip()).strip(" ,.;:\"“”‘’'()")
    text = re.sub(r"^(?:the|The)\s+", "", text)
    words = text.split()
    titles: list[str] = []
    while len(words) > 1 and (words[0] in HONORIFICS or words[0] in RANKS
                              or words[0].rstrip(".") in HONORIFICS):
        titles.append(words.pop(0))
    return " ".join(words), titles, text


def is_outlet(text: str) -> bool:
    """A broadcaster, paper or programme ("BBC Radio Five Live", "the Daily Mail"), by its name."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
    if set(words) & OUTLET_WORDS:
        return True
    return len(words) >= 2 and words[0] in PAPER_FIRST and words[-1] in PAPER_LAST


class Registry:
    """The speakers of one story, linked by name as the story is read, most recent last."""

    def __init__(self, text: str = "") -> None:
        self.entities: list[Entity] = []
        self.recent: list[Entity] = []
        self.text = text  # the whole story, where a surname met alone finds its first name

    def full_form(self, surname: str) -> str:
        """ "Richards" -> "Hugh Richards" when the story writes the name in full somewhere."""
        pattern = rf"\b([A-Z][a-z]+(?:-[A-Z][a-z]+)?) {re.escape(surname)}\b"
        for m in re.finditer(pattern, self.text):
            first = m.group(1)
            if first in HONORIFICS or first in KEEP_TITLES or first in RANKS or \
                    first.lower() in NOT_FIRST_NAMES:
                continue
            return f"{first} {surname}"
        return surname

    def touch(self, ent: Entity) -> None:
        if ent in self.recent:
            self.recent.remove(ent)
        self.recent.append(ent)

    def find(self, name: str, kind: str) -> Entity | None:
        toks = [t for t in name.split() if t not in KEEP_TITLES]
        low = name.lower()
        for ent in reversed(self.recent):
            if low == ent.name.lower() or name in ent.names:
                return ent
            et = ent.tokens
            if not toks or not et:
                continue
            if kind == "person" and ent.kind == "person":
                if toks == et or len(toks) == 1 and toks[0] in (et[-1], et[0]):
                    return ent
                if len(et) == 1 and len(toks) > 1 and et[0] in (toks[-1], toks[0]):
                    ent.name = name
                    return ent
                if len(toks) > 1 and toks[-1] == et[-1] and toks[0][:1] == et[0][:1]:
                    return ent
            elif kind != "person" and ent.kind in ("organisation", "group") and kind != "unnamed":
                if toks[0] == et[0] and (len(toks) == 1 or len(et) == 1) and len(toks[0]) > 2:
                    if len(toks) > len(et):
                        ent.name = name
                    return ent
                acronym = "".join(t[0] for t in et if t[0].isupper())
                if len(toks) == 1 and toks[0] == acronym and len(acronym) > 1:
                    return ent
        return None

    def link(self, text: str, kind: str, context: list[str] | None = None) -> Entity:
        """The entity a name refers to, created when new."""
        name, titles, _ = clean_name(text)
        if not name:
            name = text
        if any(t.rstrip(".") in HONORIFICS for t in titles):
            kind = "person"  # "Mr Cable", whatever the recogniser made of it
        elif kind == "organisation" and 2 <= len(name.split()) <= 3 and gender_of(name.split()[:1]):
            kind = "person"  # "Omar Alleyne-Lawler" (a first name the recogniser took for a body)
        ent = self.find(name, kind)
        if ent is not None and titles and not self._fits_honorific(ent, titles):
            # "Mr Blair" is not "Sir Ian Blair", "Mrs Jones" not a man: another of that name.
            ent = next((e for e in reversed(self.recent) if e is not ent and e.kind == "person"
                        and e.tokens[-1:] == name.split()[-1:]
                        and self._fits_honorific(e, titles)), None)
        if ent is None and kind != "person" and len(name.split()) == 1:
            ent = self.find(name, "person")  # a surname the recogniser took for a body
        if ent is None and kind == "person":
            ent = self.find(name, "organisation") if len(name.split()) == 1 else None
            if ent is not None and ent.kind != "person":
                ent = None
        if ent is None:
            if kind == "person" and len(name.split()) == 1:
                name = self.full_form(name)
            ent = Entity(name, kind)
            self.entities.append(ent)
        if name not in ent.names:
            ent.names.append(name)
        for t in titles:
            if t in HONORIFICS and ent.tokens:
                form = f"{t} {ent.tokens[-1]}"
                if form not in ent.names:
                    ent.names.append(form)
        if kind == "person":
            g = gender_of(titles + name.split() + (context or []))
            if g and not ent.gender:
                ent.gender = g
            if ent.kind != "person" and titles:
                ent.kind = "person"
        self.touch(ent)
        return ent

    @staticmethod
    def _fits_honorific(ent: Entity, titles: list[str]) -> bool:
        """Can "Mr/Mrs/Ms X" be this person? Not one known as "Sir X" or "Lord X" (they keep the
        title), nor one of the other gender."""
        plain = {t.rstrip(".") for t in titles} & {"Mr", "Mrs", "Ms", "Miss"}
        if not plain or ent.kind != "person":
            return True
        if any(n.split()[0] in KEEP_TITLES for n in ent.names if n):
            return False
        want = "m" if "Mr" in plain else "f"
        return ent.gender in (None, want)

    def unnamed(self, description: str) -> Entity:
        """An unnamed speaker ("a spokesperson", "officials"), one per description."""
        desc = description.strip()
        key = re.sub(r"^(?:a|an|the)\s+", "", desc.lower())
        for ent in reversed(self.recent):
            if ent.kind == "unnamed" and re.sub(r"^(?:a|an|the)\s+", "", ent.name.lower()) == key:
                self.touch(ent)
                return ent
        ent = Entity(desc, "unnamed", names=[desc])
        words = set(desc.lower().split())
        if words & {"man", "father", "husband", "son", "brother", "spokesman", "boy"}:
            ent.gender = "m"
        elif words & {"woman", "mother", "wife", "daughter", "sister", "spokeswoman", "girl"}:
            ent.gender = "f"
        self.entities.append(ent)
        self.touch(ent)
        return ent
