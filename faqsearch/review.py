"""Choosing which of the questions customers asked are most worth the FAQ owner's label
(`faqsearch review`, the review page).

A label is worth most where the index is unsure and where it speaks for many questions. The
logged questions are asked again of the index as it is now (a log may come from an earlier
version), and:
- those already in the FAQ (as phrasings or `no_match`) are left out, and those it answers with
  confidence >= CONFIDENT are offered apart, to accept all at once with the entry they got
  (94-100% right on public sets: a look at each would cost more than it finds);
- near-duplicates (aligned cosine >= SAME, in any language: a question and its translation) form
  one group, listed once, by its most asked question; a label on it covers the whole group;
- each language gets its `per_language` labels, so every language customers write in is
  represented, spent where they bring its unsure questions nearest to the FAQ (`_covering`: a
  label on a question that speaks for many unsure ones is worth more than one on an outlier);
- the suggested label is what the bot's feedback said, else the best candidate.
Unanswered groups that no entry comes near (best score below UNCOVERED) are listed apart as new
entry suggestions. The constants were chosen by benchmarks/review.py on public traffic (BENCHMARKS.md).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import FAQSearchError, InputFileError
from .search import MAX_K, FAQSearch, clean_question

CONFIDENT = 0.8
SAME = 0.95
UNCOVERED = 0.5
NEW_ENTRY_MIN = 2  # questions in a group before it is suggested as a new entry
CANDIDATES = 3  # shown with each question
EXAMPLES = 5  # questions shown per new entry suggestion
MAX_QUESTIONS = 20_000  # distinct questions read (the most asked first): grouping is quadratic
BLOCK = 1024  # questions compared with all the others in one matrix product
WEIGHED = 2_000  # a language's neediest questions weighed against each other (x 30 labels: ~1 s)
# The review page asks on the server's worker, which the stuck-job watchdog ends after 60 s: at
# ~250 questions/s on 2 cores, this many take ~20 s.
SERVED_MAX_QUESTIONS = 5_000
NONE, NEW = "none", "new"  # labels that are not an entry id


@dataclass(frozen=True)
class Logged:
    """A distinct question as customers asked it: how often, and what the bot's feedback said
    its label is (an entry id or NONE; None without feedback)."""

    question: str
    language: str
    count: int = 1
    feedback: str | None = None


@dataclass(frozen=True)
class Item:
    """One question to label, with what it stands for."""

    question: str
    language: str
    represents: int  # logged questions its label covers (its group, repeats counted)
    covers: list[tuple[str, str]]  # the group's other questions (text, language)
    candidates: list[tuple[str, float]]  # best entries with their confidence
    suggested: str  # entry id or NONE: the feedback's label, else the best candidate
    reason: str  # why it is uncertain: no match reason, or "unsure"
    worth: float  # how much nearer to the FAQ its label brings unsure questions (`_covering`)


@dataclass(frozen=True)
class NewEntry:
    """Unanswered questions that no entry covers, alike enough to be one new entry."""

    count: int
    languages: dict[str, int]
    examples: list[str]


@dataclass
class Review:
    items: list[Item]
    new_entries: list[NewEntry]
    left_out: dict[str, int] = field(default_factory=dict)  # why -> how many distinct questions
    # Questions answered with confidence >= CONFIDENT: (question, language, entry answered). Not
    # worth a look each, but accepted as phrasings they teach the FAQ its customers' words: on
    # public traffic they added more than a look at each unsure one (BENCHMARKS.md).
    confident: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def merge(logged: list[Logged]) -> list[Logged]:
    """Repeats (case and spacing ignored) as one question with their count, the most asked first;
    the latest feedback wins."""
    counts: Counter[str] = Counter()
    first: dict[str, Logged] = {}
    feedback: dict[str, str] = {}
    for item in logged:
        key = " ".join(item.question.split()).casefold()
        counts[key] += item.count
        first.setdefault(key, item)
        if item.feedback is not None:
            feedback[key] = item.feedback
    return [Logged(first[key].question, first[key].language, n, feedback.get(key)) for key, n in counts.most_common()]


def groups(vectors: np.ndarray, order: list[int], similar: float) -> list[list[int]]:
    """Greedy near-duplicate groups over unit `vectors`: in `order`, each question not yet
    grouped gathers those not yet grouped within cosine `similar`. The pairs are found by blocks
    of matrix products (20,000 questions: seconds), not one product per question."""
    near: list[list[int]] = [[] for _ in range(len(vectors))]
    for start in range(0, len(vectors), BLOCK):
        rows, columns = np.nonzero(vectors[start : start + BLOCK] @ vectors.T >= similar)
        for row, column in zip((rows + start).tolist(), columns.tolist(), strict=True):
            if row != column:
                near[row].append(column)
    free = np.ones(len(vectors), dtype=bool)
    found = []
    for i in order:
        if free[i]:
            members = [i, *(j for j in near[i] if free[j])]
            free[members] = False
            found.append(members)
    return found


def choose(
    search: FAQSearch, logged: list[Logged], per_language: int, known: set[str], most: int = MAX_QUESTIONS
) -> Review:
    """The questions most worth a label, `per_language` at most per language, best first; and
    the new entry suggestions. `known`: texts already in the FAQ (casefolded); `most`: how many
    distinct questions are read, the most asked first."""
    left_out: Counter[str] = Counter()
    questions: list[Logged] = []
    for item in merge(logged):
        try:
            text = clean_question(item.question)
        except ValueError:
            left_out["not a question faqsearch answers (empty, too long or not text)"] += 1
            continue
        if text.casefold() in known:
            left_out["already in the FAQ"] += 1
        elif len(questions) >= most:
            left_out[f"past the {most:,} most asked"] += 1
        else:
            questions.append(Logged(text, item.language, item.count, item.feedback))
    if not questions:
        return Review([], [], dict(left_out))
    texts = [q.question for q in questions]
    asked = search.prepare(texts, k=min(CANDIDATES, MAX_K))
    languages = asked.languages  # as the log recorded them: the same detection
    vectors = search.encoder.encode(texts, languages)
    answers = search.answer(asked, vectors)
    aligned = search.index.retriever.align(vectors, languages)
    aligned /= np.maximum(np.linalg.norm(aligned, axis=1, keepdims=True), 1e-12)
    entries = {e.id for e in search.index.entries}
    open_questions = []
    confident = []
    for i, answer in enumerate(answers):
        if answer.match is not None and answer.match.confidence >= CONFIDENT:
            left_out[f"answered with confidence >= {CONFIDENT}"] += 1
            confident.append((questions[i].question, languages[i], answer.match.id))
        else:
            open_questions.append(i)
    items, representatives = [], []
    by_count = sorted(range(len(open_questions)), key=lambda k: -questions[open_questions[k]].count)
    for members in groups(aligned[open_questions], by_count, SAME):
        members = [open_questions[m] for m in members]
        first, answer = members[0], answers[members[0]]
        feedback = next((questions[m].feedback for m in members if questions[m].feedback in entries | {NONE}), None)
        best = answer.candidates[0].id if answer.candidates else NONE
        representatives.append(first)
        items.append(
            Item(
                question=questions[first].question,
                language=languages[first],
                represents=sum(questions[m].count for m in members),
                covers=[(questions[m].question, languages[m]) for m in members[1:]],
                candidates=[(h.id, h.confidence) for h in answer.candidates],
                suggested=feedback or (NONE if answer.no_match == "off_topic" else best),
                reason=answer.no_match or "unsure",
                worth=0.0,
            )
        )
    need = np.array([q.count * (1 - best_confidence(a)) for q, a in zip(questions, answers, strict=True)])
    reached = np.array([_best_score(a) for a in answers])
    chosen = []
    for language in dict.fromkeys(languages[i] for i in open_questions):
        mine = [k for k, item in enumerate(items) if item.language == language]
        targets = [i for i in open_questions if languages[i] == language]
        mine = sorted(mine, key=lambda k: -need[representatives[k]])[:WEIGHED]
        targets = sorted(targets, key=lambda i: -need[i])[:WEIGHED]
        chosen += _covering(
            [items[k] for k in mine],
            aligned[[representatives[k] for k in mine]] @ aligned[targets].T,
            need[targets],
            reached[targets],
            per_language,
        )
    chosen.sort(key=lambda item: -item.worth)
    uncovered = [i for i in open_questions if answers[i].match is None and _best_score(answers[i]) < UNCOVERED]
    return Review(chosen, _new_entries(questions, languages, aligned, uncovered), dict(left_out), confident)


def _best_score(answer) -> float:
    return answer.candidates[0].score if answer.candidates else 0.0


def best_confidence(answer) -> float:
    """The confidence of an answer's best candidate (0 without one): how sure the index is."""
    return answer.candidates[0].confidence if answer.candidates else 0.0


def _covering(
    items: list[Item], similarity: np.ndarray, need: np.ndarray, reached: np.ndarray, budget: int
) -> list[Item]:
    """Up to `budget` of one language's `items`, each in turn the one whose question, added as a
    phrasing, would bring the language's open questions nearest to the FAQ, beyond what it
    already reaches (`similarity`: items x questions; `need`: how often each was asked times
    how unsure the index is of it; `reached`: each question's best score now). Labels so spent
    go where many unsure questions sit, not to one odd question, and not twice to one place."""
    reached = reached.copy()
    chosen: list[Item] = []
    free = np.ones(len(items), dtype=bool)
    while len(chosen) < budget and free.any():
        gains = np.where(free, (np.maximum(similarity - reached, 0) * need).sum(1), -1.0)
        best = int(np.argmax(gains))
        free[best] = False
        reached = np.maximum(reached, similarity[best])
        chosen.append(dataclasses.replace(items[best], worth=round(float(gains[best]), 4)))
    return chosen


def _new_entries(
    questions: list[Logged], languages: list[str], aligned: np.ndarray, uncovered: list[int]
) -> list[NewEntry]:
    """Groups of NEW_ENTRY_MIN or more uncovered questions (alike at cosine SAME - 0.1), largest first."""
    by_count = sorted(range(len(uncovered)), key=lambda i: -questions[uncovered[i]].count)
    found = []
    for members in groups(aligned[uncovered], by_count, SAME - 0.1):
        members = [uncovered[m] for m in members]
        count = sum(questions[m].count for m in members)
        if count >= NEW_ENTRY_MIN:
            tongues = Counter(languages[m] for m in members for _ in range(questions[m].count))
            examples = [questions[m].question for m in members][:EXAMPLES]
            found.append(NewEntry(count, dict(tongues.most_common()), examples))
    return sorted(found, key=lambda g: -g.count)


def from_log(records: list[tuple[int, dict]], index: str, version: str) -> tuple[list[Logged], list[str]]:
    """The questions a question log recorded for the index named `index` (questionlog.read's
    lines), each with the label its feedback suggests ("helped": the entry it was answered with;
    "chose": the did-you-mean entry chosen); and notes on what was left out or read with care."""
    asked: dict[tuple[str, int], tuple[int, str | None]] = {}  # (request id, number) -> (position, entry)
    logged: list[Logged] = []
    others: Counter[str] = Counter()
    earlier = 0
    for _, item in records:
        if item.get("index") != index:
            others[str(item.get("index"))] += item["kind"] == "question"
            continue
        key = (item["request_id"], item.get("number", 0))
        if item["kind"] == "question":
            asked[key] = (len(logged), item.get("entry"))
            logged.append(Logged(item["question"], str(item.get("language") or "")))
            earlier += item.get("version") != version
        elif key in asked and item["feedback"] in ("helped", "chose"):
            position, answered = asked[key]
            label = item.get("entry") if item["feedback"] == "chose" else answered
            logged[position] = dataclasses.replace(logged[position], feedback=label)
    notes = [f"{n:,} questions asked of another index (`{name}`) left out" for name, n in others.items() if n]
    if earlier:
        notes.append(
            f"{earlier:,} questions were asked of another version of `{index}`: asked again of this one, "
            "their feedback kept where its entry still exists"
        )
    return logged, notes


def choose_from_log(
    log: Path, search: FAQSearch, name: str, per_language: int, most: int = MAX_QUESTIONS
) -> tuple[Review, list[str]]:
    """`choose` over the questions the question log at `log` recorded for the index `search`
    serves as `name`, with notes on what was left out (the command and the review page)."""
    from .faqs import load_faqs
    from .questionlog import read

    logged, notes = from_log(list(read(log)), name, search.index.manifest.built_at)
    if not logged:
        message = f"holds no question asked of the index `{name}`; pass the --index it logged"
        raise InputFileError(str(log), message)
    known = {p.casefold() for e in search.index.entries for p in e.phrasings}
    try:
        known |= {text.casefold() for text, _ in load_faqs(search.index.manifest.source_path).no_match}
    except FAQSearchError:
        notes.append("the FAQ file this index was built from cannot be read: its no_match questions may be listed")
    return choose(search, logged, per_language, known, most), notes
