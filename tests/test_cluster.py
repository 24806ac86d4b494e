"""faqsearch on Ray Serve, for real: a local Ray cluster (a head and a worker node, separate
processes, one CPU each), deploy/ray-serve.yaml deployed by `faqsearch cluster deploy` over 50
tenant indexes, answers compared with the one-process server's, and a replica killed under load."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import SMALL_FAQ
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from faqsearch import load_faqs
from faqsearch.build import build_index
from faqsearch.cli import app
from faqsearch.encoders import get_encoder
from faqsearch.errors import FAQSearchError
from faqsearch.serving import deploy
from faqsearch.serving.app import create_app
from faqsearch.serving.localray import LocalCluster, free_port
from faqsearch.serving.tenants import Tenants

httpx = pytest.importorskip("httpx")

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "ray-serve.yaml"
TENANTS = 50
QUESTIONS = [
    "¿cómo cancelo?",
    "where is my parcel",
    "j'ai oublié mon mot de passe",
    "Wo ist meine Bestellung?",
    "パスワードを忘れました",
    "what is the capital of Australia?",
]
LONG = ("まだ荷物が届いていません。" * 77)[:1000]  # past the encoder's 128 tokens: the costliest question there is
RETRY_STATUSES = (502, 503, 504)


@pytest.fixture(scope="module")
def tenants_dir(tmp_path_factory) -> Path:
    """50 tenants: the small FAQ built once, its version folder copied under 49 more names."""
    root = tmp_path_factory.mktemp("cluster") / "tenants"
    faq = root.parent / "shop.yaml"
    faq.write_text(SMALL_FAQ, encoding="utf-8")
    build_index(load_faqs(faq), get_encoder("e5-aligned"), root / "t00")
    version = os.readlink(root / "t00")
    for i in range(1, TENANTS):
        name = f"t{i:02}"
        shutil.copytree(root / ".t00.versions", root / f".{name}.versions", symlinks=True)
        (root / name).symlink_to(version.replace(".t00.", f".{name}."))
    return root


@pytest.fixture(scope="module")
def expected(tenants_dir) -> dict:
    """The one-process server's answer to each question, per tenant (all tenants hold one FAQ)."""
    tenants = Tenants.folder(tenants_dir, None, None, False, frozenset())
    with TestClient(create_app(tenants, unanswered_log=None)) as client:
        body = {"questions": [*QUESTIONS, LONG], "k": 2, "sentiment": True}
        answers = client.post("/indexes/t07/ask/batch", json=body).json()["answers"]
        return dict(zip([*QUESTIONS, LONG], answers, strict=True))


@pytest.fixture(scope="module")
def cluster(tenants_dir, tmp_path_factory, composed_e5_aligned):
    """The cluster with deploy/ray-serve.yaml deployed: only the proxy (one machine: HeadOnly, a
    free loopback port) and the indexes folder differ. Skips, saying why, where Ray cannot start."""
    pytest.importorskip("ray.serve", reason="Ray Serve is not installed: pip install -e '.[cluster]'")
    work = tmp_path_factory.mktemp("ray")
    models = work / "models"
    models.mkdir()
    (models / "e5-aligned").symlink_to(composed_e5_aligned, target_is_directory=True)
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    port = free_port()
    config["proxy_location"] = "HeadOnly"
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    config["applications"][0]["args"]["indexes_dir"] = str(tenants_dir)
    (work / "serve.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    try:
        local = LocalCluster(nodes=2, cpus=1, log_dir=work, env={"FAQSEARCH_MODELS_DIR": str(models)}).__enter__()
    except FAQSearchError as exc:
        pytest.skip(f"Ray cannot start on this machine: {exc}")
    try:
        deployed = CliRunner().invoke(app, ["cluster", "deploy", str(work / "serve.yaml"), "--address", local.address])
        assert deployed.exit_code == 0, deployed.stderr
        assert "faqsearch: running, 2 Answerer replica(s)" in deployed.stdout
        local.url = f"http://127.0.0.1:{port}"
        yield local
    finally:
        local.__exit__()


def ask(client: httpx.Client, url: str, body: dict, retried: list | None = None) -> httpx.Response:
    """The README's client retry policy: on a connection error, a timeout or a 502/503/504,
    retry up to twice after 50-200 ms of jittered backoff; never on another status. What
    made it retry is appended to `retried`."""
    for attempt in range(3):
        try:
            response = client.post(url, json=body, timeout=30)
            if response.status_code not in RETRY_STATUSES or attempt == 2:
                return response
            why = response.status_code
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            if attempt == 2:
                raise
            why = repr(exc)
        if retried is not None:
            retried.append(why)
        time.sleep(random.uniform(0.05, 0.2))
    raise AssertionError("unreachable")


def answerers(cluster) -> list[dict]:
    return deploy.replicas(deploy.applications(cluster.address)["faqsearch"], "Answerer")


def test_every_tenant_answers_as_the_one_process_server_does(cluster, expected):
    with httpx.Client() as client:
        for i in range(TENANTS):
            body = {"questions": QUESTIONS, "k": 2, "sentiment": True}
            answers = ask(client, f"{cluster.url}/indexes/t{i:02}/ask/batch", body).json()["answers"]
            assert answers == [expected[q] for q in QUESTIONS], f"tenant t{i:02}"
        one = ask(client, f"{cluster.url}/ask", {"question": QUESTIONS[0], "index": "t49", "k": 2, "sentiment": True})
        assert one.json() == expected[QUESTIONS[0]]


def test_bad_requests_get_the_same_errors_as_one_process(cluster):
    with httpx.Client() as client:
        unknown = ask(client, f"{cluster.url}/indexes/t99/ask", {"question": "hi"})
        assert unknown.status_code == 404 and "no index `t99`" in unknown.json()["error"]
        tag = ask(client, f"{cluster.url}/indexes/t01/ask", {"question": "hi", "tags": ["nope"]})
        assert tag.status_code == 400 and "no entry carries the tag 'nope'" in tag.json()["error"]
        empty = ask(client, f"{cluster.url}/indexes/t01/ask", {"question": " "})
        assert empty.status_code == 422 and empty.json()["error"] == "question: is empty; ask something"
        listed = client.get(f"{cluster.url}/indexes", params={"limit": 3}).json()
        assert [i["name"] for i in listed] == ["t00", "t01", "t02"]


def test_a_killed_replica_is_replaced_and_no_request_fails(cluster, expected):
    """Eight clients ask tenants at random, two of them batches of 8 long questions (~0.7 s of a
    replica's encoder each, so requests are in flight on both replicas), while one Answerer
    replica is kill -9ed. The Ingress asks the other replica for the requests the dead one had:
    clients see no error, and need no retry of their own."""
    before = [r for r in answerers(cluster) if r["state"] == "RUNNING"]
    assert len(before) == 2 and len({r["node_id"] for r in before}) == 2  # one per node
    stop, results, errors, retried = threading.Event(), [], [], []

    def client_loop(heavy: bool) -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                tenant = f"{cluster.url}/indexes/t{random.randrange(TENANTS):02}"
                question = random.choice(QUESTIONS)
                try:
                    if heavy:
                        body = {"questions": [LONG] * 8, "k": 2, "sentiment": True}
                        response = ask(client, f"{tenant}/ask/batch", body, retried)
                        results.append((response.status_code, response.json().get("answers"), [expected[LONG]] * 8))
                    else:
                        body = {"question": question, "k": 2, "sentiment": True}
                        response = ask(client, f"{tenant}/ask", body, retried)
                        results.append((response.status_code, response.json(), expected[question]))
                except Exception as exc:  # counted: the assertion below names it
                    errors.append(repr(exc))

    threads = [threading.Thread(target=client_loop, args=(i < 2,)) for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        killed = before[0]["pid"]
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while True:
            running = [r for r in answerers(cluster) if r["state"] == "RUNNING"]
            if len(running) == 2 and killed not in {r["pid"] for r in running}:
                break
            assert time.monotonic() < deadline, "Ray did not replace the killed replica within 120 s"
            time.sleep(0.5)
        time.sleep(2)  # and the replacement answers too
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors and not retried
    assert len(results) > 50
    assert [(status, body) for status, body, _ in results if status != 200] == []
    assert all(body == wanted for _, body, wanted in results)


def test_the_kuberay_manifest_deploys_the_same_application():
    kuberay = yaml.safe_load((ROOT / "deploy" / "kuberay.yaml").read_text(encoding="utf-8"))
    serve_config = yaml.safe_load(kuberay["spec"]["serveConfigV2"])
    assert serve_config["applications"] == yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["applications"]


def test_faqsearch_serve_and_the_deploy_command_never_import_ray():
    code = "import sys, faqsearch.cli, faqsearch.serving.app; assert 'ray' not in sys.modules, 'ray was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_an_unreachable_cluster_is_a_one_line_error(cli):
    result = cli("cluster", "deploy", str(CONFIG), "--address", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot reach a Ray cluster at http://127.0.0.1:")
    assert "start one with `ray start --head`" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"max_memory": "lots"}, "applications[0].args.max_memory: "),
        ({"indexes": "/srv"}, "applications[0].args.indexes: unknown; allowed: indexes_dir, max_memory"),
        ({"unanswered_days": 0}, "applications[0].args.unanswered_days: must be at least 1"),
    ],
)
def test_a_config_with_bad_args_is_refused_before_the_cluster_is_asked(cli, tmp_path, edit, message):
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["applications"][0]["args"] |= edit
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = cli("cluster", "deploy", str(path), "--address", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}: {message}")
