"""The review page of `faqsearch serve` (GET /review, /review/items, POST /review/apply): the owner
labels logged questions behind the token, and applying writes them into the FAQ and rebuilds;
a bad request gets a one-line 4xx and leaves the FAQ as it was."""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_question_log import question_log as question_log  # the fixture, re-exported to this module
from test_question_log import served
from test_server import browser as browser  # the headless Chromium fixture, re-exported to this module
from test_server import live_server

from faqsearch.faqs import load_faqs
from faqsearch.review import Review
from faqsearch.serving import review_page, service
from faqsearch.serving.app import create_app
from faqsearch.serving.tenants import Tenants

ASKED = ["I forgot my login", "my parcel never came", "can I change my email address", "refund please"]
LABEL = {"question": "I forgot my login", "language": "en", "entry": "reset-password"}


@pytest.fixture
def client(shop_index, question_log):
    with served(shop_index, question_log) as c:
        for question in ASKED:
            assert c.post("/ask", json={"question": question}).status_code == 200
        yield c


def phrasings(faq: Path, entry: str) -> tuple[str, ...]:
    return next(e.alternatives for e in load_faqs(faq).entries if e.id == entry)


def one_line_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    [message] = response.json().values() if status < 500 else [response.json()["error"]]
    assert isinstance(message, str) and message and "\n" not in message
    return message


def test_the_page_needs_the_token_and_the_items_a_question_log(shop_index, small_faq):
    before = small_faq.read_bytes()
    with served(shop_index, None, token="s3cret") as client:
        for response in (
            client.get("/review"),
            client.get("/review?token=wrong"),
            client.get("/review/items"),
            client.get("/review/items?token=s3cret"),  # only the pages take the token in the URL
            client.post("/review/apply", json={"labels": [LABEL]}),
        ):
            assert "bearer token" in one_line_error(response, 401)
        page = client.get("/review?token=s3cret")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "Apply and rebuild" in page.text and "://" not in page.text  # nothing from elsewhere: works offline
        auth = {"authorization": "Bearer s3cret"}
        assert "--question-log FILE" in one_line_error(client.get("/review/items", headers=auth), 409)
    assert small_faq.read_bytes() == before


def test_items_are_the_uncertain_logged_questions_with_their_candidates(client):
    response = client.get("/review/items?index=shop&per_language=30")
    assert response.status_code == 200, response.text
    review = response.json()
    assert set(review) == {f.name for f in dataclasses.fields(Review)} | {"notes", "entries"}
    assert [e["id"] for e in review["entries"]] == ["cancel-subscription", "reset-password", "track-order"]
    assert review["entries"][1]["question"] == "How do I reset my password?"
    by_question = {item["question"]: item for item in review["items"]}
    login = by_question["I forgot my login"]
    assert login["language"] == "en" and login["represents"] == 1 and login["covers"] == []
    best, confidence = login["candidates"][0]
    assert best == "reset-password" and 0 <= confidence <= 1
    assert set(by_question) <= set(ASKED) and len(by_question) >= 3
    assert len(client.get("/review/items?per_language=1").json()["items"]) == 1  # index may be left out
    assert "per_language" in one_line_error(client.get("/review/items?per_language=0"), 422)
    assert "no index `nope`" in one_line_error(client.get("/review/items?index=nope"), 404)


def test_a_log_without_questions_of_the_index_is_a_400(shop_index, question_log):
    line = {"kind": "question", "request_id": "r1", "number": 0, "index": "other", "question": "hello"}
    question_log.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with served(shop_index, question_log) as client:
        message = one_line_error(client.get("/review/items"), 400)
    assert "holds no question asked of the index `shop`" in message


def test_bad_labels_get_a_one_line_4xx_and_leave_the_faq_as_it_was(client, small_faq):
    before = small_faq.read_bytes()
    for body, status, says in (
        ({}, 422, "labels: Field required"),
        ({"labels": []}, 422, "labels: List should have at least 1 item"),
        ({"labels": ["I forgot my login"]}, 422, "labels[0]: Input should be a valid dictionary"),
        ({"labels": [LABEL], "apply": True}, 422, "apply: Extra inputs are not permitted"),
        ({"index": "nope", "labels": [LABEL]}, 404, "no index `nope`"),
        ({"labels": [LABEL | {"entry": "nope"}]}, 400, "labels[0]: entry `nope` is not in the FAQ"),
        ({"labels": [LABEL | {"colour": "red"}]}, 400, "labels[0]: unknown field `colour`"),
        ({"labels": [LABEL, {"question": "Where is my order?", "entry": "track-order"}]}, 400, "labels[1]: question"),
    ):
        message = one_line_error(client.post("/review/apply", json=body), status)
        assert says in message, (body, message)
        assert "faqsearch-labels-" not in message  # the temporary file is the request's labels
    assert small_faq.read_bytes() == before


def test_applying_writes_the_phrasing_rebuilds_and_lists_it_no_more(client, small_faq, monkeypatch):
    """The apply swaps the rebuilt index in itself: the reload loop is all but stopped here."""
    monkeypatch.setattr(service, "RELOAD_SECONDS", 3600)
    response = client.post("/review/apply", json={"index": "shop", "labels": [LABEL]})
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result[0].startswith("wrote 1 phrasings, 0 no-match questions and 0 new entries into")
    assert "I forgot my login" in phrasings(small_faq, "reset-password")
    review = client.get("/review/items").json()  # the rebuilt index answers already
    assert "I forgot my login" not in [item["question"] for item in review["items"]]
    assert review["left_out"]["already in the FAQ"] == 1
    answer = client.post("/ask", json={"question": "I forgot my login"}).json()
    assert answer["match"]["id"] == "reset-password"


def test_one_apply_at_a_time_and_a_crash_is_a_500(shop_index, small_faq, monkeypatch):
    """The subprocess stood in for by a slow one, then a crashing one; the label file is removed."""
    seen = []
    monkeypatch.setattr(review_page, "CLI", "import sys, time; time.sleep(2); print(sys.argv[3])")
    with served(shop_index, None) as client, ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.post, "/review/apply", json={"labels": [LABEL]})
        time.sleep(1)
        assert "one apply at a time" in one_line_error(client.post("/review/apply", json={"labels": [LABEL]}), 409)
        response = first.result()
        assert response.status_code == 200, response.text
        [label_file] = response.json()["result"]
        seen.append(label_file)
        monkeypatch.setattr(review_page, "CLI", "import sys; print('boom', file=sys.stderr); sys.exit(3)")
        assert "exit code 3" in one_line_error(client.post("/review/apply", json={"labels": [LABEL]}), 500)
    assert seen[0].endswith(".jsonl") and not Path(seen[0]).exists()


def test_ray_serve_answers_the_review_endpoints_with_a_409(tmp_path):
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed: pip install -e '.[cluster]'")
    from faqsearch.serving.app import build_app
    from faqsearch.serving.cluster import Remote

    with TestClient(build_app(Remote(None, Tenants(root=tmp_path)))) as client:
        assert client.get("/review").status_code == 200
        assert "Ray Serve" in one_line_error(client.get("/review/items"), 409)
        assert "Ray Serve" in one_line_error(client.post("/review/apply", json={"labels": [LABEL]}), 409)


@pytest.fixture
def live(shop_index, question_log, monkeypatch):
    """A real uvicorn server with a token and a question log, in a thread; yields its base URL."""
    monkeypatch.setattr(service, "RELOAD_SECONDS", 0.05)
    yield from live_server(create_app(Tenants({"shop": shop_index}), None, "s3cret", question_log=question_log))


def test_the_page_labels_with_one_click_and_applies(live, browser, small_faq):
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    auth = {"authorization": "Bearer s3cret"}
    confident = "How can I cancel my subscription?"  # answered with confidence 0.98: offered to accept at once
    for question in [*ASKED, "<img src=x onerror=alert(1)> where is my parcel", confident]:
        assert httpx.post(live + "/ask", json={"question": question}, headers=auth).status_code == 200
    browser.get(live + "/review?token=s3cret")
    wait = WebDriverWait(browser, 30)
    card = '.item[data-question="I forgot my login"]'
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, card)))
    assert browser.find_element(By.ID, "index").get_attribute("value") == "shop"
    assert not browser.find_elements(By.CSS_SELECTOR, "#items img")  # customers' text is text
    assert browser.find_element(By.CSS_SELECTOR, f"{card} .choice.suggested")  # the suggested one is marked
    assert browser.find_element(By.ID, "confident-count").text == "1"
    browser.find_element(By.ID, "confident").click()  # not this time
    assert browser.find_element(By.ID, "apply").get_attribute("disabled")
    browser.find_element(By.CSS_SELECTOR, f'{card} .choice[data-entry="none"]').click()
    browser.find_element(By.CSS_SELECTOR, f'{card} .choice[data-entry="reset-password"]').click()  # changed mind
    pressed = browser.find_elements(By.CSS_SELECTOR, f'{card} .choice[aria-pressed="true"]')
    assert [b.get_attribute("data-entry") for b in pressed] == ["reset-password"]
    assert browser.find_element(By.ID, "apply").text == "Apply 1 label and rebuild"
    browser.find_element(By.ID, "confident").click()  # yes, after all
    assert browser.find_element(By.ID, "apply").text == "Apply 2 labels and rebuild"
    browser.find_element(By.ID, "apply").click()
    WebDriverWait(browser, 60).until(expected_conditions.text_to_be_present_in_element((By.ID, "result"), "wrote 2"))
    assert "rebuilt" in browser.find_element(By.ID, "result").text
    assert "I forgot my login" in phrasings(small_faq, "reset-password")
    assert confident in phrasings(small_faq, "cancel-subscription")
    wait.until(expected_conditions.invisibility_of_element_located((By.CSS_SELECTOR, card)))  # the list reloaded
    assert browser.find_elements(By.CSS_SELECTOR, ".item")
