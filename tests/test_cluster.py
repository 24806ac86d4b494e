"""faqsearch on Ray Serve, for real: a local Ray cluster (a head and a worker node, separate
processes, one CPU each), deploy/ray-serve.yaml deployed by `faqsearch cluster deploy` over 50
tenant indexes with a token, answers compared with the one-process server's, an Answerer and an
Ingress replica killed under load; and deploy/kuberay.yaml checked against the same application."""

from __future__ import annotations

import copy
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import SMALL_FAQ
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse
from typer.testing import CliRunner

from faqsearch import load_faqs
from faqsearch.build import build_index
from faqsearch.cli import app
from faqsearch.encoders import get_encoder
from faqsearch.errors import FAQSearchError
from faqsearch.memory import parse_size
from faqsearch.serving import deploy
from faqsearch.serving.app import create_app
from faqsearch.serving.localray import LocalCluster, free_port
from faqsearch.serving.tenants import Tenants, TooLarge

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
TOKEN = "s3cret-cluster-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEALTH_KEYS = {"status", "indexes", "stale"}


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
    port = free_port()

    def on_this_machine(config: dict) -> None:
        config |= {"proxy_location": "HeadOnly", "http_options": {"host": "127.0.0.1", "port": port}}
        config["applications"][0]["args"]["indexes_dir"] = str(tenants_dir)

    path = edited(CONFIG, work, on_this_machine)
    try:
        local = LocalCluster(nodes=2, cpus=1, log_dir=work, env={"FAQSEARCH_MODELS_DIR": str(models)}).__enter__()
    except FAQSearchError as exc:
        pytest.skip(f"Ray cannot start on this machine: {exc}")
    try:
        local.config = path
        deployed = deploy_with_token(local.config, local.address)
        assert deployed.exit_code == 0, deployed.stderr
        assert "faqsearch: running, 2 Answerer replica(s)" in deployed.stdout
        local.url = f"http://127.0.0.1:{port}"
        yield local
    finally:
        local.__exit__()


def edited(config: Path, folder: Path, edit) -> Path:
    """A copy of the Serve config `config` in `folder`, as `edit(config)` changed it."""
    body = yaml.safe_load(config.read_text(encoding="utf-8"))
    edit(body)
    path = folder / "serve.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def deploy_with_token(config: Path, address: str):
    """`faqsearch cluster deploy` with $FAQSEARCH_TOKEN set where it runs."""
    return CliRunner().invoke(
        app, ["cluster", "deploy", str(config), "--address", address], env={"FAQSEARCH_TOKEN": TOKEN}
    )


def ask(client: httpx.Client, url: str, body: dict, retried: list | None = None) -> httpx.Response:
    """The README's client retry policy: on a connection error, a timeout or a 502/503/504,
    retry up to twice after 50-200 ms of jittered backoff; never on another status. What
    made it retry is appended to `retried`."""
    for attempt in range(3):
        try:
            response = client.post(url, json=body, headers=AUTH, timeout=30)
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


def running(cluster, deployment: str) -> list[dict]:
    replicas = deploy.replicas(deploy.applications(cluster.address)["faqsearch"], deployment)
    return [r for r in replicas if r["state"] == "RUNNING"]


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
        listed = client.get(f"{cluster.url}/indexes", params={"limit": 3}, headers=AUTH).json()
        assert [i["name"] for i in listed] == ["t00", "t01", "t02"]
        refused = client.post(f"{cluster.url}/indexes/t01/ask", json={"question": "hi"})  # no token
        assert refused.status_code == 401 and "bearer token" in refused.json()["error"]


def test_killed_replicas_are_replaced_and_no_request_fails(cluster, expected):
    """Eight clients ask tenants at random, two of them batches of 8 long questions (~0.7 s of a
    replica's encoder each, so requests are in flight everywhere), while an Answerer replica and
    the Ingress replica the proxy routes to are kill -9ed together. The Ingress asks another
    Answerer for the requests the dead one had, and the proxy's middleware sends the dead
    Ingress's requests to the other Ingress: clients see no error, and need no retry of their own
    (without the middleware, the proxy answered some with a plain-text 500)."""
    answering, ingresses = running(cluster, "Answerer"), running(cluster, "Ingress")
    assert len(answering) == 2 and len({r["node_id"] for r in answering}) == 2  # one per node
    proxies = deploy.proxy_nodes(cluster.address)
    ingress = next((r for r in ingresses if r["node_id"] in proxies), ingresses[0])  # the proxy prefers its node's
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
        killed = {answering[0]["pid"], ingress["pid"]}
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while True:
            now = running(cluster, "Answerer") + running(cluster, "Ingress")
            if len(now) == 4 and not killed & {r["pid"] for r in now}:
                break
            assert time.monotonic() < deadline, "Ray did not replace the killed replicas within 120 s"
            time.sleep(0.5)
        time.sleep(2)  # and the replacements answer too
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors and not retried
    assert len(results) > 50
    assert [(status, body) for status, body, _ in results if status != 200] == []
    assert all(body == wanted for _, body, wanted in results)


def test_health_says_what_the_one_process_server_says_of_every_answerer(cluster, tenants_dir):
    """GET /health: the one-process server's keys, `indexes` open on the Answerers (t00 on each,
    opened by its warm-up) and `stale` those whose FAQ file changed since they were built."""
    with TestClient(create_app(Tenants.folder(tenants_dir, None, None, False, frozenset()), None)) as client:
        assert set(client.get("/health").json()) == HEALTH_KEYS
    faq = tenants_dir.parent / "shop.yaml"
    with httpx.Client() as client:
        health = wait_for_health(client, cluster.url, lambda h: h["indexes"] >= 2)
        assert set(health) == HEALTH_KEYS and health["status"] == "ok" and health["stale"] == []
        try:
            faq.write_text(SMALL_FAQ + "# edited\n", encoding="utf-8")
            assert "t00" in wait_for_health(client, cluster.url, lambda h: h["stale"])["stale"]
        finally:
            faq.write_text(SMALL_FAQ, encoding="utf-8")


def wait_for_health(client: httpx.Client, url: str, until) -> dict:
    """GET /health (no token needed) until `until(body)`, for up to 30 s."""
    deadline = time.monotonic() + 30
    while True:
        health = client.get(f"{url}/health").json()
        if until(health) or time.monotonic() > deadline:
            return health
        time.sleep(0.5)


def test_a_folder_the_cluster_cannot_serve_is_an_error_naming_the_config_field(cluster, tmp_path):
    """Deployed beside the running application, one whose indexes_dir is not a folder on the
    nodes: `cluster deploy` names the field, not `faqsearch serve`'s flag."""

    def add_broken(config: dict) -> None:
        broken = copy.deepcopy(config["applications"][0]) | {"name": "broken", "route_prefix": "/broken"}
        broken["args"]["indexes_dir"] = str(tmp_path / "nowhere")
        config["applications"].append(broken)

    path = edited(cluster.config, tmp_path, add_broken)
    try:
        result = deploy_with_token(path, cluster.address)
        assert result.exit_code == 2 and "--indexes-dir" not in result.stderr
        assert result.stderr.startswith(f"error: {path}: applications[1].args.indexes_dir: {tmp_path / 'nowhere'} is")
    finally:
        assert deploy_with_token(cluster.config, cluster.address).exit_code == 0  # `broken` removed


def kuberay() -> dict:
    """deploy/kuberay.yaml's documents by kind."""
    return {d["kind"]: d for d in yaml.safe_load_all((ROOT / "deploy" / "kuberay.yaml").read_text(encoding="utf-8"))}


def kuberay_application() -> dict:
    return yaml.safe_load(kuberay()["RayService"]["spec"]["serveConfigV2"])["applications"][0]


def claimed(pod: dict, claim: str) -> list[tuple[dict, dict]]:
    """(container, mount) for each mount of the persistent volume claim `claim` in a pod spec."""
    volumes = {v["name"] for v in pod["volumes"] if v.get("persistentVolumeClaim", {}).get("claimName") == claim}
    return [(c, m) for c in pod["containers"] for m in c.get("volumeMounts", []) if m["name"] in volumes]


def test_the_kuberay_manifest_deploys_the_same_application():
    serve_config = yaml.safe_load(kuberay()["RayService"]["spec"]["serveConfigV2"])
    assert serve_config["applications"] == yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["applications"]


def test_every_kuberay_pod_reads_the_token_from_a_secret_and_the_indexes_from_the_claim():
    manifest = kuberay()
    claim = manifest["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # the pods read it, publish Jobs write it
    cluster = manifest["RayService"]["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"]["spec"], *(g["template"]["spec"] for g in cluster["workerGroupSpecs"])]
    indexes_dir = kuberay_application()["args"]["indexes_dir"]
    for pod in pods:
        mounts = claimed(pod, claim["metadata"]["name"])
        assert {c["name"] for c, _ in mounts} == {c["name"] for c in pod["containers"]}
        assert {(m["mountPath"], m["readOnly"]) for _, m in mounts} == {(indexes_dir, True)}
        for container in pod["containers"]:
            env = {variable["name"]: variable for variable in container["env"]}
            assert set(env["FAQSEARCH_TOKEN"]["valueFrom"]) == {"secretKeyRef"}
            assert env[deploy.PROXY_CALLBACK_ENV]["value"] == deploy.PROXY_CALLBACK


def test_the_kuberay_worker_pods_fit_the_answerers_autoscaling_bounds():
    """Worker pods hold whole Answerers, and as many as the autoscaling bounds ask for: no CPU idle at
    the minimum; a pod's memory holds its Answerers' max_memory (their whole processes, the
    encoder inside) and ~1 GiB of Ray's own processes."""
    application = kuberay_application()
    [answerer] = [d for d in application["deployments"] if d["name"] == "Answerer"]
    cpus, bounds = answerer["ray_actor_options"]["num_cpus"], answerer["autoscaling_config"]
    [group] = kuberay()["RayService"]["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    [container] = group["template"]["spec"]["containers"]
    limits = container["resources"]["limits"]
    per_pod = float(limits["cpu"]) / cpus
    assert per_pod == int(per_pod) >= 1
    assert (group["minReplicas"] * per_pod, group["maxReplicas"] * per_pod) == (
        bounds["min_replicas"],
        bounds["max_replicas"],
    )
    ray_processes = 1 << 30
    assert parse_size(limits["memory"] + "B") >= per_pod * parse_size(application["args"]["max_memory"]) + ray_processes
    assert container["resources"]["requests"] == limits


def test_the_publish_job_builds_into_the_claim_the_pods_read():
    text = (ROOT / "deploy" / "kuberay-publish.yaml").read_text(encoding="utf-8")
    job = yaml.safe_load(text.replace("TENANT", "acme"))
    indexes_dir = kuberay_application()["args"]["indexes_dir"]
    claim = kuberay()["PersistentVolumeClaim"]["metadata"]["name"]
    [(container, mount)] = claimed(job["spec"]["template"]["spec"], claim)
    assert mount["mountPath"] == indexes_dir and not mount.get("readOnly")
    assert container["command"] == ["faqsearch"] and container["args"][0] == "build"
    assert container["args"][-2:] == ["--index", f"{indexes_dir}/acme"]


def test_faqsearch_serve_and_the_deploy_command_never_import_ray():
    code = "import sys, faqsearch.cli, faqsearch.serving.app; assert 'ray' not in sys.modules, 'ray was imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_an_unreachable_cluster_is_a_one_line_error(cli, monkeypatch):
    monkeypatch.setenv("FAQSEARCH_TOKEN", TOKEN)  # else a warning comes first (below)
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
    path = edited(CONFIG, tmp_path, lambda config: config["applications"][0]["args"].update(edit))
    result = cli("cluster", "deploy", str(path), "--address", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}: {message}")


@pytest.mark.parametrize(
    ("host", "token", "runtime_env", "warned"),
    [
        ("0.0.0.0", None, None, True),
        ("0.0.0.0", TOKEN, None, False),  # $FAQSEARCH_TOKEN where the deploy runs
        ("0.0.0.0", None, {"env_vars": {"FAQSEARCH_TOKEN": TOKEN}}, False),
        ("127.0.0.1", None, None, False),
    ],
)
def test_a_proxy_open_to_the_network_without_a_token_is_warned_of(
    cli, tmp_path, monkeypatch, host, token, runtime_env, warned
):
    def edit(config: dict) -> None:
        config["http_options"]["host"] = host
        if runtime_env is not None:
            config["applications"][0]["runtime_env"] = runtime_env

    path = edited(CONFIG, tmp_path, edit)
    monkeypatch.delenv("FAQSEARCH_TOKEN", raising=False)
    if token is not None:
        monkeypatch.setenv("FAQSEARCH_TOKEN", token)
    result = cli("cluster", "deploy", str(path), "--address", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 2 and "error: cannot reach a Ray cluster" in result.stderr
    warning = f"WARNING: {path}: http_options.host is 0.0.0.0 and no token is set ($FAQSEARCH_TOKEN here, or "
    assert (warning in result.stderr) == warned


def test_the_servers_messages_about_settings_name_the_config_fields(tenants_dir, tmp_path):
    """tenants.py names settings by `faqsearch serve`'s flags; what reaches a Serve config's
    reader names the `args` fields: a missing or empty folder, a max_memory too small for an
    index or for the encoder beside it, an index too large for what is left."""
    for settings, field in [
        (deploy.Settings(str(tmp_path / "nowhere")), "args.indexes_dir: "),
        (deploy.Settings(str(tmp_path)), "args.indexes_dir: "),
        (deploy.Settings(str(tenants_dir), max_memory="1KiB"), "args.max_memory: "),
    ]:
        with pytest.raises(FAQSearchError) as refused:
            settings.tenants()
        assert str(refused.value).startswith(field) and not any(f in str(refused.value) for f in deploy.SERVE_FLAGS)
    tenants = deploy.Settings(str(tenants_dir), max_memory="20MiB").tenants()
    tenants.get("t00")
    with pytest.raises(FAQSearchError) as refused, deploy.config_terms():
        tenants.set_budget()  # the test process holds far more than 20 MiB: as a replica whose encoder does not fit
    assert str(refused.value).startswith("args.max_memory: 20") and "cannot hold the server" in str(refused.value)
    too_large = deploy.in_config_terms(str(TooLarge("t01", 2 << 20, 1 << 20)))
    assert too_large.endswith("MiB args.max_memory leaves for indexes; raise args.max_memory")
    # Ray's details of an application whose Answerer's constructor raised that (as Ray gave them)
    traceback = f"Traceback (most recent call last):\n  ...\nfaqsearch.errors.FAQSearchError: {refused.value}"
    answerer = {"status": "DEPLOY_FAILED", "message": traceback}
    state = {
        "status": "DEPLOY_FAILED",
        "message": "Failed to update the deployments ['Answerer'].",
        "deployments": {"Answerer": answerer, "Ingress": {"status": "HEALTHY", "message": ""}},
    }
    failed = str(deploy.read_config(CONFIG).failed("faqsearch", state))
    assert failed == f"{CONFIG}: applications[0].{refused.value}"


def test_the_proxy_middleware_resends_a_request_that_got_no_response():
    """What Ray's proxy does when the Ingress replica it routed to dies: it returns without
    sending anything. Resend sends the same body again; after RETRIES more, a JSON 503."""
    cluster = pytest.importorskip("faqsearch.serving.cluster", reason="Ray Serve is not installed")
    calls = []

    async def dies_first(scope, receive, send) -> None:
        body = (await receive())["body"]
        calls.append(body)
        if len(calls) > 1:
            await JSONResponse({"echo": body.decode()})(scope, receive, send)

    answered = TestClient(cluster.Resend(dies_first)).post("/indexes/t01/ask", content=b'{"question": "hi"}')
    assert (answered.status_code, answered.json(), len(calls)) == (200, {"echo": '{"question": "hi"}'}, 2)

    async def always_dies(scope, receive, send) -> None:
        calls.append(await receive())

    calls.clear()
    refused = TestClient(cluster.Resend(always_dies)).post("/ask", content=b'{"question": "hi"}')
    assert (refused.status_code, refused.json()) == (503, {"error": cluster.UNAVAILABLE})
    assert len(calls) == cluster.RETRIES + 1


def test_an_answerer_that_cannot_answer_any_more_fails_rays_health_check():
    """Ray replaces a replica whose check_health raises, as a supervisor restarts `faqsearch serve`."""
    cluster = pytest.importorskip("faqsearch.serving.cluster", reason="Ray Serve is not installed")
    check = cluster.Answerer.func_or_class.check_health
    check(SimpleNamespace(service=SimpleNamespace(problem=lambda: None)))
    with pytest.raises(RuntimeError, match="stuck"):
        check(SimpleNamespace(service=SimpleNamespace(problem=lambda: "the worker has been stuck on one job")))
