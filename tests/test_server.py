"""`faqsearch serve` as a chatbot and an FAQ author use it: the JSON API, batching, reload of a
rebuilt index, the unanswered log, the token, bad input (including a fuzz test)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faqsearch.encoders.e5 import E5Encoder
from faqsearch.serving import service, tenants
from faqsearch.serving.app import create_app
from faqsearch.serving.metrics import Metrics
from faqsearch.serving.requests import MAX_BATCH, MAX_QUESTION_CHARS
from faqsearch.serving.tenants import Tenants

ANSWER_KEYS = {"query", "language", "match", "candidates", "sentiment", "no_match", "did_you_mean", "default_answer"}


@pytest.fixture
def log(workdir) -> Path:
    return workdir / "unanswered.jsonl"


@pytest.fixture
def client(shop_index, log):
    with TestClient(create_app(Tenants({"shop": shop_index}), unanswered_log=log)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(shop_index, log, monkeypatch):
    """A real uvicorn server on loopback, in a thread; yields its base URL."""
    monkeypatch.setattr(service, "RELOAD_SECONDS", 0.05)
    yield from live_server(create_app(Tenants({"shop": shop_index}), unanswered_log=log))


def live_server(app) -> Iterator[str]:
    """`app` on uvicorn on a free loopback port, in a thread, for as long as the generator runs."""
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


def test_ask_returns_the_cli_json_schema(client, cli):
    response = client.post("/ask", json={"question": "¿Cómo puedo cancelar mi suscripción?", "k": 2})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == ANSWER_KEYS and answer["sentiment"] is None
    assert answer["match"]["id"] == "cancel-subscription" and answer["match"]["answer_language"] == "es"
    assert len(answer["candidates"]) == 2
    from_cli = json.loads(cli("ask", "--json", "-k", "2", "¿Cómo puedo cancelar mi suscripción?").stdout)
    assert answer == from_cli


def test_an_edited_faq_file_shows_as_stale_and_the_index_keeps_serving(client, small_faq):
    small_faq.write_text(small_faq.read_text() + "# a comment\n", encoding="utf-8")
    assert client.get("/health").json() == {"status": "ok", "indexes": 1, "stale": ["shop"]}
    assert client.get("/indexes").json()[0]["stale"] is True
    assert client.post("/ask", json={"question": "where is my order"}).status_code == 200


def test_tags_restrict_answers_and_an_unknown_tag_is_a_400(client):
    """The small FAQ tags only cancel-subscription with `billing`."""
    response = client.post("/ask", json={"question": "where is my order", "k": 3, "tags": ["billing"]})
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["candidates"]] == ["cancel-subscription"]
    response = client.post("/ask/batch", json={"questions": ["where is my order"], "tags": ["tenant-x"]})
    assert response.status_code == 400
    assert response.json() == {"error": "no entry carries the tag 'tenant-x'; tags in this index: billing"}


def test_batch_answers_in_order_with_sentiment(client):
    questions = ["where is my package", "thank you, you are wonderful!", "wie setze ich mein passwort zurück"]
    response = client.post("/ask/batch", json={"questions": questions, "sentiment": True})
    assert response.status_code == 200
    answers = response.json()["answers"]
    assert [a["query"] for a in answers] == questions
    assert [a["match"]["id"] for a in (answers[0], answers[2])] == ["track-order", "reset-password"]
    assert answers[1]["sentiment"]["label"] == "positive"


def test_the_server_starts_the_encoders_fast_engine_before_the_first_request(shop_index, log, monkeypatch):
    """A one-shot ask or a small build leaves e5.py's faster engines unstarted; a server embeds
    without end, and its engine's start must not fall on a customer's request."""
    told = []
    monkeypatch.setattr(E5Encoder, "expect", lambda self, count: told.append(count))
    with TestClient(create_app(Tenants({"shop": shop_index}), unanswered_log=log)):
        assert told[:1] == [math.inf], told  # before the warm-up batch embeds anything


def test_health_and_indexes(client, shop_index):
    assert client.get("/health").json() == {"status": "ok", "indexes": 1, "stale": []}
    [info] = client.get("/indexes").json()
    assert info["name"] == "shop" and info["entries"] == 3 and info["encoder"]["name"] == "e5-aligned"
    assert info["index_type"] == {"kind": "flat", "params": {}} and info["tags"] == ["billing"]
    assert info["stale"] is False
    assert info["built_at"] == json.loads((shop_index / "manifest.json").read_text())["built_at"]
    assert "/ask/batch" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_several_indexes_chosen_per_request(cli, shop_index, example_faq, log):
    assert cli("build", str(example_faq)).exit_code == 0
    indexes = {"shop": shop_index, "en": example_faq.parent.parent / "indexes" / "en"}
    with TestClient(create_app(Tenants(indexes), unanswered_log=log)) as client:
        ambiguous = client.post("/ask", json={"question": "where is my order"})
        assert ambiguous.status_code == 400 and "several indexes are served (shop, en)" in ambiguous.json()["error"]
        assert client.post("/ask", json={"question": "where is my order", "index": "shop"}).json()["match"]["id"] == (
            "track-order"
        )
        assert client.post("/ask", json={"question": "is there a student discount", "index": "en"}).json()["match"][
            "id"
        ] == ("student-discount")
        assert sorted(i["name"] for i in client.get("/indexes").json()) == ["en", "shop"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"question": "   "}, 422, "question: is empty; ask something"),
        ({"question": "x" * (MAX_QUESTION_CHARS + 1)}, 422, f"the limit is {MAX_QUESTION_CHARS:,}"),
        ({"question": 42}, 422, "question: Input should be a valid string"),
        ({"question": "hi", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
        ({"question": "hi", "k": "3"}, 422, "k: Input should be a valid integer"),
        ({"question": "hi", "min_confidence": 1.5}, 422, "min_confidence: Input should be less than or equal to 1"),
        ({"question": "hi", "index": "nope"}, 404, "no index `nope` is served; GET /indexes lists them"),
        ({"question": "hi", "colour": "red"}, 422, "colour: Extra inputs are not permitted"),
        ({}, 422, "question: Field required"),
        ([1, 2], 422, "body: must be a JSON object"),
    ],
)
def test_bad_requests_get_a_4xx_json_error(client, body, status, message):
    response = client.post("/ask", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_bad_bodies_and_batches(client):
    not_utf8 = client.post("/ask", content=b'{"question": "\xff\xfe"}', headers={"content-type": "application/json"})
    assert (
        not_utf8.status_code == 400 and "the body is not UTF-8; send JSON encoded as UTF-8" in not_utf8.json()["error"]
    )
    utf16 = client.post(
        "/ask", content='{"question": "hola"}'.encode("utf-16"), headers={"content-type": "application/json"}
    )
    assert utf16.status_code == 400 and "not UTF-8" in utf16.json()["error"]
    truncated = client.post("/ask", content=b'{"question": ', headers={"content-type": "application/json"})
    assert truncated.status_code == 400
    assert truncated.json()["error"] == (
        "the body is not valid JSON (Expecting value at line 1, column 14); "
        'send a JSON object such as {"question": "¿cómo cancelo?"}'
    )
    too_many = client.post("/ask/batch", json={"questions": ["hi"] * (MAX_BATCH + 1)})
    assert too_many.status_code == 422 and f"at most {MAX_BATCH} items" in too_many.json()["error"]
    empty = client.post("/ask/batch", json={"questions": []})
    assert empty.status_code == 422
    for path, body in [("/ask", b'{"question": "hola \\ud800"}'), ("/ask/batch", b'{"questions": ["ok", "\\udfff"]}')]:
        surrogate = client.post(path, content=body, headers={"content-type": "application/json"})
        assert surrogate.status_code == 422 and "lone UTF-16 surrogate); send UTF-8 text" in surrogate.json()["error"]
    assert client.get("/nope").json() == {"error": "Not Found"}


# Text with lone UTF-16 surrogates, which a JSON "\ud800" escape yields (hypothesis never makes them).
SURROGATES = st.lists(st.sampled_from(["\ud800", "\udfff", "a", "é", " "]), min_size=1, max_size=8).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.fixed_dictionaries(
            {"question": st.one_of(st.text(max_size=50), SURROGATES, st.integers(), st.none())},
            optional={
                "k": st.one_of(st.integers(-5, 200), st.floats(), st.text(max_size=3)),
                "min_confidence": st.one_of(st.floats(allow_nan=True), st.integers(-2, 2), st.booleans()),
                "sentiment": st.one_of(st.booleans(), st.text(max_size=3), st.integers()),
                "index": st.one_of(st.just("shop"), st.text(max_size=5), st.integers()),
            },
        ),
        st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=10), st.lists, max_leaves=5),
    ),
    path=st.sampled_from(["/ask", "/ask/batch"]),
)
def test_fuzzed_requests_never_get_a_500(client, body, path):
    if path == "/ask/batch" and isinstance(body, dict) and "question" in body:
        body = {**body, "questions": [body.pop("question")]}
    content = json.dumps(body).encode()  # NaN and Infinity included, as a sloppy client would send them
    response = client.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    assert response.status_code == 200 or "error" in response.json()


def test_unanswered_questions_are_logged_and_summarised(client, log, cli):
    for question in ["what's the weather in Paris", "What's the weather in  paris", "tell me a joke"]:
        assert client.post("/ask", json={"question": question}).json()["match"] is None
    assert client.post("/ask", json={"question": "where is my order"}).json()["match"] is not None
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["question"] for line in lines] == ["what's the weather in Paris", "What's the weather in paris",
                                                    "tell me a joke"]  # fmt: skip
    assert set(lines[0]) == {
        "time", "index", "question", "language", "nearest", "best_score", "best_confidence", "no_match", "did_you_mean"
    }  # fmt: skip
    assert [line["no_match"] for line in lines] == ["off_topic"] * 3
    summary = json.loads(cli("unanswered", str(log), "--json").stdout)
    questions = {q: n for group in summary for q, n in group["questions"]}
    assert questions["what's the weather in paris"] == 2
    assert sum(n for group in summary for n in group["reasons"].values()) == 3
    assert "(off_topic " in cli("unanswered", str(log)).stdout
    assert sum(group["count"] for group in summary) == 3
    assert [g["count"] for g in summary] == sorted((g["count"] for g in summary), reverse=True)


def test_a_bug_costs_a_500_and_the_next_request_is_answered(shop_index, log, monkeypatch):
    """An unexpected error while answering gives those requests a JSON 500 without a trace; the
    batcher lives on. An unwritable unanswered log costs a warning, not the answer."""
    broken = {}
    answer = service.FAQSearch.answer

    def fails_once(self, *args, **kwargs):
        if broken.pop("once", False):
            raise RuntimeError("boom")
        return answer(self, *args, **kwargs)

    monkeypatch.setattr(service.FAQSearch, "answer", fails_once)
    log.mkdir()  # a folder where the log file should be: appending fails
    with TestClient(
        create_app(Tenants({"shop": shop_index}), unanswered_log=log), raise_server_exceptions=False
    ) as client:
        broken["once"] = True  # the warm-up at start has passed
        failed = client.post("/ask", json={"question": "where is my order"})
        assert failed.status_code == 500
        assert failed.json() == {
            "error": "internal error (RuntimeError); see the server log",
            "request_id": failed.headers["x-request-id"],
        }
        assert client.post("/ask", json={"question": "where is my order"}).json()["match"]["id"] == "track-order"
        assert client.post("/ask", json={"question": "tell me a joke"}).json()["match"] is None


def test_unanswered_without_a_log(cli, workdir):
    result = cli("unanswered", "nothing.jsonl")
    assert result.exit_code == 2 and "nothing.jsonl: no log here yet" in result.stderr


def test_a_body_that_is_not_an_object_says_what_to_send(client):
    response = client.post("/ask", json=["where is my order"])
    assert response.status_code == 422
    assert response.json() == {"error": 'body: must be a JSON object, such as {"question": "..."}'}


def test_json_is_accepted_whatever_content_type_was_declared(client):
    """Plain `curl -d '{...}'` declares a form body; JSON is JSON."""
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {"content-type": content_type} if content_type else {}
        response = client.post("/ask", content=b'{"question": "where is my order"}', headers=headers)
        assert response.status_code == 200 and response.json()["candidates"][0]["id"] == "track-order"


def test_docs_work_offline(client):
    page = client.get("/docs").text
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200


def test_token_protects_everything_but_health(shop_index, log):
    with TestClient(create_app(Tenants({"shop": shop_index}), unanswered_log=log, token="s3cret")) as client:
        assert client.get("/health").status_code == 200
        for response in (client.post("/ask", json={"question": "hi"}), client.get("/indexes"), client.get("/")):
            assert response.status_code == 401 and "bearer token" in response.json()["error"]
        wrong = client.get("/indexes", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.post("/ask", json={"question": "hi"}, headers={"authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert client.get("/?token=s3cret").status_code == 200
        unauthenticated_bad_body = client.post("/ask", content=b"{not json")
        assert unauthenticated_bad_body.status_code == 401  # authentication before the body is read
        assert client.get("/docs").status_code == 200 and client.get("/openapi.json").status_code == 200


def test_concurrent_requests_share_encoder_calls_on_one_thread(live, monkeypatch):
    calls, active, overlaps = [], [0], []
    lock = threading.Lock()
    embed = E5Encoder._embed

    def watched(self, texts, languages):
        with lock:
            active[0] += 1
            overlaps.append(active[0])
        calls.append(len(texts))
        try:
            return embed(self, texts, languages)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(E5Encoder, "_embed", watched)
    questions = [f"where is my order number {i}" for i in range(48)]
    with httpx.Client(base_url=live) as http, ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda q: http.post("/ask", json={"question": q}), questions))
    assert all(r.status_code == 200 for r in responses)
    assert [r.json()["query"] for r in responses] == questions  # each client got its own answer
    assert all(r.json()["candidates"][0]["id"] == "track-order" for r in responses)
    assert sum(calls) == 48 and len(calls) < 48 and max(calls) > 1  # batched
    assert max(overlaps) == 1  # never two encoder calls at once


def test_a_rebuilt_index_is_swapped_in_without_failing_a_request(live, small_faq, cli):
    stop, statuses = threading.Event(), []

    def hammer():
        with httpx.Client(base_url=live) as http:
            while not stop.is_set():
                statuses.append(http.post("/ask", json={"question": "where is my order"}).status_code)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    small_faq.write_text(small_faq.read_text().replace("Open Orders", "Open My orders"), encoding="utf-8")
    assert cli("build", str(small_faq)).exit_code == 0
    deadline, answer = time.monotonic() + 20, ""
    with httpx.Client(base_url=live) as http:
        while "Open My orders" not in answer and time.monotonic() < deadline:
            answer = http.post("/ask", json={"question": "where is my order"}).json()["match"]["answer"]
            time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert "Open My orders" in answer
    assert len(statuses) > 10 and set(statuses) == {200}


def test_reload_survives_an_unexpected_error(shop_index, monkeypatch, caplog):
    served = tenants.ServedIndex("shop", shop_index, None)
    old, manifest = served.faq, shop_index / "manifest.json"
    manifest.write_text(manifest.read_text(), encoding="utf-8")  # a new manifest: a rebuild to load
    opener = tenants.FAQSearch.open
    monkeypatch.setattr(tenants.FAQSearch, "open", lambda *a: (_ for _ in ()).throw(PermissionError("denied")))
    metrics = Metrics()
    assert not served.reload_if_rebuilt(metrics, "shop") and not served.reload_if_rebuilt(metrics, "shop")
    assert served.faq is old
    assert [r.getMessage() for r in caplog.records].count(
        f"cannot open the rebuilt index {shop_index}; still serving the old one: PermissionError('denied')"
    ) == 1  # once per manifest, not once a second
    monkeypatch.setattr(tenants.FAQSearch, "open", opener)
    assert served.reload_if_rebuilt(metrics, "shop") and served.faq is not old
    exposition = metrics.exposition().decode()
    assert 'faqsearch_reload_failures_total{index="shop"} 1.0' in exposition
    assert 'faqsearch_reloads_total{index="shop"} 1.0' in exposition


def test_metrics_count_requests_answers_and_batches_behind_the_token(shop_index, log):
    with TestClient(create_app(Tenants({"shop": shop_index}), unanswered_log=log, token="s3cret")) as client:
        auth = {"authorization": "Bearer s3cret"}
        assert client.get("/metrics").status_code == 401
        for question in ("where is my order", "¿cómo puedo cancelar mi suscripción?", "tell me a joke"):
            assert client.post("/ask", json={"question": question}, headers=auth).status_code == 200
        assert client.post("/ask", json={"question": ""}, headers=auth).status_code == 422
        text = client.get("/metrics", headers=auth).text
    assert 'faqsearch_requests_total{endpoint="/ask",status="200"} 3.0' in text
    assert 'faqsearch_requests_total{endpoint="/ask",status="422"} 1.0' in text
    assert 'faqsearch_requests_total{endpoint="/metrics",status="401"} 1.0' in text
    assert 'faqsearch_request_seconds_count{endpoint="/ask"} 4.0' in text
    assert 'faqsearch_answers_total{index="shop",language="es",matched="True"} 1.0' in text
    assert 'faqsearch_answers_total{index="shop",language="en",matched="False"} 1.0' in text
    assert "faqsearch_batch_questions_count" in text and "faqsearch_encoder_seconds_sum" in text


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path):
    """Debian's headless chromium through its own chromedriver (never a downloaded one)."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: apt-get install chromium chromium-driver")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,900",
        "--no-first-run",
        "--disable-background-networking",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        f"--user-data-dir={tmp_path}",
    ):
        options.add_argument(argument)  # fmt: skip
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_web_page_shows_the_answer(live, browser, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(live + "/")
    wait = WebDriverWait(browser, 20)
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "index"), "shop (e5-aligned, 3 entries)"))
    result = browser.find_element(By.ID, "result")
    result.screenshot(str(tmp_path / "before.png"))
    browser.find_element(By.ID, "question").send_keys("¿Cómo puedo cancelar mi suscripción?")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "answer"), "Cancelar plan"))
    assert "cancel-subscription" in browser.find_element(By.ID, "answer").text
    assert browser.find_element(By.ID, "language").text == "es"
    assert re.fullmatch(r"(negative|neutral|positive) \(\d\.\d\d\)", browser.find_element(By.ID, "sentiment").text)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result tr")) == 1 + 3  # header + every entry (k=5)
    result.screenshot(str(tmp_path / "after.png"))
    before, after = (Image.open(tmp_path / f"{name}.png").convert("L") for name in ("before", "after"))
    inked = sum(after.histogram()[:128])  # dark pixels: rendered text
    assert inked > 500 and inked > 10 * (sum(before.histogram()[:128]) + 1)
    assert after.crop((0, 0, after.width, 60)).getextrema()[0] < 128  # the answer box at the top has text
    browser.find_element(By.ID, "question").clear()
    browser.find_element(By.ID, "question").send_keys("What is the capital of Australia?")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "answer"), "No match (off_topic)"))
