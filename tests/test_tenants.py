"""`faqsearch serve --indexes-dir DIR`: many FAQs (tenants) on one server, each opened on its first
request, the open ones bounded in memory, indexes added, rebuilt and removed without a restart,
and hostile requests bounded for every tenant."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import deque
from pathlib import Path

import pytest
from conftest import SMALL_FAQ
from fastapi.testclient import TestClient

from faqsearch import load_faqs, memory
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.encoders.e5 import MAX_TOKENS
from faqsearch.errors import FAQSearchError
from faqsearch.serving import service
from faqsearch.serving.app import create_app
from faqsearch.serving.service import ROUND_COST, _Pending, cost, take_round
from faqsearch.serving.tenants import OTHER, Tenants, index_cost

QUESTION = {"question": "where is my order"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Two tenants, `acme` and `globex`, built once from the small FAQ."""
    root = tmp_path_factory.mktemp("built")
    faq = root / "shop.yaml"
    faq.write_text(SMALL_FAQ, encoding="utf-8")
    for name in ("acme", "globex"):
        build_index(load_faqs(faq), get_encoder("e5-aligned"), root / "tenants" / name)
    return root / "tenants"


@pytest.fixture
def tenants_dir(built, workdir) -> Path:
    """A copy of the built tenants (their version links are relative) for this test to change."""
    return Path(shutil.copytree(built, workdir / "tenants", symlinks=True))


def folder(root: Path, max_memory: int | None = None, labelled=frozenset()) -> Tenants:
    return Tenants.folder(root, max_memory, None, False, labelled)


@pytest.fixture
def client(tenants_dir, monkeypatch):
    monkeypatch.setattr(service, "RELOAD_SECONDS", 0.05)
    with TestClient(create_app(folder(tenants_dir), unanswered_log=None)) as c:
        yield c


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_each_tenant_answers_by_name_in_the_path_or_the_body(client):
    response = client.post("/indexes/acme/ask", json=QUESTION)
    assert response.status_code == 200 and response.json()["match"]["id"] == "track-order"
    assert client.post("/ask", json={**QUESTION, "index": "globex"}).json()["match"]["id"] == "track-order"
    batch = client.post("/indexes/globex/ask/batch", json={"questions": ["where is my order", "reset my password"]})
    assert [a["match"]["id"] for a in batch.json()["answers"]] == ["track-order", "reset-password"]


@pytest.mark.parametrize(
    ("body", "path", "status", "message"),
    [
        (QUESTION, "/ask", 400, "name the index: `index` in the body, or POST /indexes/{name}/ask"),
        ({**QUESTION, "index": "../acme"}, "/ask", 400, "'../acme' is not an index name"),
        ({**QUESTION, "index": ".acme.versions"}, "/ask", 400, "is not an index name"),
        (QUESTION, "/indexes/nope/ask", 404, "no index `nope` under"),
        (QUESTION, "/indexes/..%2Facme/ask", 400, "is not an index name"),
    ],
)
def test_a_bad_or_unknown_tenant_name_is_a_4xx(client, body, path, status, message):
    response = client.post(path, json=body)
    assert response.status_code == status and message in response.json()["error"]


def test_an_index_added_or_removed_under_the_folder_is_seen_without_a_restart(client, cli, small_faq, tenants_dir):
    assert client.post("/indexes/initech/ask", json=QUESTION).status_code == 404
    assert cli("build", str(small_faq), "--index", str(tenants_dir / "initech")).exit_code == 0
    assert client.post("/indexes/initech/ask", json=QUESTION).json()["match"]["id"] == "track-order"
    assert client.post("/indexes/globex/ask", json=QUESTION).status_code == 200
    shutil.rmtree(tenants_dir / ".globex.versions")
    (tenants_dir / "globex").unlink()
    wait_for(lambda: "globex" not in [i["name"] for i in client.get("/indexes").json()])
    assert client.post("/indexes/globex/ask", json=QUESTION).status_code == 404


def test_a_rebuilt_tenant_is_swapped_in(client, cli, small_faq, tenants_dir):
    assert client.post("/indexes/acme/ask", json=QUESTION).json()["match"]["answer"] == "Open Orders and click Track."
    small_faq.write_text(small_faq.read_text().replace("Open Orders and click Track.", "See My orders."))
    assert cli("build", str(small_faq), "--index", str(tenants_dir / "acme")).exit_code == 0
    wait_for(lambda: client.post("/indexes/acme/ask", json=QUESTION).json()["match"]["answer"] == "See My orders.")


def test_open_tenants_stay_under_the_memory_bound_least_recently_asked_closed_first(tenants_dir, cli, small_faq):
    assert cli("build", str(small_faq), "--index", str(tenants_dir / "initech")).exit_code == 0
    one = index_cost(tenants_dir / "acme")
    tenants = folder(tenants_dir)
    with TestClient(create_app(tenants, unanswered_log=None)) as client:
        tenants.budget = 2 * one + one // 2  # room for two indexes
        for name in ("acme", "globex", "acme", "initech"):
            assert client.post(f"/indexes/{name}/ask", json=QUESTION).status_code == 200
        assert list(tenants.open) == ["acme", "initech"] and tenants.used <= tenants.budget
        assert client.get("/health").json() == {"status": "ok", "indexes": 2, "stale": []}
        assert client.post("/indexes/globex/ask", json=QUESTION).status_code == 200  # opened again
        assert list(tenants.open) == ["initech", "globex"]
        tenants.budget = one // 2
        too_large = client.post("/indexes/acme/ask", json=QUESTION)
        assert too_large.status_code == 503 and "more than the" in too_large.json()["error"]


def test_max_memory_bounds_the_whole_server_the_indexes_get_what_it_leaves(tenants_dir, monkeypatch):
    one = index_cost(tenants_dir / "acme")
    monkeypatch.setattr(memory, "resident", lambda: 500 * 2**20 + one)  # the server, with its first index open
    tenants = folder(tenants_dir, max_memory=2**30)
    tenants.get("acme")
    tenants.set_budget()
    assert tenants.budget == 2**30 - 500 * 2**20
    small = folder(tenants_dir, max_memory=500 * 2**20)
    small.get("acme")
    with pytest.raises(FAQSearchError, match=r"--max-memory 500.0 MiB cannot hold the server \(500.0 MiB with"):
        small.set_budget()


def test_indexes_are_listed_a_page_at_a_time_without_opening_them(client):
    first = client.get("/indexes", params={"limit": 1}).json()
    assert [i["name"] for i in first] == ["acme"] and first[0]["open"] is True  # the server warmed up with it
    second = client.get("/indexes", params={"limit": 1, "after": "acme"}).json()
    assert [(i["name"], i["open"], i["entries"]) for i in second] == [("globex", False, 3)]
    assert client.get("/indexes", params={"after": "globex"}).json() == []
    assert client.get("/indexes", params={"limit": 0}).status_code == 422


def test_a_damaged_tenant_gets_a_503_naming_the_problem_and_the_others_keep_answering(client, tenants_dir):
    vectors = (tenants_dir / "globex").resolve() / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    response = client.post("/indexes/globex/ask", json=QUESTION)
    assert response.status_code == 503 and "vectors.faiss" in response.json()["error"]
    assert client.post("/indexes/acme/ask", json=QUESTION).status_code == 200


def test_questions_to_several_tenants_share_one_encoder_call(tenants_dir, monkeypatch):
    tenants = folder(tenants_dir)
    app = create_app(tenants, unanswered_log=None)
    served = app.state.service
    calls = []
    encoder = tenants.get("acme").faq.encoder
    encode = type(encoder).encode
    monkeypatch.setattr(
        type(encoder), "encode", lambda self, texts, langs: calls.append(len(texts)) or encode(self, texts, langs)
    )
    loop = asyncio.new_event_loop()
    try:
        options = (1, None, False, ())
        pending = [_Pending(name, ["where is my order"], options, loop.create_future()) for name in ("acme", "globex")]
        served._answer(take_round({p.name: deque([p]) for p in pending}, ROUND_COST))
        answers = loop.run_until_complete(asyncio.gather(*(p.done for p in pending)))
    finally:
        loop.close()
    assert calls == [2] and [a[0].match.id for a in answers] == ["track-order", "track-order"]


def test_tenant_metrics_are_labelled_only_when_asked_for(tenants_dir):
    with TestClient(create_app(folder(tenants_dir, labelled=frozenset({"acme"})), unanswered_log=None)) as client:
        for name in ("acme", "globex"):
            client.post(f"/indexes/{name}/ask", json=QUESTION)
        metrics = client.get("/metrics").text
    assert 'faqsearch_answers_total{index="acme",language="en",matched="True"} 1.0' in metrics
    assert f'faqsearch_answers_total{{index="{OTHER}",language="en",matched="True"}} 1.0' in metrics
    assert 'faqsearch_requests_total{endpoint="/indexes/{name}/ask",status="200"} 2.0' in metrics
    assert "globex" not in metrics


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--indexes-dir", "missing"], "--indexes-dir missing is not a folder"),
        (["--indexes-dir", "empty"], "empty holds no index"),
        (["--indexes-dir", "tenants", "--max-memory", "1KiB"], "--max-memory 1.0 KiB cannot hold even one index"),
        (
            ["--indexes-dir", "tenants", "--max-memory", "lots"],
            "--max-memory: 'lots' is not a size; write it like 2GiB",
        ),
        (["--indexes-dir", "tenants", "--index", "acme"], "give --index or --indexes-dir, not both"),
        (["--max-memory", "2GiB"], "--max-memory and --metrics-index go with --indexes-dir"),
    ],
)
def test_bad_serve_options_fail_at_start_in_one_line(cli, tenants_dir, workdir, args, message):
    (workdir / "empty").mkdir()
    result = cli("serve", *args)
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_hostile_bodies_get_a_bounded_4xx(client):
    deep = client.post(
        "/indexes/acme/ask", content=b"[" * 1000 + b"]" * 1000, headers={"content-type": "application/json"}
    )
    assert deep.status_code == 400 and "nests more than 8 levels deep" in deep.json()["error"]
    nested = client.post("/ask", json={**QUESTION, "index": "acme", "tags": [[[[[[[[["x"]]]]]]]]]})
    assert nested.status_code == 400
    long_tag = client.post("/indexes/acme/ask", json={**QUESTION, "tags": ["t" * 1_000_000]})
    assert long_tag.status_code == 422 and len(long_tag.text) < 300 and "tags[0]" in long_tag.json()["error"]
    item = client.post("/indexes/acme/ask/batch", json={"questions": ["ok", "fine", "sure", "  "]})
    assert item.status_code == 422 and item.json()["error"] == "questions[3]: is empty; ask something"


def test_a_flood_of_heavy_questions_delays_another_question_by_about_one_round():
    def pending(name: str, questions: list[str]) -> _Pending:
        return _Pending(name, questions, (1, None, False, ()), None)

    heavy, light = "字" * 1000, "where is my order"
    flood = [pending("acme", [heavy] * 64) for _ in range(3)]
    client = pending("acme", [light])
    other = pending("globex", [light, light])
    waiting = {"acme": deque([*flood, client]), "globex": deque([other])}
    first = take_round(waiting, ROUND_COST)
    assert [(p.pending, p.start, p.end) for p in first] == [(flood[0], 0, ROUND_COST // cost(heavy))]
    second = take_round(waiting, ROUND_COST)  # the other tenant first, then the next request of acme
    assert [(p.pending, p.start, p.end) for p in second][:2] == [(other, 0, 2), (flood[1], 0, 7)]
    rounds = [take_round(waiting, ROUND_COST) for _ in range(3)]
    assert any(p.pending is client for p in rounds[1])  # behind one run of each request, not 192 questions
    assert cost(heavy) == MAX_TOKENS and cost(light) < 10


def test_a_request_answered_over_several_rounds_gets_its_answers_in_order(tenants_dir):
    tenants = folder(tenants_dir)
    service = create_app(tenants, unanswered_log=None).state.service
    questions = ["字" * 1000] * 20 + ["where is my order"]
    loop = asyncio.new_event_loop()
    try:
        request = _Pending("acme", questions, (1, None, False, ()), loop.create_future())
        waiting = {"acme": deque([request])}
        rounds = 0
        while waiting:
            service._answer(take_round(waiting, ROUND_COST))
            rounds += 1
        answers = loop.run_until_complete(request.done)
    finally:
        loop.close()
    assert rounds == 3 and len(answers) == 21 and answers[-1].match.id == "track-order"
