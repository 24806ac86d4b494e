"""The question log (`serve`/`ask --question-log`) and POST /feedback: every question is logged,
redacted and private, with what it was answered; feedback is checked against the answer it
names and logged after it; a bad one gets a one-line 4xx and writes nothing."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from faqsearch import questionlog
from faqsearch.errors import InputFileError
from faqsearch.search import Answer, Hit
from faqsearch.serving import service
from faqsearch.serving.app import create_app
from faqsearch.serving.feedback import Recent
from faqsearch.serving.tenants import Tenants

QUESTION_KEYS = {"time", "kind", "request_id", "number", "index", "version", "question", "language", "entry",
                 "confidence", "no_match", "candidates", "did_you_mean"}  # fmt: skip
FEEDBACK_KEYS = {"time", "kind", "request_id", "number", "index", "feedback", "entry"}


def served(index: Path, question_log: Path | None, token: str | None = None) -> TestClient:
    """The small FAQ's index served with this question log, and no unanswered log."""
    return TestClient(create_app(Tenants({"shop": index}), None, token, question_log=question_log))


@pytest.fixture
def question_log(workdir) -> Path:
    return workdir / "questions.jsonl"


@pytest.fixture
def client(shop_index, question_log):
    with served(shop_index, question_log) as c:
        yield c


def lines(path: Path) -> list[dict]:
    return [item for _, item in questionlog.read(path)]


def drained(client: TestClient) -> None:
    """Wait for the question log lines of the answers given so far: they are written on the worker
    thread after the answers are sent, and feedback is handled on that thread after them."""
    assert client.post("/feedback", json={"request_id": "drain", "feedback": "helped"}).status_code == 404


def hit(entry: str, confidence: float = 0.5) -> Hit:
    return Hit(entry, "a phrasing", "an answer", "en", confidence, confidence)


def test_every_question_served_is_logged_redacted_and_private(client, question_log, shop_index, monkeypatch):
    """A batch answered over several rounds (one question a round here) keeps its numbers."""
    monkeypatch.setattr(service, "ROUND_COST", 1)
    questions = ["where is my order", "mail me at jane@example.com about order 99887766, what is the weather"]
    response = client.post("/ask/batch", json={"questions": questions, "k": 5}, headers={"x-request-id": "chat-1"})
    answers = response.json()["answers"]
    assert client.post("/ask", json={"question": "how do I reset my password"}).status_code == 200
    drained(client)
    logged = lines(question_log)
    assert [set(line) for line in logged] == [QUESTION_KEYS] * 3 and {line["kind"] for line in logged} == {"question"}
    first, second, third = logged
    assert [first["request_id"], first["number"], second["request_id"], second["number"]] == ["chat-1", 0, "chat-1", 1]
    assert third["request_id"] not in ("chat-1", "-") and third["number"] == 0
    version = json.loads((shop_index / "manifest.json").read_text())["built_at"]
    assert {line["index"] for line in logged} == {"shop"} and {line["version"] for line in logged} == {version}
    assert first["question"] == "where is my order" and first["entry"] == "track-order" and first["no_match"] is None
    assert first["candidates"] == [[c["id"], c["confidence"]] for c in answers[0]["candidates"][:3]]
    assert len(first["candidates"]) == 3 and first["confidence"] == answers[0]["candidates"][0]["confidence"]
    assert second["question"] == "mail me at [email] about order [number], what is the weather"
    assert second["entry"] is None and second["no_match"] == answers[1]["no_match"] is not None
    assert second["did_you_mean"] == [h["id"] for h in answers[1]["did_you_mean"]]
    assert third["entry"] == "reset-password" and third["language"] == "en"
    assert question_log.stat().st_mode & 0o777 == 0o600


def test_feedback_is_logged_after_its_question(client, question_log):
    response = client.post("/ask/batch", json={"questions": ["where is my order", "reset my password"], "k": 2})
    request_id = response.headers["x-request-id"]
    chosen = response.json()["answers"][1]["candidates"][1]["id"]
    helped = client.post("/feedback", json={"request_id": request_id, "feedback": "helped"})
    assert helped.status_code == 200 and helped.json() == {"status": "recorded"}
    body = {"request_id": request_id, "feedback": "chose", "entry": chosen, "number": 1}
    assert client.post("/feedback", json=body).status_code == 200
    assert client.post("/feedback", json={"request_id": request_id, "feedback": "not_helped"}).status_code == 200
    logged = lines(question_log)
    assert [line["kind"] for line in logged] == ["question", "question", "feedback", "feedback", "feedback"]
    assert all(set(line) == FEEDBACK_KEYS for line in logged[2:])
    fields = [(x["request_id"], x["number"], x["index"], x["feedback"], x["entry"]) for x in logged[2:]]
    assert fields == [
        (request_id, 0, "shop", "helped", None),
        (request_id, 1, "shop", "chose", chosen),
        (request_id, 0, "shop", "not_helped", None),
    ]


def test_bad_feedback_gets_a_one_line_4xx_and_writes_nothing(client, question_log):
    response = client.post("/ask", json={"question": "where is my order", "k": 2})
    request_id, shown = response.headers["x-request-id"], [c["id"] for c in response.json()["candidates"]]
    unshown = next(e for e in ("track-order", "reset-password", "cancel-subscription") if e not in shown)
    drained(client)
    before = question_log.read_bytes()
    cases = [
        ({"request_id": "nope", "feedback": "helped"}, 404, "request_id: this server gave no answer with the id"),
        ({"request_id": request_id, "feedback": "helped", "number": 1}, 400, "number: that request asked 1 question"),
        ({"request_id": request_id, "feedback": "chose", "entry": unshown}, 400, f"entry: '{unshown}' was not shown"),
        ({"request_id": request_id, "feedback": "chose"}, 422, "entry: is required with feedback `chose`"),
        ({"request_id": request_id, "feedback": "helped", "entry": shown[0]}, 422, "entry: is only given with"),
        ({"request_id": request_id, "feedback": "great"}, 422, "feedback: Input should be 'helped', 'not_helped'"),
        ({"request_id": request_id, "feedback": "helped", "number": -1}, 422, "number: Input should be greater"),
        ({"request_id": request_id, "feedback": "helped", "number": True}, 422, "number: Input should be a valid int"),
        ({"request_id": request_id, "feedback": "helped", "stars": 5}, 422, "stars: Extra inputs are not permitted"),
        ({"request_id": "", "feedback": "helped"}, 422, "request_id: String should have at least 1 character"),
        ({"feedback": "helped"}, 422, "request_id: Field required"),
        ([request_id], 422, "body: must be a JSON object"),
    ]
    for body, status, message in cases:
        response = client.post("/feedback", json=body)
        assert response.status_code == status, (body, response.text)
        assert list(response.json()) == ["error"] and message in response.json()["error"], response.text
        assert "\n" not in response.text
    assert question_log.read_bytes() == before


def test_feedback_needs_the_token_and_a_question_log(shop_index):
    with served(shop_index, None, token="s3cret") as client:
        body = {"request_id": "chat-1", "feedback": "helped"}
        assert client.post("/feedback", json=body).status_code == 401
        refused = client.post("/feedback", json=body, headers={"authorization": "Bearer s3cret"})
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "this server keeps no question log, so it takes no feedback; start it with `--question-log FILE`"
    }


def test_a_question_log_that_cannot_be_written_costs_a_warning_not_the_answer(shop_index, question_log, caplog):
    os.mkfifo(question_log)  # opened for writing, a FIFO without a reader would block the worker
    with served(shop_index, question_log) as client, caplog.at_level(logging.WARNING):
        answered = client.post("/ask", json={"question": "where is my order"})
        assert answered.status_code == 200 and answered.json()["match"]["id"] == "track-order"
        body = {"request_id": answered.headers["x-request-id"], "feedback": "helped"}
        unrecorded = client.post("/feedback", json=body)
    assert f"cannot append to the question log {question_log}" in caplog.text
    assert unrecorded.status_code == 503 and "the question log cannot be written now" in unrecorded.json()["error"]


def test_ask_logs_one_line_per_question_under_one_request_id(cli, shop_index, question_log):
    for _ in range(2):
        result = cli("ask", "--question-log", str(question_log), "where is my order", "my card 4111 1111 1111 1111")
        assert result.exit_code == 0 and "track-order" in result.stdout
    logged = lines(question_log)
    assert [line["number"] for line in logged] == [0, 1, 0, 1] and all(set(x) == QUESTION_KEYS for x in logged)
    ids = [line["request_id"] for line in logged]
    assert ids[0] == ids[1] != ids[2] == ids[3] and len(ids[0]) == 32
    assert logged[1]["question"] == "my card [card]" and logged[0]["entry"] == "track-order"
    assert logged[0]["index"] == "shop"
    assert logged[0]["version"] == json.loads((shop_index / "manifest.json").read_text())["built_at"]
    assert question_log.stat().st_mode & 0o777 == 0o600


def test_ask_answers_even_when_the_log_cannot_be_written(cli, shop_index, workdir):
    result = cli("ask", "--question-log", str(workdir), "where is my order")  # a folder: appending fails
    assert result.exit_code == 0 and "track-order" in result.stdout
    assert f"warning: cannot append to the question log {workdir}" in result.stderr


def test_the_retention_must_be_at_least_a_day(cli, workdir):
    result = cli("serve", "--question-log-days", "0")
    assert result.exit_code == 2 and "--question-log-days" in result.stderr


def test_the_question_log_rotates_and_prunes_as_the_unanswered_log(tmp_path):
    log = questionlog.Log(tmp_path / "questions.jsonl", max_bytes=1500)
    for i in range(10):
        log.questions(f"r{i}", "shop", "v1", [Answer(f"question {i}", "en", None, [hit("a")], no_match="off_topic")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["questions.jsonl", "questions.jsonl.1"]
    assert all((tmp_path / name).stat().st_mode & 0o777 == 0o600 for name in ("questions.jsonl", "questions.jsonl.1"))
    old = {"time": "2000-01-01T00:00:00+00:00", "kind": "feedback", "request_id": "r0", "feedback": "helped"}
    log.path.write_text(json.dumps(old) + "\n")
    questionlog.Log(log.path, days=30).feedback("r9", 0, "shop", "helped", None)
    assert [line["request_id"] for line in lines(log.path)] == ["r9"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "questions.jsonl:2: not a line `faqsearch serve --question-log FILE`"),
        ('{"question": "hi", "request_id": "r"}', "questions.jsonl:2: kind: must be question or feedback"),
        ('{"kind": "question", "request_id": "r"}', "questions.jsonl:2: question: missing or not text"),
        ('{"kind": "feedback", "request_id": "r"}', "questions.jsonl:2: feedback: missing or not text"),
        # what a review hashes and compares: a list or mapping there would stop it with a traceback
        ('{"kind": "feedback", "request_id": "r", "feedback": "helped", "number": [0]}', ":2: number: must be a whole"),
        ('{"kind": "question", "request_id": "r", "question": "hi", "number": true}', ":2: number: must be a whole"),
        ('{"kind": "feedback", "request_id": "r", "feedback": "chose", "entry": ["a"]}', ":2: entry: must be an entry"),
    ],
)
def test_reading_a_log_names_the_bad_line_and_the_fix(tmp_path, text, message):
    path = tmp_path / "questions.jsonl"
    good = {"time": "t", "kind": "question", "request_id": "r", "question": "hi"}
    path.write_text(json.dumps(good) + "\n" + text + "\n\n")
    with pytest.raises(InputFileError) as error:
        list(questionlog.read(path))
    assert message in str(error.value) and "remove the line, or pass a question log" in str(error.value)
    with pytest.raises(InputFileError, match="no question log here yet; `faqsearch serve --question-log FILE`"):
        list(questionlog.read(tmp_path / "none.jsonl"))


def test_recent_answers_are_bounded_by_requests_and_by_entry_ids():
    recent = Recent(max_requests=3, max_ids=9)
    two = Answer("q", "en", None, [hit("a"), hit("b")], did_you_mean=[hit("b")])
    for i in range(4):
        recent.add(f"r{i}", "shop", 0, [two])
    assert list(recent.answered) == ["r1", "r2", "r3"] and recent.get("r3").shown == [("a", "b")]
    recent.add("r3", "shop", 1, [two, two])  # the rest of r3, answered in a later round
    assert list(recent.answered) == ["r2", "r3"] and len(recent.get("r3").shown) == 3 and recent.ids == 8
    recent.add("big", "shop", 0, [Answer("q", "en", None, [hit(str(n)) for n in range(12)])])
    assert list(recent.answered) == ["big"] and recent.ids == 12  # the newest is kept whatever it holds
    recent.add("big", "shop", 5, [two])  # not the next part of `big`: ignored
    assert len(recent.get("big").shown) == 1


def test_ray_serve_refuses_feedback_with_a_4xx(tmp_path):
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed: pip install -e '.[cluster]'")
    from faqsearch.serving.app import build_app
    from faqsearch.serving.cluster import Remote

    with TestClient(build_app(Remote(None, Tenants(root=tmp_path)))) as client:
        response = client.post("/feedback", json={"request_id": "chat-1", "feedback": "helped"})
    assert response.status_code == 409 and "Ray Serve keeps no question log" in response.json()["error"]
