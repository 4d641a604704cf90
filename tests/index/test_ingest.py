"""Ingest: each format (.txt, .md, .html, folders), the cleaning of the bundled story, bad input.

Everything here reads real files written to ``tmp_path`` (or the bundled story) with the real
parsers (markdown-it-py, trafilatura); nothing of ours is mocked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import DEFAULT_STORY
from index.ingest import MAX_STORY_BYTES, IngestError, clean_blocks, discover, load_story

# --- sample inputs ---------------------------------------------------------------------------

TXT = """Bridge closure to last until spring

Hammersmith Bridge will stay shut to cars until at least April, the council confirmed on Tuesday.

Engineers found new cracks in the cast-iron pedestals during a routine inspection in January.

"We cannot take any risks with public safety," said council leader Stephen Cowan.
"""

MD = """# Library *saved* after [campaign](https://example.org/campaign)

By Tom Reed

The **Stoke Newington** library will stay open after a _six-month_ campaign by residents, the
council said on Monday.

Campaigners collected more than 3,000 signatures, and the [petition](https://petition.example)
was debated at full council.

"This is a victory for readers of all ages," said organiser Ada Lim.
"""

HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Council approves new cycle lanes for Hackney | Hackney Gazette</title>
  <meta property="og:title" content="Council approves new cycle lanes for Hackney">
  <meta name="author" content="Priya Natarajan">
  <meta property="article:published_time" content="2024-03-12T09:30:00Z">
  <meta property="og:url" content="https://example-gazette.co.uk/news/cycle-lanes">
</head>
<body>
  <header><nav><ul>
    <li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
    <li><a href="/subscribe">Subscribe to our newsletter</a></li>
  </ul></nav></header>
  <main><article>
    <h1>Council approves new cycle lanes for Hackney</h1>
    <p class="byline">By Priya Natarajan</p>
    <p>Hackney Council has approved plans for six kilometres of protected cycle lanes along Mare
       Street and Dalston Lane, with construction due to begin in the summer.</p>
    <p>The cabinet member for transport, Sarah Okafor, said the scheme would cut collisions on two
       of the borough's busiest roads. "We have listened to residents and this is what they asked
       for," she said.</p>
    <p>Opponents on the council warned that the loss of 140 parking spaces would hurt small shops
       along the route, and called for a full consultation before work starts.</p>
    <p>The project is expected to cost £4.2 million, funded mostly by Transport for London.</p>
  </article></main>
  <aside><h3>Most read</h3><ul>
    <li><a href="/a">Fox found in school kitchen</a></li><li><a href="/b">Mayor opens new library</a></li>
  </ul></aside>
  <footer>
    <p>© 2024 Hackney Gazette. All rights reserved.</p>
    <p><a href="/privacy">Privacy policy</a> | <a href="/cookies">Cookie settings</a></p>
  </footer>
</body>
</html>
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- formats ---------------------------------------------------------------------------------


def test_txt_first_line_is_headline_and_blank_lines_split_paragraphs(tmp_path):
    story = load_story(_write(tmp_path / "bridge-closure.txt", TXT))
    assert story.id == "bridge-closure"
    assert story.headline == "Bridge closure to last until spring"
    assert [p.number for p in story.paragraphs] == [1, 2, 3]
    assert story.paragraphs[0].text.startswith("Hammersmith Bridge will stay shut")
    assert story.paragraphs[2].text == ('"We cannot take any risks with public safety," '
                                        'said council leader Stephen Cowan.')
    assert all(p.story == "bridge-closure" for p in story.paragraphs)
    assert story.url == "" and story.dropped == ()


def test_id_and_url_override(tmp_path):
    story = load_story(_write(tmp_path / "draft 3 (final).txt", TXT), story_id="bridge-2024",
                       url="https://example.org/bridge")
    assert story.id == "bridge-2024"
    assert story.url == "https://example.org/bridge"
    assert {p.story for p in story.paragraphs} == {"bridge-2024"}


def test_file_stem_that_is_not_a_valid_id_is_refused_with_a_hint(tmp_path):
    with pytest.raises(IngestError, match="story id"):
        load_story(_write(tmp_path / "draft 3 (final).txt", TXT))


def test_markdown_heading_is_headline_and_markup_becomes_plain_words(tmp_path):
    story = load_story(_write(tmp_path / "library.md", MD))
    assert story.id == "library"
    assert story.headline == "Library saved after campaign"
    assert story.byline == "Tom Reed"
    texts = [p.text for p in story.paragraphs]
    assert texts[0] == ("The Stoke Newington library will stay open after a six-month campaign by "
                        "residents, the council said on Monday.")
    assert "the petition was debated at full council" in texts[1]
    assert texts[2] == '"This is a victory for readers of all ages," said organiser Ada Lim.'
    for text in [story.headline, *texts]:
        assert not re.search(r"[*_#\[\]]|\]\(|https?://", text), text


def test_html_page_gives_headline_byline_date_url_and_body_without_furniture(tmp_path):
    story = load_story(_write(tmp_path / "cycle-lanes.html", HTML))
    assert story.id == "cycle-lanes"
    assert story.headline == "Council approves new cycle lanes for Hackney"
    assert story.byline == "Priya Natarajan"
    assert story.date == "2024-03-12"
    assert story.url == "https://example-gazette.co.uk/news/cycle-lanes"
    body = "\n".join(p.text for p in story.paragraphs)
    for sentence in (
        "Hackney Council has approved plans for six kilometres of protected cycle lanes",
        "Sarah Okafor, said the scheme would cut collisions",
        "the loss of 140 parking spaces would hurt small shops",
        "The project is expected to cost £4.2 million",
    ):
        assert sentence in body
    for furniture in ("Home", "Subscribe", "newsletter", "Most read", "Fox found", "Mayor opens",
                      "©", "All rights reserved", "Privacy policy", "Cookie"):
        assert furniture not in body, furniture
    # Each paragraph is one paragraph of the article, whitespace collapsed.
    assert all("\n" not in p.text and "  " not in p.text for p in story.paragraphs)


def test_html_headline_is_not_repeated_as_first_paragraph(tmp_path):
    story = load_story(_write(tmp_path / "cycle-lanes.html", HTML))
    assert story.paragraphs[0].text.startswith("Hackney Council has approved")
    assert all(p.text != story.headline for p in story.paragraphs)
    assert len(story.paragraphs) == 4


def test_htm_suffix_and_upper_case_suffix_are_read_as_html(tmp_path):
    story = load_story(_write(tmp_path / "cycle.HTM", HTML))
    assert story.headline == "Council approves new cycle lanes for Hackney"


def test_discover_walks_folders_recursively_and_keeps_only_story_files(tmp_path):
    root = tmp_path / "desk"
    a = _write(root / "a.txt", TXT)
    b = _write(root / "features" / "b.md", MD)
    c = _write(root / "features" / "2024" / "march" / "c.html", HTML)
    _write(root / "notes.json", "{}")
    _write(root / "features" / "photo.jpg", "not a story")
    single = _write(tmp_path / "single.txt", TXT)
    found = discover([root, single])
    assert sorted(found[:3]) == sorted([a, b, c])
    assert found[3] == single
    stories = [load_story(p) for p in found]
    assert [s.id for s in stories] == [p.stem for p in found]


def test_discover_an_empty_folder_or_missing_path_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    _write(empty / "sub" / "readme.json", "{}")
    with pytest.raises(IngestError, match="no story files"):
        discover([empty])
    with pytest.raises(IngestError, match="no such file"):
        discover([tmp_path / "nope"])


# --- the bundled story -----------------------------------------------------------------------

APPEAL_WORDS = re.compile(
    r"donat|direct debit|pay ?pal|per month|supporters?\b|subscri|No news is bad news|"
    r"news deserts|Choose the news|More information", re.IGNORECASE)


def test_bundled_story_headline_byline_and_paragraph_count(bundled_story):
    s = bundled_story
    assert s.id == "met-police-safer-schools-officers"
    assert s.headline == "Headteacher slams Met Police decision to axe specialist school officers"
    assert s.byline == "Kumail Jaffer, Local Democracy Reporter"
    assert len(s.paragraphs) == 25
    assert [p.number for p in s.paragraphs] == list(range(1, 26))
    assert s.paragraphs[0].text.startswith("The Metropolitan Police’s decision to remove 371")
    assert s.paragraphs[24].text.startswith("“Removing police from schools will serve")
    # The standfirst carrying the byline is kept apart, not numbered.
    assert s.standfirst.endswith("reports Kumail Jaffer, Local Democracy Reporter")
    assert all("reports Kumail Jaffer" not in p.text for p in s.paragraphs)


def test_bundled_story_section_label_and_whole_appeal_are_dropped(bundled_story):
    s = bundled_story
    assert s.dropped[0] == "News"
    assert s.headline != "News" and all(p.text != "News" for p in s.paragraphs)
    for p in s.paragraphs:
        assert not APPEAL_WORDS.search(p.text), (p.number, p.text)
    dropped = "\n".join(s.dropped)
    for line in ("No news is bad news", "Independent news outlets like ours",
                 "The audiences they serve know less", "one-off donation",
                 "Choose the news. Don’t lose the news.", "Monthly direct debit",
                 "Annual direct debit", "£5 per month supporters", "£84 annual supporters",
                 "Donate now with Pay Pal", "More information on supporting us monthly",
                 "More Information about donations"):
        assert line in dropped, line
    assert len(s.dropped) == 12


def test_bundled_story_spaces_normalised_but_story_characters_kept(bundled_story):
    raw = Path(DEFAULT_STORY).read_text(encoding="utf-8")
    assert "\u00a0" in raw  # the file really has non-breaking spaces to normalise
    s = bundled_story
    for text in [s.headline, s.byline, s.standfirst, *(p.text for p in s.paragraphs), *s.dropped]:
        assert "\u00a0" not in text and "  " not in text and text == text.strip()
    body = "".join(p.text for p in s.paragraphs)
    for ch in "“”’‘–":
        assert ch in body, ch
    # Every paragraph is verbatim from the file (modulo spacing): nothing rewritten.
    flat = re.sub(r"\s+", " ", raw.replace("\u00a0", " "))
    for p in s.paragraphs:
        assert p.text in flat, p.number


def test_clean_blocks_drops_furniture_lines_and_reads_a_by_line():
    blocks = ["Politics", "Minister quits over expenses", "By Jane Doe",
              "The minister resigned on Friday after an inquiry into her expenses.",
              "Read more: the full report", "She denies any wrongdoing.",
              "Share this story on social media"]
    clean = clean_blocks(blocks)
    assert clean.headline == "Minister quits over expenses"
    assert clean.byline == "Jane Doe"
    assert clean.paragraphs == ["The minister resigned on Friday after an inquiry into her expenses.",
                                "She denies any wrongdoing."]
    assert set(clean.dropped) == {"Politics", "Read more: the full report",
                                  "Share this story on social media"}



# News that reports on donations, subscriptions or members, last in its story (archive stories
# lost these paragraphs to the appeal cut: sainsbury-s-labour-election-gift, telewest-to-...).
NEWS_ABOUT_MONEY = [
    "Lord Sainsbury gives Labour £2m",
    "Science minister Lord Sainsbury has given Labour another £2m, the party said on Tuesday.",
    "It is the latest hefty donation to the party by the billionaire - he has contributed "
    "more than £10m since 1999.",
    "\"Through the generosity of David Sainsbury and other Labour supporters, Labour will be "
    "campaigning hard to take Britain forward and to stop the Tories taking us back,\" Mr Carter "
    "said.",
    "Sky also charges a £10 subscription fee to the service, unless viewers have a subscription "
    "to one of its premium packages.",
    # A column's last paragraph may address its reader: one such line is not an appeal box.
    "With a broadband net subscription, you can also get your TV and phone service.",
]


def test_news_paragraphs_about_donations_and_subscriptions_are_never_dropped():
    clean = clean_blocks(list(NEWS_ABOUT_MONEY))
    assert clean.paragraphs == NEWS_ABOUT_MONEY[1:]
    assert clean.dropped == []


def test_an_appeal_box_after_such_news_is_still_cut_whole():
    appeal = ["Support us", "If you value our reporting, please consider a monthly donation.",
              "Monthly direct debit", "Donate now with Pay Pal"]
    clean = clean_blocks([*NEWS_ABOUT_MONEY[:-1], *appeal])
    assert clean.paragraphs == NEWS_ABOUT_MONEY[1:-1]
    assert clean.dropped == appeal


def test_no_archive_story_loses_a_paragraph_to_cleaning():
    """The 2,096 archive stories are plain news: cleaning keeps every paragraph of each."""
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "bbc-2005"
    files = sorted(corpus.glob("*/*.txt"))
    if not files:
        pytest.skip(f"archive corpus not present at {corpus}")
    lost = {f.stem: load_story(f).dropped for f in files}
    assert {k: v for k, v in lost.items() if v} == {}


# --- bad input -------------------------------------------------------------------------------


def _bad_file(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A bad story file of ``kind`` and a regex its IngestError message must match."""
    if kind == "empty":
        p = tmp_path / "empty.txt"
        p.write_bytes(b"")
        return p, "empty"
    if kind == "blank":
        p = tmp_path / "blank.txt"
        p.write_text(" \n\n\t\n")
        return p, "no text"
    if kind == "binary":
        p = tmp_path / "photo.txt"
        p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
        return p, "binary"
    if kind == "latin1":
        p = tmp_path / "latin1.txt"
        p.write_bytes("Café reopens\n\nThe café on the corner reopened on Monday.\n".encode("latin-1"))
        return p, "not valid UTF-8"
    if kind == "huge":
        p = tmp_path / "huge.txt"
        with p.open("wb") as fh:  # sparse: 50 MB on paper, nothing on disk
            fh.write(b"Headline\n\nBody.\n")
            fh.truncate(50 * 1024 * 1024)
        return p, "too large"
    if kind == "suffix":
        p = tmp_path / "story.pdf"
        p.write_text("Headline\n\nBody.\n")
        return p, "unsupported file type"
    if kind == "missing":
        return tmp_path / "gone.txt", "cannot read"
    raise AssertionError(kind)


BAD_KINDS = ["empty", "blank", "binary", "latin1", "huge", "suffix", "missing"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_file_raises_a_clear_ingest_error_naming_the_file(tmp_path, kind):
    path, reason = _bad_file(tmp_path, kind)
    with pytest.raises(IngestError, match=reason) as err:
        load_story(path)
    assert str(path) in str(err.value)


def test_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path, _ = _bad_file(tmp_path, "huge")
    assert path.stat().st_size > MAX_STORY_BYTES

    def no_reading(self):
        raise AssertionError(f"{self} was read although it is over the size limit")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(IngestError, match=r"52\.4 MB is too large for one story \(limit 5 MB\)"):
        load_story(path)


def test_html_without_article_text_is_a_clear_error(tmp_path):
    page = _write(tmp_path / "nav.html",
                  "<html><head><title>Home</title></head><body><nav><a href='/'>Home</a></nav></body></html>")
    with pytest.raises(IngestError, match=str(page)):
        load_story(page)


def test_headline_only_file_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="no story text"):
        load_story(_write(tmp_path / "headline.txt", "Just a headline\n"))
