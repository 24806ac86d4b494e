"""Retrieve, then aggregate: pooling, bounded retrieval, tag filters, and a confidence that
agrees with the ranking and stays sane on FAQs that cannot support a fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import yaml
from conftest import EXAMPLE_FAQ

from faqsearch import FAQSearch, load_faqs, retrieval
from faqsearch.build import build_index
from faqsearch.classifier import WEIGHT
from faqsearch.confidence import features, first_features
from faqsearch.encoders import get_encoder
from faqsearch.errors import FAQSearchError
from faqsearch.pooling import POOL, pool


def pool_one(cosines, rows, row_entry, sizes, complete, hidden=None):
    """One question's pooling; `hidden`: entry -> how many of its phrasings the question hides."""
    counts = (np.array(sorted(hidden)), np.array([hidden[e] for e in sorted(hidden)])) if hidden else None
    return pool(cosines[None, :], rows[None, :], row_entry, sizes, complete, counts).ranking(0)


def test_an_entry_scores_as_the_mean_of_its_pool_nearest_retrieved_phrasings():
    row_entry = np.array([0, 0, 0, 0, 1, 2, 2])
    sizes = np.bincount(row_entry)
    cosines = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    rows = np.array([0, 4, 1, 5, 2])  # entry 0: 0.9, 0.7, 0.5 (3 of 4); entry 1: 0.8; entry 2: 0.6 (1 of 2)
    ranking = pool_one(cosines, rows, row_entry, sizes, complete=False)
    assert ranking.entries.tolist() == [1, 0, 2]
    # entry 2's second phrasing was not retrieved: it counts at the lowest retrieved cosine (0.5)
    np.testing.assert_allclose(ranking.scores, [0.8, (0.9 + 0.7 + 0.5) / POOL, (0.6 + 0.5) / 2], rtol=1e-6)
    assert ranking.rows.tolist() == [4, 0, 5]
    assert ranking.rest == 0.5
    cosines, rows = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]), np.array([0, 4, 1, 5, 2, 3, 6])
    every = pool_one(cosines, rows, row_entry, sizes, True)
    assert every.rest == 0.0 and every.entries.tolist() == [1, 0, 2]
    np.testing.assert_allclose(every.scores, [0.8, (0.9 + 0.7 + 0.5) / POOL, (0.6 + 0.3) / 2], rtol=1e-6)


def _pool_one_by_one(cosines, rows, row_entry, sizes, complete, hidden, probabilities):
    """The per-question loop the batched pool replaced (and the classifier's boost after it): the reference."""
    found = rows >= 0
    cosines, rows = cosines[found], rows[found]
    floor = 0.0 if complete or not len(rows) else float(cosines[-1])
    nearest: dict[int, list] = {}
    for cosine, row, entry in zip(cosines.tolist(), rows.tolist(), row_entry[rows].tolist(), strict=True):
        if entry not in nearest:
            nearest[entry] = [row, [cosine]]
        elif len(nearest[entry][1]) < POOL:
            nearest[entry][1].append(cosine)
    scored = []
    for entry, (row, best) in nearest.items():
        need = min(int(sizes[entry]) - hidden.get(entry, 0), POOL)
        scored.append(((sum(best) + (need - len(best)) * floor) / need, entry, row))
    scored.sort(key=lambda item: -item[0])
    entries = np.array([e for _, e, _ in scored], dtype=np.int64)
    scores = np.array([score for score, _, _ in scored], dtype=np.float32)
    best_rows = np.array([r for _, _, r in scored], dtype=np.int64)
    if probabilities is not None:
        scores = scores + WEIGHT * probabilities[entries]
        order = np.argsort(-scores, kind="stable")
        entries, scores, best_rows = entries[order], scores[order], best_rows[order]
    return entries, scores, best_rows, floor, cosines


@pytest.mark.parametrize("complete", [False, True])
@pytest.mark.parametrize("votes", [False, True])
def test_pooling_a_batch_gives_each_question_what_pooling_it_alone_gave(complete, votes):
    """Bit for bit, ties (equal cosines, equal pooled scores) and hidden phrasings included."""
    rng = np.random.default_rng(7)
    row_entry = np.sort(rng.integers(0, 12, 60))
    sizes = np.bincount(row_entry, minlength=12)
    questions, depth = 40, 25
    cosines = -np.sort(-rng.choice([0.9, 0.8, 0.8, 0.7, 0.5, 0.5, 0.3], (questions, depth)), axis=1).astype(np.float32)
    rows = np.stack([rng.permutation(60)[:depth] for _ in range(questions)])
    rows[rng.random(rows.shape) < 0.15] = -1  # hidden or past the end
    hidden = [{int(e): int(rng.integers(1, 3)) for e in rng.choice(12, 2)} if q % 3 else {} for q in range(questions)]
    keys = [(q * 12 + e, n) for q, h in enumerate(hidden) for e, n in h.items() if n < sizes[e]]
    hidden = [{e: n for e, n in h.items() if n < sizes[e]} for h in hidden]
    counts = (np.array([k for k, _ in sorted(keys)]), np.array([n for _, n in sorted(keys)]))
    probabilities = rng.dirichlet(np.ones(12), questions).astype(np.float32) if votes else None
    batch = pool(cosines, rows, row_entry, sizes, complete, counts, probabilities)
    for q in range(questions):
        ranking = batch.ranking(q)
        vote = None if probabilities is None else probabilities[q]
        one = _pool_one_by_one(cosines[q], rows[q], row_entry, sizes, complete, hidden[q], vote)
        assert ranking.entries.tolist() == one[0].tolist()
        assert ranking.scores.tobytes() == one[1].tobytes()
        assert ranking.rows.tolist() == one[2].tolist()
        assert ranking.rest == one[3] and ranking.retrieved.tobytes() == one[4].tobytes()


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> FAQSearch:
    directory = tmp_path_factory.mktemp("indexes") / "en"
    return FAQSearch.open(build_index(load_faqs(EXAMPLE_FAQ), get_encoder("e5"), directory).index.path)


def test_retrieval_goes_deeper_until_k_entries_are_found(example, monkeypatch):
    """A question never compares with the whole index, but always gets k entries where k exist."""
    monkeypatch.setattr(retrieval, "RETRIEVE", 3)
    answer = example.ask("how do I cancel my subscription", k=10)
    assert len({hit.id for hit in answer.candidates}) == 10


def test_questions_searched_and_pooled_in_blocks_get_what_they_get_together(example, monkeypatch):
    """A build's fit asks thousands of questions, SEARCH_ROWS searched and RANK_ROWS pooled at a
    time (their temporaries grow with the batch): each block must get its own questions' hidden
    rows, votes and hidden background sentences, and so must the background measured apart."""
    questions = [p for entry in example.index.entries for p in entry.phrasings][:40]
    english = ["en"] * len(questions)
    vectors = get_encoder("e5").encode(questions, english)
    retriever = example.index.retriever
    nearest = retriever.background.search(retriever.weigh(retriever.align(vectors, english), english), 2)[1]
    hidden = retrieval.LeaveOut(
        rows=[np.array([i, i + 1]) for i in range(len(questions))],
        votes=np.random.default_rng(0).dirichlet(np.ones(len(example.index.entries)), len(questions)),
        background=[nearest[i] if i % 2 else np.zeros(0, np.int64) for i in range(len(questions))],
    )
    together = retriever.rank(vectors, english, leave_out=hidden)
    monkeypatch.setattr(retrieval, "SEARCH_ROWS", 16)
    monkeypatch.setattr(retrieval, "RANK_ROWS", 7)
    blocks = retriever.rank(vectors, english, leave_out=hidden)
    assert len(blocks) == len(together) == 40
    apart = retriever.near_backgrounds(vectors, english, hidden.background)  # as the fit measures it, in a thread
    assert apart.tolist() == [ranking.background for ranking in together]
    assert together[1].background != retriever.rank(vectors[1:2], english[:1])[0].background  # hiding counts
    for one, other in zip(blocks, together, strict=True):
        assert np.array_equal(one.entries, other.entries) and np.array_equal(one.rows, other.rows)
        assert np.array_equal(one.scores, other.scores) and one.background == other.background


def test_the_fit_reads_each_questions_first_candidate_as_its_ranking_has_it(example, monkeypatch):
    """A build's confidence fit reads only each question's first entry and its features
    (Retriever.firsts, arrays over the batch): they must be its ranking's, in blocks,
    for a first entry with no second (measured against `rest`) and for a question that finds none."""
    monkeypatch.setattr(retrieval, "RETRIEVE", 2)  # itself hidden, two phrasings found: one entry or two
    monkeypatch.setattr(retrieval, "SEARCH_ROWS", 16)
    monkeypatch.setattr(retrieval, "RANK_ROWS", 7)
    questions = [p for entry in example.index.entries for p in entry.phrasings][:30]
    vectors = get_encoder("e5").encode(questions, ["en"] * len(questions))
    retriever, english = example.index.retriever, ["en"] * len(questions)
    hidden = retrieval.LeaveOut(rows=[np.array([i]) for i in range(len(questions))])
    rankings = retriever.rank(vectors, english, leave_out=hidden)
    firsts = retriever.firsts(vectors, english, leave_out=hidden)
    assert 0 < sum(len(r.entries) == 1 for r in rankings) < len(questions)
    assert firsts.entries.tolist() == [r.entries[0] for r in rankings]
    assert np.array_equal(first_features(firsts), np.array([features(r)[0] for r in rankings]))
    everything = retrieval.LeaveOut(rows=[np.arange(retriever.vectors.ntotal)])
    assert not len(retriever.rank(vectors[:1], ["en"], leave_out=everything)[0].entries)
    assert retriever.firsts(vectors[:1], ["en"], leave_out=everything).entries.tolist() == [-1]


def test_tags_restrict_answers_inside_the_search(example, cli):
    data = yaml.safe_load(EXAMPLE_FAQ.read_text())
    tagged = [e["id"] for e in data["faqs"] if "billing" in e.get("tags", [])]
    assert len(tagged) >= 3
    faq = example
    answer = faq.ask("where is my parcel", k=len(tagged), tags=["billing"])
    assert sorted(hit.id for hit in answer.candidates) == sorted(tagged)  # k results when k such entries exist
    assert faq.ask("where is my parcel").candidates[0].id not in tagged
    with pytest.raises(FAQSearchError, match=r"no entry carries the tag 'tenant-x'; tags in this index: .*billing"):
        faq.ask("where is my parcel", tags=["tenant-x"])
    index = str(example.index.path)
    result = cli("ask", "--index", index, "--tag", "billing", "--tag", "nope", "where is my parcel")
    assert result.exit_code == 2 and "no entry carries the tag 'nope'" in result.stderr
    result = cli("ask", "--index", index, "--tag", "billing", "-k", "2", "--json", "where is my parcel")
    assert result.exit_code == 0
    assert all(c["id"] in tagged for c in yaml.safe_load(result.stdout)["candidates"])


def test_a_phrasing_hidden_from_its_own_question_is_not_counted_as_missing():
    """The build asks each phrasing with itself left out: an entry of 3 must then score as the
    mean of its other 2 (as an entry of 2 would), not with a third at the lowest cosine, which
    made few-phrasing FAQs look harder than real questions find them."""
    row_entry = np.array([0, 0, 0, 1])
    cosines, rows = np.array([0.8, 0.6, 0.2]), np.array([1, 2, 3])  # row 0 hidden
    hidden = pool_one(cosines, rows, row_entry, np.bincount(row_entry), complete=False, hidden={0: 1})
    assert hidden.scores[0] == pytest.approx((0.8 + 0.6) / 2)
    missing = pool_one(cosines, rows, row_entry, np.bincount(row_entry), complete=False)
    assert missing.scores[0] == pytest.approx((0.8 + 0.6 + 0.2) / 3)


def test_a_one_entry_faq_does_not_answer_everything(workdir, cli):
    faq = workdir / "one.yaml"
    faq.write_text(
        "language: en\nfaqs:\n  - id: refund\n    question: How do I get a refund?\n    alternatives:\n"
        "      - I want my money back\n      - Can I return my purchase?\n    answer: Write to us.\n"
    )
    result = cli("build", str(faq))
    assert result.exit_code == 0
    assert "a FAQ of 3 phrasings is too small to measure where its own in-domain questions sit" in result.stderr
    answer = FAQSearch.open(workdir / "indexes" / "one").ask("what's the weather tomorrow")
    assert answer.match is None and answer.candidates[0].confidence < 0.5


def test_a_faq_of_near_duplicate_entries_is_flagged_and_calibrates_sanely(workdir):
    """The example FAQ three times over (same phrasings with a typo, other ids): the build warns,
    weights stay finite, confidences are neither all 0 nor all 1, and nothing overflows."""
    data = yaml.safe_load(EXAMPLE_FAQ.read_text())
    entries = []
    for copy, suffix in enumerate(("", "?", "!")):
        for e in data["faqs"]:
            phrasings = [p + suffix for p in [e["question"], *e.get("alternatives", [])]]
            entries.append({"id": f"{e['id']}-{copy}", "question": phrasings[0], "alternatives": phrasings[1:],
                            "answer": e["answer"]})  # fmt: skip
    path = workdir / "dup.yaml"
    path.write_text(yaml.safe_dump({"language": "en", "faqs": entries}, allow_unicode=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = build_index(load_faqs(path), get_encoder("e5"), workdir / "dup")
        confidences = [a.candidates[0].confidence for a in FAQSearch(built.index, get_encoder("e5")).ask_many(
            ["how do I cancel", "tell me a joke", "wo ist mein paket", "what is premium"]
        )]  # fmt: skip
    assert any("near-identical phrasings" in note for note in built.notes)
    calibration = built.index.manifest.calibration
    for model in (calibration.same_language, calibration.other_languages):
        assert all(abs(w) < 1000 for w in model.weights) and abs(model.bias) < 1000
        assert min(model.weights[:2]) >= 0  # score and margin (the background may take any sign)
    assert not all(c in (0.0, 1.0) for c in confidences)


def test_candidates_never_show_a_higher_confidence_below_a_lower_one(example):
    faq = example
    questions = [q["question"] for q in yaml.safe_load((EXAMPLE_FAQ.parent.parent / "tests" / "queries.yaml")
                                                       .read_text())["queries"]]  # fmt: skip
    for answer in faq.ask_many(questions, k=5):
        confidences = [hit.confidence for hit in answer.candidates]
        assert confidences == sorted(confidences, reverse=True), answer.query
