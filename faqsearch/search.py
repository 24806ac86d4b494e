"""FAQSearch: the library entry point a chatbot uses (open an index once, ask many times)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from . import langid
from .encoders import Encoder, get_encoder
from .errors import FAQSearchError, IndexUnusable
from .index import Index, open_index

MAX_K = 100


@dataclass(frozen=True)
class Hit:
    """One FAQ entry as an answer to a question."""

    id: str
    matched_question: str
    answer: str
    answer_language: str
    score: float


@dataclass(frozen=True)
class Answer:
    """The result for one question: `match` is None when nothing passed the threshold."""

    query: str
    language: str
    match: Hit | None
    candidates: list[Hit]

    def to_dict(self) -> dict:
        return asdict(self)


class FAQSearch:
    """An index plus the encoder that built it, so queries and entries share one vector space."""

    def __init__(self, index: Index, encoder: Encoder):
        self.index = index
        self.encoder = encoder

    @classmethod
    def open(cls, path: str | Path) -> FAQSearch:
        index = open_index(Path(path))
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
        return cls(index, encoder)

    @property
    def min_score(self) -> float:
        """The default no-match threshold, recorded in the index by its encoder."""
        return self.index.manifest.min_score

    def ask(self, question: str, k: int = 1, min_score: float | None = None) -> Answer:
        """The best entry for `question` (or no match), plus the k best candidates."""
        return self.ask_many([question], k=k, min_score=min_score)[0]

    def ask_many(self, questions: Sequence[str], k: int = 1, min_score: float | None = None) -> list[Answer]:
        """Answer several questions with one batched encoder call; results follow input order."""
        if not 1 <= k <= MAX_K:
            raise FAQSearchError(f"k must be between 1 and {MAX_K}, got {k}")
        questions = [" ".join(q.split()) for q in questions]
        for i, question in enumerate(questions):
            if not question:
                raise FAQSearchError(f"question {i + 1} is empty; ask something")
        threshold = self.min_score if min_score is None else min_score
        faq_language = self.index.manifest.language
        languages = [langid.detect(q, prior=faq_language) for q in questions]
        results = self.index.search(self.encoder.encode(questions, languages), k)
        answers = []
        for question, language, found in zip(questions, languages, results, strict=True):
            candidates = [self._hit(entry, row, score, language) for entry, row, score in found]
            match = candidates[0] if candidates and candidates[0].score >= threshold else None
            answers.append(Answer(question, language, match, candidates))
        return answers

    def _hit(self, entry_index: int, row: int, score: float, language: str) -> Hit:
        entry = self.index.entries[entry_index]
        answer, answer_language = entry.answer_in(language, self.index.manifest.language)
        return Hit(entry.id, self.index.phrasings[row], answer, answer_language, round(score, 4))
