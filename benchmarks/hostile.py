"""Replay a hostile probe of faqsearch (issue #34) and print each case with PASS or FAIL.

Every case is tried as a customer, a client or an operator would: questions and files sent to a
real `faqsearch serve` process, commands run as a user runs them. A case passes when the
service keeps answering and the bad input gets its one-line error; the costs the fixes add are
measured and printed too (the mapped-file guard per request; another tenant's question while
eight clients ask for the largest responses allowed).

Usage: python benchmarks/hostile.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import yaml
from servers import FAQSEARCH, serving

from faqsearch.index import open_index
from faqsearch.redact import redact

ROOT = Path(__file__).resolve().parent.parent
QUESTION = {"question": "where is my order"}
CASES: list[tuple[str, Callable[[Path], str]]] = []


def case(name: str):
    def register(check: Callable[[Path], str]) -> Callable[[Path], str]:
        CASES.append((name, check))
        return check

    return register


class Failed(Exception):
    pass


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Failed(what)


def run(*args: str, cwd: Path, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([FAQSEARCH, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    lines = result.stderr.strip().splitlines()
    expect(result.returncode == 2, f"exit {result.returncode}: {result.stderr[-300:]}")
    expect(len(lines) == 1 and lines[0].startswith("error: "), f"not one line: {result.stderr[-300:]}")
    for fragment in fragments:
        expect(fragment in lines[0], f"{fragment!r} not in {lines[0]!r}")
    return lines[0][:140]


# 1. One question must not stop every request.


@case("1. the Turkish IBAN-like question, then an ordinary one")
def turkish(work: Path) -> str:
    log = work / "u.jsonl"
    with serving(["--index", str(work / "tenants" / "acme"), "--unanswered-log", str(log)], work) as (_, url):
        for question in ("İS12 3456 7890 1234 is my iban, what is the weather", "Kargo kodum TR34 İSTANBUL?"):
            response = httpx.post(f"{url}/ask", json={"question": question, "min_confidence": 1}, timeout=10)
            expect(response.status_code == 200, f"{response.status_code} {response.text[:200]}")
        response = httpx.post(f"{url}/ask", json=QUESTION, timeout=10)
        expect(response.status_code == 200, "the next question was not answered")
        expect(len(log.read_text().splitlines()) == 2, "not logged")
        expect(oct(log.stat().st_mode & 0o777) == "0o600", f"log mode {oct(log.stat().st_mode & 0o777)}")
    return "answered in 10 s; both logged, redacted, file mode 0600"


@case("1. 300 questions of random Unicode from every plane")
def fuzz(work: Path) -> str:
    rng = random.Random(34)
    specials = "İıKÅßẞﬁﬃſΐ\u0345\u212a\u212b\ufb00＠０１２－–—"
    statuses: dict[int, int] = {}
    with serving(["--index", str(work / "tenants" / "acme"), "--unanswered-log", str(work / "f.jsonl")], work) as (
        _,
        url,
    ):
        for _ in range(300):
            chars = [rng.choice(specials) if rng.random() < 0.3 else chr(rng.randrange(0x110000)) for _ in range(60)]
            question = "".join(c for c in chars if not 0xD800 <= ord(c) < 0xE000)
            response = httpx.post(f"{url}/ask", json={"question": question, "min_confidence": 1}, timeout=30)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        expect(set(statuses) <= {200, 422}, f"statuses {statuses}")
        expect(httpx.post(f"{url}/ask", json=QUESTION, timeout=10).status_code == 200, "stopped answering")
    return f"statuses {statuses}; still answering"


@case("1. SIGTERM under load (a stuck worker: tests/test_hostile.py)")
def sigterm(work: Path) -> str:
    heavy = {"questions": ["where is my order " * 20] * 64}
    with serving(["--index", str(work / "tenants" / "acme"), "--no-unanswered-log"], work) as (server, url):
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    httpx.post(f"{url}/ask/batch", json=heavy, timeout=60)

        clients = [threading.Thread(target=load) for _ in range(8)]
        for client in clients:
            client.start()
        time.sleep(2)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        ended = time.monotonic() - started
        stop.set()
        for client in clients:
            client.join()
    return f"ended {ended:.1f} s after SIGTERM, 8 clients sending batches of 64 long questions"


# 2. A damaged file of an open index.


@case("2. a truncated vectors.faiss and an empty background.faiss of an open tenant")
def truncated(work: Path) -> str:
    tenants = work / "damaged"
    shutil.copytree(work / "tenants", tenants, symlinks=True)
    with serving(["--indexes-dir", str(tenants), "--no-unanswered-log"], work) as (server, url):
        for name in ("acme", "globex", "initech"):
            expect(httpx.post(f"{url}/indexes/{name}/ask", json=QUESTION, timeout=10).status_code == 200, name)
        os.truncate((tenants / "globex").resolve() / "vectors.faiss", 100)
        os.truncate((tenants / "initech").resolve() / "background.faiss", 0)
        for name, file in (("globex", "vectors.faiss"), ("initech", "background.faiss")):
            response = httpx.post(f"{url}/indexes/{name}/ask", json=QUESTION, timeout=10)
            expect(response.status_code == 503 and file in response.json()["error"], f"{name}: {response.text[:200]}")
        expect(httpx.post(f"{url}/indexes/acme/ask", json=QUESTION, timeout=10).status_code == 200, "acme")
        expect(server.poll() is None, "the server ended")
    index = open_index(work / "tenants" / "acme")
    started, rounds = time.perf_counter(), 20_000
    for _ in range(rounds):
        index.check_mapped()
    guard = (time.perf_counter() - started) / rounds * 1e6
    return f"503 naming each file, acme answers; the guard costs {guard:.1f} µs per index per worker round"


# 3. Files and terminals.


@case("3. inputs that never end, escapes in a FAQ, text printed inert, the models folder, lock files")
def files(work: Path) -> str:
    os.mkfifo(work / "q.fifo")
    bad = work / "bad.yaml"
    bad.write_text('language: en\nfaqs:\n  - id: a\n    question: "Q\\e]0;pwned\\a?"\n    answer: A.\n')
    under_file = work / "file"
    under_file.write_text("")
    cache = {**os.environ, "XDG_CACHE_HOME": str(under_file / "cache"), "FAQSEARCH_MODELS_DIR": ""}
    with open("/dev/zero", "rb") as zeros:
        endless = run("ask", "--index", "tenants/acme", "-", cwd=work, stdin=zeros)
    errors = [
        (run("ask", "--index", "tenants/acme", "--file", "/dev/zero", cwd=work), "not a regular file"),
        (run("ask", "--index", "tenants/acme", "--file", "q.fifo", cwd=work, timeout=30), "not a regular file"),
        (endless, "stdin: is a device"),
        (run("build", str(bad), "--index", "bad", cwd=work), "U+001B"),
        (run("ask", "--index", "tenants/acme", "hi", cwd=work, env=cache), "cannot write"),
        (run("rollback", "--index", str(work / "nonexistent"), cwd=work), "no index at"),
        (run("build", "faqs/en.yaml", "--index", "", cwd=work), "names no index folder"),
    ]
    for result, fragment in errors:
        one_line_error(result, fragment)
    expect(not list(work.glob(".*.lock")) and not (work / ".nonexistent.lock").exists(), "a lock file left")
    expect(not list(under_file.parent.rglob("*.part*")), "a .part file left")
    printed = run("ask", "--index", "tenants/acme", "--json", "cancel \x9b\u202e", cwd=work)
    expect(printed.returncode == 0 and "\x9b" not in printed.stdout and "\u202e" not in printed.stdout, "raw")
    expect(json.loads(printed.stdout)["query"] == "cancel \x9b\u202e", "the JSON does not read back")
    return f"{len(errors)} one-line errors, nothing left behind; C1 and bidi printed as escapes"


# 4. Importers on hostile files.

N = 100_000
MICRO = (
    '<div itemscope itemtype="https://schema.org/FAQPage"><div itemscope itemprop="mainEntity" '
    'itemtype="https://schema.org/Question"><h3 itemprop="name">Where is my order?</h3><div itemscope '
    'itemprop="acceptedAnswer"><p itemprop="text">Open Orders.</p></div></div></div>'
)


def _page(body: str) -> str:
    return f'<html lang="en"><head><script type="application/ld+json">{body}</script></head></html>'


def _qna(*items: dict) -> str:
    return json.dumps({"qna": list(items)})


LAUGHS = 'a: &a ["lol"]\n' + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
IMPORTS = [  # (file name, content, exit code, message fragment)
    ("deep.html", _page('{"@type":"FAQPage","mainEntity":' + "[" * N + "]" * N + "}"), 2, "nested deeper"),
    ("numbers.html", _page(json.dumps({"@type": "FAQPage", "mainEntity": [5, "text"]})), 2, "a number where"),
    (
        "object.html",
        _page('{"@type":"FAQPage","mainEntity":[{"name":{"en":"How?"},"acceptedAnswer":{"text":"So."}}]}'),
        2,
        "is an object",
    ),
    ("q5.json", _qna({"qid": "a", "q": 5, "a": "x"}), 2, "is a number"),
    ("qdeep.json", '{"qna":[{"qid":"a","a":"x","q":' + "[" * N + "]" * N + "}]}", 2, "nested deeper"),
    ("laughs/data/nlu.yml", LAUGHS + "nlu: *i\n", 2, "1,000,000 values"),
    ("qstring.json", _qna({"qid": "a", "q": "How do I cancel my plan?", "a": "In Settings."}), 0, "list of one"),
    (
        "xx.json",
        _qna(
            {
                "qid": "a",
                "q": ["How do I pay?"],
                "a": "{{#ifLang 'xx'}}Zz.{{/ifLang}}{{#defaultLang}}By card.{{/defaultLang}}",
            }
        ),
        0,
        "'xx' dropped",
    ),
    ("escape.json", _qna({"qid": "a", "q": ["How do I pay?"], "a": "\x1b]0;pwned\x07 By card."}), 2, "U+001B"),
    ("nested.html", f'<html lang="en"><body>{"<b>" * N}{MICRO}{"</b>" * N}</body></html>', 0, "imported 1"),
    (
        "columns.csv",
        "question,answer," + ",".join(f"question {i}" for i in range(N)) + "\nWhere is my order?,Open.\n",
        0,
        "",
    ),
    (
        "unclosed.json",
        _qna(
            {"qid": "a", "q": ["Q?"], "a": "{{#ifLang 'es'}}x" * 20_000},
            {"qid": "b", "q": ["Where is my order?"], "a": "Open."},
        ),
        0,
        "",
    ),
]


@case("4. importers on hostile files (XLSX bombs: tests/test_import.py)")
def imports(work: Path) -> str:
    slowest = 0.0
    for name, content, code, fragment in IMPORTS:
        source = work / "imports" / name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(content, encoding="utf-8")
        if name.startswith("laughs/"):
            (work / "imports" / "laughs" / "domain.yml").write_text("version: '3.1'\n")
            source = source.parent.parent
        started = time.perf_counter()
        result = run("import", str(source), "--out", str(work / "imports" / f"{name}.yaml"), cwd=work, timeout=60)
        slowest = max(slowest, time.perf_counter() - started)
        if code == 2:
            one_line_error(result, fragment)
        else:
            expect(result.returncode == 0 and fragment in result.stderr + result.stdout, f"{name}: {result.stderr}")
    return f"{len(IMPORTS)} files, each one line or imported with its warning; slowest {slowest:.1f} s"


# 5. HTTP edges.


@case("5. a lone surrogate in `index`, tags and the URL")
def surrogates(work: Path) -> str:
    with serving(["--index", str(work / "tenants" / "acme"), "--no-unanswered-log"], work) as (_, url):
        seen = []
        for body in (b'{"question": "hi", "index": "\\ud800"}', b'{"question": "hi", "tags": ["\\udc80"]}'):
            response = httpx.post(f"{url}/ask", content=body, timeout=10)
            seen.append(response.status_code)
        response = httpx.post(f"{url}/indexes/%ED%A0%80/ask", json=QUESTION, timeout=10)
        seen.append(response.status_code)
        expect(seen == [422, 422, 404], f"statuses {seen}")
    return f"statuses {seen}"


@case("5. a symlink loop under the indexes folder")
def loop(work: Path) -> str:
    tenants = work / "looped"
    shutil.copytree(work / "tenants", tenants, symlinks=True)
    (tenants / "loop").symlink_to("loop")
    with serving(["--indexes-dir", str(tenants), "--no-unanswered-log"], work) as (_, url):
        listed = httpx.get(f"{url}/indexes", timeout=10)
        expect(listed.status_code == 200, f"GET /indexes {listed.status_code}")
        expect("loop" not in [i["name"] for i in listed.json()], "the loop is listed")
    return "serve starts, /indexes lists the others"


@case("5. 8 clients asking for the largest responses; another tenant's question")
def large_responses(work: Path) -> str:
    tenants = work / "long"
    shutil.copytree(work / "tenants", tenants, symlinks=True)
    faq = work / "long.yaml"
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"] * 3
    entries = [
        {"id": f"e{i}", "question": f"question {i} about {word}", "answer": (f"w{i} " * 4000)[:9990]}
        for i, word in enumerate(words)
    ]
    faq.write_text(yaml.safe_dump({"language": "en", "faqs": entries}), encoding="utf-8")
    expect(run("build", str(faq), "--index", str(tenants / "big"), cwd=work, timeout=600).returncode == 0, "build")
    flood = {"questions": ["question about alpha"] * 64, "k": 100, "min_confidence": 0}
    with serving(["--indexes-dir", str(tenants), "--no-unanswered-log"], work) as (_, url):
        refused = httpx.post(f"{url}/indexes/big/ask/batch", json=flood, timeout=60)
        expect(refused.status_code == 400, f"{refused.status_code}")
        quiet = _latencies(url, 30)
        stop, statuses = threading.Event(), []

        def flooding() -> None:
            while not stop.is_set():
                statuses.append(httpx.post(f"{url}/indexes/big/ask/batch", json=flood, timeout=60).status_code)

        threads = [threading.Thread(target=flooding) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        loaded = _latencies(url, 30)
        stop.set()
        for thread in threads:
            thread.join()
    return (
        f"400 ({len(refused.content)} bytes); acme p50 {np.median(quiet):.0f} ms alone, "
        f"{np.median(loaded):.0f} ms beside {len(statuses)} flooding requests"
    )


def _latencies(url: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        expect(httpx.post(f"{url}/indexes/acme/ask", json=QUESTION, timeout=60).status_code == 200, "acme")
        samples.append(1000 * (time.perf_counter() - started))
    return samples


@case("5. token, --max-memory 0, HEAD /health, a client that goes away")
def edges(work: Path) -> str:
    token = run("serve", "--index", "tenants/acme", cwd=work, env={**os.environ, "FAQSEARCH_TOKEN": "pässwörd"})
    one_line_error(token, "FAQSEARCH_TOKEN")
    one_line_error(run("serve", "--indexes-dir", "tenants", "--max-memory", "0", cwd=work), "no memory at all")
    log = work / "serve.err"
    with log.open("w") as err, serving(["--index", "tenants/acme"], work, stderr=err) as (_, url):
        expect(httpx.head(f"{url}/health", timeout=10).status_code == 200, "HEAD /health")
        port = int(url.rsplit(":", 1)[1])
        body = json.dumps({"questions": ["where is my order"] * 64, "k": 5}).encode()
        request = b"POST /ask/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
        for cut in (len(request) + 10, len(request) + len(body)):  # mid-body, and before the response
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall((request + body)[:cut])
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        time.sleep(2)
        expect(httpx.post(f"{url}/ask", json=QUESTION, timeout=10).status_code == 200, "stopped answering")
    expect("Traceback" not in log.read_text(), f"a traceback in the log: {log.read_text()[-300:]}")
    return "token and 0 refused at start; HEAD 200; no traceback after two disconnects"


@case("5. the MCP tool's 1,000-character limit is after collapsing whitespace")
def mcp_limit(work: Path) -> str:
    from faqsearch.search import clean_question

    spaced = "cancel" + " " * 1100 + "my plan"
    expect(clean_question(spaced) == "cancel my plan", "not collapsed first")
    return "one check (search.clean_question) for CLI, library, HTTP and MCP"


# 6. Privacy.


@case("6. redaction of full-width, dashed and spelled-out personal data")
def privacy(work: Path) -> str:
    cases = {
        "jane＠example.com": "[email]",
        "555–123–4567": "[phone]",
        "０９０－１２３４－５６７８": "[phone]",
        "jane at example dot com": "[email]",
    }
    for text, marker in cases.items():
        expect(redact(text) == marker, f"{text!r} -> {redact(text)!r}")
    return f"{len(cases)} of {len(cases)} redacted"


# 7. Copies of indexes.


@case("7. an index copied with `cp -r`")
def copied(work: Path) -> str:
    tenants = work / "copied"  # another tenants folder: acme's versions are not beside its copy
    shutil.copytree(work / "tenants" / "globex", tenants / "globex")
    subprocess.run(["cp", "-r", str(work / "tenants" / "acme"), str(tenants / "t1")], check=True)
    with serving(["--indexes-dir", str(tenants), "--no-unanswered-log"], work) as (_, url):
        listed = {i["name"]: i for i in httpx.get(f"{url}/indexes", timeout=10).json()}
        expect("t1" in listed and "cp -rL" in listed["t1"].get("error", ""), f"t1 listed as {listed.get('t1')}")
        response = httpx.post(f"{url}/indexes/t1/ask", json=QUESTION, timeout=10)
        expect(response.status_code == 503 and "cp -rL" in response.json()["error"], response.text[:200])
    return "listed, and answered with a 503 saying `cp -rL`"


def prepare(work: Path) -> None:
    """Three tenants built from the example FAQ (acme, globex, initech)."""
    faq = work / "faqs" / "en.yaml"
    faq.parent.mkdir()
    shutil.copy(ROOT / "faqs" / "en.yaml", faq)
    built = run("build", str(faq), "--index", str(work / "tenants" / "acme"), cwd=work, timeout=600)
    expect(built.returncode == 0, built.stderr)
    for name in ("globex", "initech"):
        version = (work / "tenants" / "acme").resolve()
        shutil.copytree(version, work / "tenants" / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="Run only the cases whose name holds this")
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work)
        for name, check in CASES:
            if args.only not in name:
                continue
            started = time.monotonic()
            try:
                detail, verdict = check(work), "PASS"
            except (Failed, subprocess.TimeoutExpired, httpx.HTTPError, OSError) as exc:
                detail, verdict = f"{type(exc).__name__}: {exc}", "FAIL"
                failed += 1
            print(f"{verdict}  {name}  [{time.monotonic() - started:.1f} s]  {detail}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
