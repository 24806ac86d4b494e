"""FAQSearch: the library entry point a chatbot uses (open an index once, ask many times)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import langid
from .confidence import AMBIGUOUS_UP_TO
from .encoders import Encoder, get_encoder
from .errors import FAQSearchError, IndexUnusable
from .index import Index, open_index

if TYPE_CHECKING:  # the sentiment head is imported when asked for: not in a cold `faqsearch ask`
    from .sentiment import Sentiment, SentimentHead

MAX_K = 100
MAX_QUESTION_CHARS = 1000  # the same limit on the command line, in the library and over HTTP


@dataclass(frozen=True)
class FollowUp:
    """An entry the FAQ offers after an answer: its id, the text to show for it, and its question
    (what a bot asks when the customer picks it)."""

    id: str
    text: str
    question: str


@dataclass(frozen=True)
class Hit:
    """One FAQ entry as an answer to a question."""

    id: str
    matched_question: str
    answer: str
    answer_language: str
    score: float  # mean cosine of its 3 nearest phrasings (+ the entry classifier's vote): within one index only
    confidence: float  # calibrated probability that this entry is the right answer
    related: tuple[FollowUp, ...] = ()  # entries to offer after this answer (follow-ups, buttons)


@dataclass(frozen=True)
class Answer:
    """The result for one question: `match` is None when the best candidate's confidence is
    below the threshold, and `no_match` then says why (confidence.NO_MATCH): "off_topic",
    "ambiguous" (`did_you_mean` lists the entries to offer) or "low_confidence"; and
    `default_answer` is the FAQ's `default_answer`, if it has one."""

    query: str
    language: str
    match: Hit | None
    candidates: list[Hit]
    sentiment: Sentiment | None = None  # when asked for
    no_match: str | None = None
    did_you_mean: list[Hit] = field(default_factory=list)
    default_answer: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Asked:
    """Questions checked and ready to answer (FAQSearch.prepare), with their options."""

    questions: list[str]
    languages: list[str]
    k: int
    threshold: float
    allowed: np.ndarray | None  # rows the tags allow (None: all)


def valid_text(text: str) -> bool:
    """False for text with lone UTF-16 surrogates (from a JSON `\\ud800` escape, or bytes that
    were not UTF-8 on a command line), which no encoder can read."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_question(text: str) -> str:
    """A question as every entry point takes it (command line, library, HTTP, MCP): whitespace
    collapsed first, then checked, so that each applies the same limit; ValueError says what is
    wrong and how to send it."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("is empty; ask something")
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"is {len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}: "
            "send the customer's question, not a whole conversation"
        )
    if not valid_text(text):
        raise ValueError("is not valid text (bytes that are not UTF-8, or a lone UTF-16 surrogate); send UTF-8 text")
    return text


class FAQSearch:
    """An index plus the encoder that built it, so queries and entries share one vector space."""

    def __init__(self, index: Index, encoder: Encoder, sentiment_head: str | Path | None = None):
        self.index = index
        self.encoder = encoder
        self._sentiment_path = None if sentiment_head is None else Path(sentiment_head)
        self._sentiment_head: SentimentHead | None = None

    @classmethod
    def open(cls, path: str | Path, sentiment_head: str | Path | None = None, strict: bool = False) -> FAQSearch:
        """Open the index at `path`. `sentiment_head` is a head folder; without it, asking for
        sentiment uses sentiment/<encoder>/ if you trained one, else the shipped head. An index
        whose FAQ file changed since it was built is used with a warning, or refused if `strict`."""
        index = open_index(Path(path), strict=strict)
        info = index.manifest.encoder
        try:
            encoder = get_encoder(info.name)
        except FAQSearchError as exc:
            raise IndexUnusable(f"{path} was built with encoder `{info.name}`, which cannot run here: {exc}") from None
        if (encoder.version, encoder.dim) != (info.version, info.dim):
            raise IndexUnusable(
                f"{path} was built with {info.name} [{info.version}, {info.dim}-d] but this machine has "
                f"[{encoder.version}, {encoder.dim}-d]; rebuild it with `faqsearch build {index.manifest.source_path}`"
            )
        return cls(index, encoder, sentiment_head)

    @property
    def sentiment_head(self) -> SentimentHead:
        """The sentiment head, loaded (and checked against the index's encoder) on first use."""
        if self._sentiment_head is None:
            from .sentiment import open_head

            self._sentiment_head = open_head(self.encoder, self._sentiment_path)
        return self._sentiment_head

    @property
    def min_confidence(self) -> float:
        """The default no-match threshold, recorded in the index by its calibration."""
        return self.index.manifest.calibration.threshold

    def ask(
        self,
        question: str,
        k: int = 1,
        min_confidence: float | None = None,
        sentiment: bool = False,
        tags: Sequence[str] = (),
    ) -> Answer:
        """The best entry for `question` (or no match), plus the k best candidates, and with
        `sentiment` the customer's sentiment; with `tags`, only entries carrying one of them."""
        return self.ask_many([question], k=k, min_confidence=min_confidence, sentiment=sentiment, tags=tags)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int = 1,
        min_confidence: float | None = None,
        sentiment: bool = False,
        tags: Sequence[str] = (),
    ) -> list[Answer]:
        """Answer several questions with one batched encoder call; results follow input order."""
        asked = self.prepare(questions, k, min_confidence, tags)
        return self.answer(asked, self.encoder.encode(asked.questions, asked.languages), sentiment)

    def prepare(
        self, questions: Sequence[str], k: int = 1, min_confidence: float | None = None, tags: Sequence[str] = ()
    ) -> Asked:
        """Check the questions and options and detect each question's language: what `answer`
        needs besides the vectors (a server encodes the questions of many indexes in one call)."""
        if not 1 <= k <= MAX_K:
            raise FAQSearchError(f"k must be between 1 and {MAX_K}, got {k}")
        cleaned = []
        for number, question in enumerate(questions, 1):
            try:
                cleaned.append(clean_question(question))
            except ValueError as exc:
                raise FAQSearchError(f"question {number} {exc}") from None
        questions = cleaned
        threshold = self.min_confidence if min_confidence is None else min_confidence
        if not 0 <= threshold <= 1:
            raise FAQSearchError(f"min_confidence must be between 0 and 1, got {threshold}")
        allowed = self.index.rows_tagged(list(tags)) if tags else None
        faq_language = self.index.manifest.language
        languages = [langid.detect(q, prior=faq_language) for q in questions]
        return Asked(questions, languages, k, threshold, allowed)

    def answer(self, asked: Asked, vectors: np.ndarray, sentiment: bool = False) -> list[Answer]:
        """The answers to `asked` questions, given their vectors from this index's encoder."""
        faq_language = self.index.manifest.language
        head = self.sentiment_head if sentiment else None
        sentiments = head.predict(vectors) if head else [None] * len(asked.questions)
        rankings = self.index.retriever.rank(vectors, asked.languages, asked.k, asked.allowed)
        calibration = self.index.manifest.calibration
        answers = []
        for question, language, feeling, ranking in zip(
            asked.questions, asked.languages, sentiments, rankings, strict=True
        ):
            same_language = language == faq_language
            confidences = calibration.confidence(ranking, same_language)
            hits = [
                self._hit(int(e), int(row), score, confidence, language)
                for e, row, score, confidence in list(
                    zip(ranking.entries, ranking.rows, ranking.scores, confidences, strict=True)
                )[: max(asked.k, AMBIGUOUS_UP_TO)]
            ]
            if hits and hits[0].confidence >= asked.threshold:
                answers.append(Answer(question, language, hits[0], hits[: asked.k], feeling))
                continue
            reason, offered = calibration.no_match(ranking, language, same_language, asked.threshold)
            default = self.index.manifest.default_answer
            answers.append(Answer(question, language, None, hits[: asked.k], feeling, reason, hits[:offered], default))
        return answers

    def _hit(self, entry_index: int, row: int, score: float, confidence: float, language: str) -> Hit:
        entry = self.index.entries[entry_index]
        answer, answer_language = entry.answer_in(language, self.index.manifest.language)
        return Hit(
            entry.id,
            self.index.phrasings[row],
            answer,
            answer_language,
            round(float(score), 4),
            round(float(confidence), 4),
            tuple(FollowUp(r.entry, r.text, self.index.entry(r.entry).question) for r in entry.related),
        )
