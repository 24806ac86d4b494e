"""What a hostile (or unlucky) customer, client or operator can do to a running server, and what
they get: nothing one request or one damaged file brings stops the others. Each test replays a
case found by a probe of the service (issue #34)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import SMALL_FAQ
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from faqsearch import langid, load_faqs
from faqsearch.build import build_index
from faqsearch.encoders import get_encoder
from faqsearch.redact import redact
from faqsearch.serving import service
from faqsearch.serving.app import create_app
from faqsearch.serving.localray import free_port
from faqsearch.serving.tenants import Tenants

FAQSEARCH = str(Path(sys.executable).parent / "faqsearch")
QUESTION = {"question": "where is my order"}
# Run in a server process first: every question but the warm-up's takes an hour (a stuck worker).
STUCK_AFTER_WARM_UP = """
import time
from faqsearch.search import FAQSearch
real = FAQSearch.answer
FAQSearch.answer = lambda self, asked, *a: real(self, asked, *a) if "warm up" in asked.questions else time.sleep(3600)
"""
TURKISH = ["İS12 3456 7890 1234 is my iban, what is the weather", "Kargo kodum TR34 İSTANBUL, paketim nerede?"]
# Characters whose case folding or compatibility forms change length or script: the traps of IGNORECASE.
FOLDING = "İıKÅßẞﬁﬃſΐ\u0345ǰẖ\u1e9e\u2126\u212a\u212b\ufb00"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Two tenants built once from the small FAQ: `acme` (a link to its version, as built) and
    `globex` (a plain copy of that version)."""
    root = tmp_path_factory.mktemp("built")
    faq = root / "shop.yaml"
    faq.write_text(SMALL_FAQ, encoding="utf-8")
    acme = build_index(load_faqs(faq), get_encoder("e5-aligned"), root / "tenants" / "acme").index.path
    shutil.copytree(acme.resolve(), root / "tenants" / "globex")
    return root / "tenants"


@pytest.fixture
def tenants_dir(built, workdir) -> Path:
    return Path(shutil.copytree(built, workdir / "tenants", symlinks=True))


@pytest.fixture
def log(workdir) -> Path:
    return workdir / "unanswered.jsonl"


@pytest.fixture
def client(built, log):
    with TestClient(create_app(Tenants({"acme": built / "acme"}), unanswered_log=log)) as c:
        yield c


def answered(client: TestClient, path: str = "/ask") -> bool:
    response = client.post(path, json=QUESTION)
    return response.status_code == 200 and response.json()["match"]["id"] == "track-order"


# 1. One question must not stop every request.


def test_a_question_that_trips_the_redaction_is_logged_and_the_server_goes_on(client, log):
    for question in TURKISH:
        assert client.post("/ask", json={"question": question, "min_confidence": 1}).status_code == 200
    assert answered(client)
    logged = [json.loads(line)["question"] for line in log.read_text().splitlines()]
    assert logged == ["İS12 [phone] is my iban, what is the weather", "Kargo kodum TR34 İSTANBUL, paketim nerede?"]


@settings(max_examples=2000, deadline=None)
@given(st.text(st.one_of(st.characters(), st.sampled_from(FOLDING)), max_size=200))
def test_redaction_takes_any_text(text):
    assert isinstance(redact(text), str)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.text(st.one_of(st.characters(), st.sampled_from(FOLDING + " @-0123456789")), min_size=1))
@example(question="\ud800 İS12 3456 7890 1234 \u212a")
def test_random_unicode_from_every_plane_never_stops_the_server(client, question):
    """Through the whole request path and the unanswered log, with a short question first so
    that the log sees every kind of character (lone surrogates included, sent as JSON escapes)."""
    for asked in (question[:80], question[:1000]):
        body = json.dumps({"question": asked, "min_confidence": 1})  # ASCII: lone surrogates as \ud800
        response = client.post("/ask", content=body.encode())
        assert response.status_code in (200, 422), response.text
    assert answered(client)


def stage(client: TestClient, name: str) -> tuple[object, str]:
    """Where a stage of answering lives: (object, attribute) to break."""
    served = client.app.state.service
    faq = served.tenants.open["acme"].faq
    return {
        "checks": (faq, "prepare"),
        "language": (langid, "detect"),
        "encoder": (faq.encoder, "encode"),
        "ranking": (faq, "answer"),
        "metrics": (served.metrics.answers, "labels"),
    }[name]


@pytest.mark.parametrize("name", ["checks", "language", "encoder", "ranking", "metrics"])
def test_a_bug_at_any_stage_costs_only_its_request_a_json_500_with_its_id(client, monkeypatch, caplog, name):
    owner, attribute = stage(client, name)
    original, broken = getattr(owner, attribute), {"once": True}

    def fails_once(*args, **kwargs):
        if broken.pop("once", False):
            raise ZeroDivisionError("a bug")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, fails_once)
    with caplog.at_level(logging.ERROR):
        failed = client.post("/ask", json=QUESTION, headers={"x-request-id": "customer-42"})
    assert failed.status_code == 500 and failed.headers["x-request-id"] == "customer-42"
    assert failed.json() == {
        "error": "internal error (ZeroDivisionError); see the server log",
        "request_id": "customer-42",
    }
    assert "customer-42" in caplog.text and "ZeroDivisionError: a bug" in caplog.text
    assert answered(client)


def test_a_log_that_fails_for_any_reason_costs_a_warning_not_the_answer(client, log, monkeypatch, caplog):
    def fails(*args):
        raise ValueError("not an OSError")

    monkeypatch.setattr(service.unanswered.Log, "append", fails)
    with caplog.at_level(logging.WARNING):
        response = client.post("/ask", json={"question": "tell me a joke"})
        assert answered(client)  # the log is written after the answer is sent: by the next answer, it was
    assert response.status_code == 200 and response.json()["match"] is None
    assert "cannot append to the unanswered log" in caplog.text


def test_a_fifo_where_the_log_was_costs_a_warning_not_a_stuck_worker(client, log, caplog):
    os.mkfifo(log)  # opened for writing, a FIFO without a reader would block the worker forever
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            response = client.post("/ask", json={"question": "tell me a joke", "min_confidence": 1})
            assert response.status_code == 200 and response.json()["match"] is None
    assert "cannot append to the unanswered log" in caplog.text
    assert answered(client)


def test_a_stuck_worker_fails_health_and_is_reported(built, monkeypatch):
    """A job that never returns: /health says 503 and why, and the server is told to end
    (`faqsearch serve` ends its process, for the supervisor to restart it)."""
    monkeypatch.setattr(service, "WORKER_STUCK_SECONDS", 0.5)
    monkeypatch.setattr(service, "WATCH_SECONDS", 0.05)
    release, reported = threading.Event(), []
    original = service.FAQSearch.answer

    def stuck(*args, **kwargs):
        release.wait(30)
        return original(*args, **kwargs)

    app = create_app(Tenants({"acme": built / "acme"}), unanswered_log=None, on_failure=reported.append)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        monkeypatch.setattr(service.FAQSearch, "answer", stuck)
        asking = threading.Thread(target=client.post, args=("/ask",), kwargs={"json": QUESTION})
        asking.start()
        try:
            deadline = time.monotonic() + 10
            while not reported and time.monotonic() < deadline:
                time.sleep(0.05)
            health = client.get("/health")
        finally:
            release.set()
            asking.join(10)
        assert health.status_code == 503 and health.json()["status"] == "failing"
        assert "stuck" in health.json()["problem"] and reported == [health.json()["problem"]]
        assert client.get("/health").status_code == 200  # unstuck: healthy again


def start_server(args: list[str], cwd: Path, script: str = "") -> tuple[subprocess.Popen, str]:
    """`faqsearch serve ARGS` in its own process (after `script`, run in it first); its URL."""
    port = free_port()
    code = f"{script}\nfrom faqsearch.cli import app\napp(['serve', *{args!r}, '--port', '{port}'])"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the server did not start")


def test_sigterm_ends_a_server_whose_worker_is_stuck_within_seconds(built, workdir):
    never = STUCK_AFTER_WARM_UP
    server, url = start_server(["--index", str(built / "acme"), "--no-unanswered-log"], workdir, never)
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{url}/ask", json=QUESTION, timeout=1)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    finally:
        server.kill()


# 2. A damaged file of an open index.


@pytest.mark.parametrize("damage", ["truncate vectors", "empty background"])
def test_a_file_damaged_under_an_open_index_costs_that_tenant_a_503_not_the_server(tenants_dir, workdir, damage):
    """In a server process of its own: without the guard, reading the truncated mapping is a
    SIGBUS that ends the process, every tenant with it."""
    server, url = start_server(["--indexes-dir", str(tenants_dir), "--no-unanswered-log"], workdir)
    try:
        for name in ("acme", "globex"):
            assert httpx.post(f"{url}/indexes/{name}/ask", json=QUESTION, timeout=30).status_code == 200
        version = (tenants_dir / "globex").resolve()
        damaged = version / ("vectors.faiss" if damage == "truncate vectors" else "background.faiss")
        os.truncate(damaged, 100 if damage == "truncate vectors" else 0)
        refused = httpx.post(f"{url}/indexes/globex/ask", json=QUESTION, timeout=30)
        assert refused.status_code == 503 and str(damaged) in refused.json()["error"], refused.text
        again = httpx.post(f"{url}/indexes/globex/ask", json=QUESTION, timeout=30)
        assert again.status_code == 503 and "globex" in again.json()["error"]  # reopened: corrupt, says so
        assert httpx.post(f"{url}/indexes/acme/ask", json=QUESTION, timeout=30).status_code == 200
        assert server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=15)


# 5. HTTP edges.


def test_a_lone_surrogate_in_any_field_is_a_4xx(client):
    for body in (b'{"question": "hi", "index": "\\ud800"}', b'{"question": "hi", "tags": ["\\udc80"]}'):
        response = client.post("/ask", content=body)
        assert response.status_code == 422 and "not valid text" in response.json()["error"]


def test_an_error_echoing_text_that_is_not_unicode_is_still_json(client):
    response = client.post("/indexes/%ED%A0%80/ask", json=QUESTION)
    assert response.status_code == 404 and "no index" in response.json()["error"]


def test_links_that_lead_nowhere_under_the_tenants_folder(tenants_dir, caplog):
    """A loop of links is skipped with a warning naming it; an index copied with `cp -r` (its
    relative version link copied, leading nowhere) is listed and answered with a 503 saying
    how to copy it; copied with `cp -rL`, it works."""
    (tenants_dir / "loop").symlink_to("loop")
    (tenants_dir / "copied").symlink_to(os.readlink(tenants_dir / "acme").replace(".acme.", ".missing."))
    shutil.copytree(tenants_dir / "acme", tenants_dir / "dereferenced")
    with (
        caplog.at_level(logging.WARNING),
        TestClient(
            create_app(Tenants.folder(tenants_dir, None, None, False, frozenset()), unanswered_log=None)
        ) as client,
    ):
        listed = {i["name"]: i for i in client.get("/indexes").json()}
        assert sorted(listed) == ["acme", "copied", "dereferenced", "globex"]
        assert "cp -rL" in listed["copied"]["error"]
        copied = client.post("/indexes/copied/ask", json=QUESTION)
        assert copied.status_code == 503 and "`cp -r` copies an index's link, not its files" in copied.json()["error"]
        assert answered(client, "/indexes/dereferenced/ask")
        loop = client.post("/indexes/loop/ask", json=QUESTION)
        assert loop.status_code == 503 and "leads back to itself" in loop.json()["error"]
    assert f"skipping {tenants_dir / 'loop'}" in caplog.text


def test_a_copied_link_served_alone_is_a_one_line_error(cli, built, workdir):
    copied = workdir / "t1"
    copied.symlink_to(os.readlink(built / "acme"))
    result = cli("serve", "--index", str(copied))
    assert result.exit_code == 2 and "cp -rL" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_response_is_bounded_too(client, monkeypatch):
    """Answers of 10,000 characters, 64 questions and k=100 would make a 65 MB response that
    holds the event loop for seconds: past MAX_RESPONSE_CHARS, a 400 that says what to ask."""
    monkeypatch.setattr(service, "MAX_RESPONSE_CHARS", 20_000)
    many = {"questions": ["where is my order"] * 64, "k": 100, "min_confidence": 0}
    refused = client.post("/ask/batch", json=many)
    assert refused.status_code == 400 and "fewer candidates (k)" in refused.json()["error"]
    assert client.post("/ask/batch", json={**many, "k": 1, "questions": ["where is my order"] * 4}).status_code == 200


def test_head_gets_what_get_says_without_a_body(client):
    for path in ("/health", "/indexes", "/metrics"):
        response = client.head(path)
        assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize("token", ["pässwörd", "two words", "tab\there"])
def test_a_token_no_client_can_send_is_refused_at_start(cli, built, monkeypatch, token):
    monkeypatch.setenv("FAQSEARCH_TOKEN", token)
    result = cli("serve", "--index", str(built / "acme"))
    assert result.exit_code == 2 and "FAQSEARCH_TOKEN" in result.stderr


def test_no_memory_at_all_is_refused(cli, tenants_dir):
    result = cli("serve", "--indexes-dir", str(tenants_dir), "--max-memory", "0")
    assert result.exit_code == 2 and "--max-memory: '0' is no memory at all" in result.stderr
