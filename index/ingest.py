"""Read an article file and turn it into a clean, numbered :class:`~index.models.Story`.

Formats: ``.txt`` (first line headline, blank-line paragraphs), ``.md`` (parsed with
markdown-it-py, the CommonMark reference port, so emphasis and links come out as plain words;
YAML front matter, read with PyYAML, fills headline, byline, date and URL) and
``.html``/``.htm`` (trafilatura, the best-scoring open-source main-text extractor in published
benchmarks, which also reads headline, author and date from the page's metadata).

Cleaning removes what is not the story: section labels above the headline, donation and
subscription appeals, "more information" link lines and similar furniture. What was dropped is
kept on the Story so an editor can check it (``storydesk show``).

>>> story = load_story(Path("stories/met-police-safer-schools-officers.txt"))
>>> story.byline
'Kumail Jaffer, Local Democracy Reporter'
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from index.models import Paragraph, Story
from index.text import normalise_whitespace

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_STORY_BYTES = 5 * 1024 * 1024  # the longest real articles are ~100 KB; 5 MB is not a story


class IngestError(ValueError):
    """A file that cannot be read as a story; the message says which and why."""


# --- cleaning -----------------------------------------------------------------------------

# Strong signs of a donation / subscription appeal or other page furniture.
_APPEAL = re.compile(
    r"\b(donat(e|ion|ions|ing)|direct debit|pay ?pal|supporting us|support us|support our|"
    r"subscri(be|ption)|become a (member|supporter)|per month supporters?|sign up (for|to) our|"
    r"newsletter)\b",
    re.IGNORECASE,
)
# The page speaking to its reader (outside quotation marks): how an appeal differs from news.
# Lower-case "us" only: "the US said" is a country.
_READER = re.compile(r"\b(?:[Yy]ou|[Yy]our|[Ww]e|us|[Oo]urs?|[Pp]lease)\b")
APPEAL_MIN_LINES = 2  # one line that reads like an appeal may be the story's own last paragraph
APPEAL_MAX_WORDS = 50  # an appeal line is a sentence or two; the archive's merged paragraphs are not
_QUOTED = re.compile(r"[\"“][^\"“”]*[\"”]?")
_FURNITURE_LINE = re.compile(
    r"^(more information\b|read more\b|related( articles| stories)?:?$|share (this|on)\b|"
    r"advertisement$|follow us\b|click here\b|image (source|caption)|copyright\b|©)",
    re.IGNORECASE,
)
_SECTION_LABELS = {
    "news", "sport", "sports", "business", "politics", "opinion", "comment", "analysis",
    "features", "feature", "entertainment", "culture", "tech", "technology", "world", "uk",
    "local news", "breaking news", "exclusive", "live", "health", "education", "crime",
}
_BYLINE_TAIL = re.compile(
    r"(?:,|\s[-–—])\s*(?:reports?|writes?|by)\s+(?P<byline>[A-Z][\w’'.-]+(?:\s+[A-Z][\w’'.-]+)+"
    r"(?:,\s*[^.]{2,80})?)\s*$"
)
_BYLINE_LINE = re.compile(r"^(?:by|words by|reporting by)\s+(?P<byline>[A-Z].{2,100})$", re.IGNORECASE)


def _is_heading(block: str) -> bool:
    """A short line with no sentence punctuation: a label or a box heading, not prose."""
    return len(block.split()) <= 8 and not re.search(r"[.!?:;”\"]$", block)


@dataclass
class CleanStory:
    """The result of cleaning a list of raw blocks."""

    headline: str
    paragraphs: list[str]
    byline: str = ""
    standfirst: str = ""
    dropped: list[str] = field(default_factory=list)


def clean_blocks(blocks: list[str], headline: str | None = None) -> CleanStory:
    """Split raw text blocks into headline, standfirst/byline, body paragraphs and dropped furniture.

    ``headline`` is given when the format carries it separately (HTML metadata, a Markdown
    heading); otherwise it is the first block that is not a section label.
    """
    blocks = [normalise_whitespace(b) for b in blocks]
    blocks = [b for b in blocks if b]
    dropped: list[str] = []

    if headline is None:
        while len(blocks) > 1 and blocks[0].lower().rstrip(":") in _SECTION_LABELS:
            dropped.append(blocks.pop(0))
        if not blocks:
            raise IngestError("no headline: the file has no text")
        headline = blocks.pop(0)

    blocks = _drop_appeal(blocks, dropped)

    byline = ""
    standfirst = ""
    body: list[str] = []
    for i, block in enumerate(blocks):
        if _FURNITURE_LINE.search(block):
            dropped.append(block)
            continue
        if i <= 1 and not byline:
            if m := _BYLINE_LINE.match(block):
                byline = m.group("byline").strip()
                continue
            if m := _BYLINE_TAIL.search(block):
                # "..., reports Kumail Jaffer, Local Democracy Reporter": a standfirst with the
                # byline on its tail. It restates the story, so it is kept but not numbered.
                byline = m.group("byline").strip()
                standfirst = block
                continue
        body.append(block)
    if not body:
        raise IngestError("no story text found after cleaning")
    return CleanStory(headline, body, byline, standfirst, dropped)


def _unquoted(block: str) -> str:
    """The block less what it quotes: words inside quotation marks are someone else's."""
    return _QUOTED.sub(" ", block)


def _is_appeal(block: str) -> bool:
    """An appeal line: appeal words said to the reader ("please consider supporting us",
    "subscribe to our newsletter") in a block of a sentence or two, or a short label of the box
    ("Monthly direct debit").

    A news paragraph that reports on donations or subscriptions ("It is the latest hefty
    donation to the party", "Sky also charges a £10 subscription fee") names them in the third
    person: it is the story, never furniture.
    """
    own = _unquoted(block)
    if len(block.split()) > APPEAL_MAX_WORDS or not _APPEAL.search(own):
        return False
    return _is_heading(block) or bool(_READER.search(own))


def _drop_appeal(blocks: list[str], dropped: list[str]) -> list[str]:
    """Cut a trailing appeal box: from its heading (or first appeal line) to the end.

    An appeal starts in the second half of the page with an appeal line (:func:`_is_appeal`),
    and at least half of the blocks from there to the end, two at least, are appeal lines: a
    box, not a story that ends on (or goes on after) one sentence addressed to the reader. A
    short heading just above it ("No news is bad news") belongs to the box too.
    """
    half = len(blocks) // 2
    appeal = [_is_appeal(b) for b in blocks]
    first = next(
        (i for i in range(max(half, 1), len(blocks))
         if appeal[i] and sum(appeal[i:]) >= APPEAL_MIN_LINES
         and 2 * sum(appeal[i:]) >= len(blocks) - i),
        None,
    )
    if first is None:
        return blocks
    start = first
    for j in range(first - 1, max(first - 5, 0), -1):
        if _is_heading(blocks[j]):
            start = j
            break
    dropped.extend(blocks[start:])
    return blocks[:start]


# --- formats ------------------------------------------------------------------------------


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror})") from exc
    if size == 0:
        raise IngestError(f"{path}: the file is empty")
    if size > max_bytes:
        raise IngestError(
            f"{path}: {size / 1e6:.1f} MB is too large for one story (limit {max_bytes / 1e6:.0f} MB)"
        )
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows editors save "Unicode" as UTF-16 with a byte-order mark: decodable, not binary.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IngestError(f"{path}: starts as UTF-16 but is not valid UTF-16 (byte {exc.start})") from exc
        if not text.strip():
            raise IngestError(f"{path}: the file has no text")
        return text
    if b"\x00" in data[:8192]:
        raise IngestError(f"{path}: looks like a binary file, not a story")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
        ) from exc
    if not text.strip():
        raise IngestError(f"{path}: the file has no text")
    return text


def _split_blocks(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [b.replace("\n", " ") for b in re.split(r"\n\s*\n", text) if b.strip()]


def _parse_txt(text: str) -> tuple[CleanStory, str, str]:
    return clean_blocks(_split_blocks(text)), "", ""


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<yaml>.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split YAML front matter (``---`` ... ``---`` at the top) from a Markdown file.

    Returns its ``title``, ``author`` and ``date`` (and ``url``) as text, and the Markdown after it.
    Parsed with PyYAML's ``safe_load`` (no code runs); CommonMark alone would read the block as a
    heading ("title: Real Title author: ...").
    """
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(m.group("yaml"))
    except yaml.YAMLError as exc:
        raise IngestError(f"the front matter is not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        return {}, text[m.end():]
    fields: dict[str, str] = {}
    for key, names in (("title", ("title", "headline")), ("author", ("author", "authors", "byline")),
                       ("date", ("date", "published")), ("url", ("url", "link", "canonical_url"))):
        value = next((meta[n] for n in names if meta.get(n)), None)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if v)
        elif isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        if value:
            fields[key] = normalise_whitespace(str(value))
    return fields, text[m.end():]


def _parse_markdown(text: str) -> tuple[CleanStory, str, str]:
    from markdown_it import MarkdownIt

    meta, text = _front_matter(text)
    tokens = MarkdownIt("commonmark").parse(text)
    headline: str | None = None
    blocks: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.type != "inline":
            continue
        opener = tokens[i - 1]
        plain = "".join(
            " " if c.type in ("softbreak", "hardbreak") else c.content
            for c in (tok.children or [])
            if c.type in ("text", "code_inline", "softbreak", "hardbreak")
        )
        if opener.type == "heading_open":
            if headline is None and opener.tag in ("h1", "h2"):
                headline = normalise_whitespace(plain)
            else:
                blocks.append(plain)  # a subheading: cleaning treats it like any other block
        elif opener.type == "paragraph_open":
            blocks.append(plain)
    if meta.get("title"):
        # The front matter names the story; a first heading repeats it (or is the page's own
        # title): it is the headline's place, not paragraph 1.
        headline = meta["title"]
    clean = clean_blocks(blocks, headline=headline)
    if meta.get("author"):
        clean.byline = meta["author"]
    return clean, meta.get("date", ""), meta.get("url", "")


def parse_html(text: str) -> tuple[CleanStory, str, str]:
    """An HTML page as (cleaned story, date, canonical URL): ``.html`` files and fetched pages alike."""
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      include_tables=False)
    if doc is None or isinstance(doc, dict) or doc.body is None:  # a dict only with as_dict=True
        raise IngestError("no article text found in the HTML")
    headline = normalise_whitespace(doc.title or "") or None
    blocks = ["".join(el.itertext()) for el in doc.body.iter("p", "quote", "item", "head")]
    # trafilatura hands back the article's <h1> as a body block too: it is the headline, not ¶1.
    blocks = [b for b in blocks if normalise_whitespace(b) != headline]
    clean = clean_blocks(blocks, headline=headline)
    if doc.author and not clean.byline:
        clean.byline = normalise_whitespace(doc.author)
    return clean, doc.date or "", doc.url or ""


_PARSERS = {
    ".txt": _parse_txt,
    ".md": _parse_markdown,
    ".markdown": _parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
}


def load_story(
    path: Path, story_id: str | None = None, url: str = "", max_bytes: int = MAX_STORY_BYTES
) -> Story:
    """Read, parse and clean one article file. Raises :class:`IngestError` with a clear reason."""
    path = Path(path)
    parser = _PARSERS.get(path.suffix.lower())
    if parser is None:
        raise IngestError(f"{path}: unsupported file type (use {', '.join(SUFFIXES)})")
    text = _read_text(path, max_bytes)
    try:
        clean, date, page_url = parser(text)
    except IngestError as exc:
        raise IngestError(f"{path}: {exc}") from None
    return build_story(clean, story_id or path.stem, url=url or page_url, date=date, source=str(path))


def build_story(clean: CleanStory, sid: str, *, url: str = "", date: str = "", source: str = "") -> Story:
    """The :class:`Story` of a cleaned text, numbered and fingerprinted; ``sid`` is checked."""
    if not re.fullmatch(r"[\w.-]{1,128}", sid):
        raise IngestError(f"{source}: story id {sid!r} must be letters, digits, '.', '_' or '-'")
    paragraphs = tuple(Paragraph(sid, n, t) for n, t in enumerate(clean.paragraphs, start=1))
    digest = hashlib.sha256(
        "\x1f".join([clean.headline, clean.byline, url, *clean.paragraphs]).encode()
    ).hexdigest()
    return Story(
        id=sid,
        headline=clean.headline,
        paragraphs=paragraphs,
        byline=clean.byline,
        standfirst=clean.standfirst,
        url=url,
        date=date,
        source=source,
        dropped=tuple(clean.dropped),
        content_hash=digest,
    )


def discover(paths: list[Path]) -> list[Path]:
    """Expand directories (recursively) into story files; files named directly are kept as given."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES))
        elif p.exists():
            found.append(p)
        else:
            raise IngestError(f"{p}: no such file or directory")
    if not found:
        raise IngestError(f"no story files ({', '.join(SUFFIXES)}) in {', '.join(map(str, paths))}")
    return found
