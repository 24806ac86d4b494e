"""What a rebuild takes from the index it replaces: the vectors of the phrasings whose text did
not change, the entry classifier to start its fit from, and, for a FAQ too large for its
confidence fit to ask every phrasing, that fit and the background's nearness while few phrasings
changed. build.py decides what to build; this module only reads the previous index."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import ann, background, calibration, classifier
from .confidence import Calibration
from .encoders import Encoder
from .errors import IndexUnusable
from .faqs import FAQEntry, FAQFile
from .index import CLASSIFIER, EMBEDDINGS, NEARNESS, Manifest, check_file, read_entries, read_manifest
from .offtopic import OfftopicSample

# A rebuild of a FAQ too large for its confidence fit to ask every phrasing keeps the previous
# fit, and updates which background sentences are in scope instead of searching them all again,
# while the changes since that fit are at most this share of the FAQ's phrasings (a phrasing
# added or removed counts one, one reworded or moved two) and nothing else the fit rests on
# changed (kept_fit): editing one entry of a 100,000-phrasing FAQ then takes seconds, not a new
# fit. A kept fit answered as a fresh one did on banking77 and clinc150 (within 0.3 points, an
# added intent's own questions within 1.2: benchmarks/kept_fit.py, BENCHMARKS.md)
REFIT_AFTER = 0.01


Previous = tuple[Manifest, tuple[FAQEntry, ...]] | None  # the index a build replaces, if readable


def previous_index(directory: Path) -> Previous:
    """The manifest and entries of the index already at `directory` (None when there is none
    that can be read): a rebuild reuses its vectors and starts from its classifier."""
    if not directory.exists():
        return None
    try:
        manifest = read_manifest(directory)
        return manifest, read_entries(directory, manifest)
    except (IndexUnusable, OSError, ValueError):
        return None


Reusable = tuple[dict[str, int], np.ndarray]  # phrasing text -> its row of the previous vectors, and those


def reusable_vectors(directory: Path, previous: Previous, encoder: Encoder, language: str) -> Reusable:
    """The vectors of the `previous` index at `directory` and each phrasing's row of them, when it
    was built by this encoder version in this language (none otherwise: everything is embedded
    again). Rows, not vectors: 100,000 vectors taken one by one took a rebuild 0.7 s."""
    nothing: Reusable = ({}, np.zeros((0, encoder.dim), dtype=np.float32))
    if previous is None:
        return nothing
    manifest, entries = previous
    same = (manifest.encoder.name, manifest.encoder.version, manifest.encoder.dim, manifest.language)
    if same != (encoder.name, encoder.version, encoder.dim, language):
        return nothing
    phrasings = [p for entry in entries for p in entry.phrasings]
    try:
        vectors = np.load(check_file(directory, manifest, EMBEDDINGS, True), mmap_mode="r", allow_pickle=False)
    except (IndexUnusable, OSError, ValueError):
        return nothing
    if vectors.shape != (len(phrasings), encoder.dim):
        return nothing
    return {text: row for row, text in enumerate(phrasings)}, vectors


def previous_classifier(directory: Path, previous: Previous, faq: FAQFile, dim: int) -> classifier.Classifier | None:
    """The entry classifier of the `previous` index at `directory`, rearranged for `faq`'s
    entries by id (zeros for new ones): a rebuild's fit starts from it and converges in a few steps."""
    if previous is None:
        return None
    manifest, entries = previous
    try:
        weights = np.load(check_file(directory, manifest, CLASSIFIER, False), allow_pickle=False)
    except (IndexUnusable, OSError, ValueError):
        return None
    ids = {entry.id: i for i, entry in enumerate(entries)}
    if weights.shape != (len(ids), dim + 1):
        return None
    start = np.zeros((len(faq.entries), dim + 1), dtype=np.float32)
    for i, entry in enumerate(faq.entries):
        if entry.id in ids:
            start[i] = weights[ids[entry.id]]
    return classifier.Classifier.from_array(start)


def fit_inputs(
    faq: FAQFile,
    encoder: Encoder,
    index_type: ann.IndexType,
    voting: bool,
    corpus: background.Background,
    offtopic: OfftopicSample,
) -> str:
    """A digest of what a confidence fit rests on besides the phrasings: the FAQ's language and
    the questions labelled not for it, the encoder, the index type, whether an entry classifier
    votes, the background corpus, the off-topic sample and the fit's own version."""
    settings = [faq.language, faq.no_match, encoder.name, encoder.version, index_type.kind, voting]
    settings.append(calibration.FIT_VERSION)
    digest = hashlib.sha256(json.dumps([*settings, corpus.corpus.sha256]).encode())
    digest.update(offtopic.vectors.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Kept:
    """What a rebuild keeps of the previous index's confidence work (kept_fit)."""

    calibration: Calibration  # the previous fit, its `changed` counted up to this build
    nearness: np.ndarray  # the previous nearness.npy, its rows renumbered for this build (-1: changed since)
    fresh: np.ndarray  # this build's rows whose phrasing (text and language) the previous build did not have


def _phrasings(entries: tuple[FAQEntry, ...], language: str) -> list[tuple[str, str, str]]:
    """Each row's (text, language, entry id), in row order."""
    return [
        (text, asked_in, entry.id)
        for entry in entries
        for text, asked_in in zip(entry.phrasings, entry.phrasing_languages(language), strict=True)
    ]


def kept_fit(directory: Path, previous: Previous, faq: FAQFile, inputs: str) -> Kept | None:
    """The previous index's confidence fit and background nearness, where a rebuild keeps them:
    a FAQ of more than calibration.SAMPLE phrasings (its fit asks a sample of them anyway) whose
    changes since that fit are at most REFIT_AFTER of them (each phrasing added or removed, and
    each reworded or moved twice: a (text, language, entry) one side lacks),
    the fit resting on the same `inputs` (fit_inputs); None where everything is measured again."""
    now = _phrasings(faq.entries, faq.language)
    if previous is None or len(now) <= calibration.SAMPLE:
        return None
    manifest, entries = previous
    before = _phrasings(entries, manifest.language)
    changed = manifest.calibration.changed + len(set(now) ^ set(before))
    if manifest.calibration.fitted_for != inputs or changed > REFIT_AFTER * len(now):
        return None
    try:
        nearness = np.load(check_file(directory, manifest, NEARNESS, True), allow_pickle=False)
    except (IndexUnusable, OSError, ValueError):
        return None
    if nearness.shape != (manifest.background.sentences, 2):
        return None
    row = {(text, language): i for i, (text, language, _) in enumerate(now)}
    renumbered = np.array([row.get((text, language), -1) for text, language, _ in before] + [-1])  # [-1]: none
    old = {(text, language) for text, language, _ in before}
    fresh = np.array([i for i, (text, language, _) in enumerate(now) if (text, language) not in old], dtype=np.int64)
    nearness = np.c_[nearness[:, 0], renumbered[nearness[:, 1].astype(np.int64)]]
    return Kept(replace(manifest.calibration, changed=changed), nearness, fresh)
