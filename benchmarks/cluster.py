"""faqsearch on Ray Serve (issue #28) against the one-process server, on this machine.

- The example FAQ is built once and copied as --tenants tenant indexes (tenants.py's way).
- `faqsearch serve --indexes-dir` answers every (tenant, question) pair once: the reference.
  Then --clients clients send the questions of tests/queries.yaml to the tenants in turn for
  --seconds: requests/s, p50, p99. Every --every-th question is asked of each tenant, in batches, to
  compare the answers.
- A local Ray cluster (a head and a worker node, separate processes, one CPU each) runs
  deploy/ray-serve.yaml (proxy on the head, on loopback), with the Answerer at 1 replica, then
  at 2: the same load, and every pair's answer compared with the reference.
- Failover, at 2 replicas: 8 clients ask with the README's retry policy; one Answerer replica is
  kill -9ed, then the Ingress replica the proxy uses; reported for each are the seconds until Ray
  runs its replacement, the slowest request around the kill, the requests that needed a client
  retry, and those that failed even so.

Usage: python benchmarks/cluster.py [--tenants 50] [--clients 32] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import level
from servers import serving
from tenants import example_tenants

from faqsearch.serving import deploy
from faqsearch.serving.localray import LocalCluster, free_port
from faqsearch.serving.requests import MAX_BATCH

ROOT = Path(__file__).resolve().parent.parent
RETRY_STATUSES = (502, 503, 504)


def answers(url: str, tenants: list[str], questions: list[str]) -> dict:
    """Each tenant's answers to the questions (batch requests), by (tenant, question)."""
    found = {}
    with httpx.Client(base_url=url, timeout=60) as http:
        for tenant in tenants:
            for start in range(0, len(questions), MAX_BATCH):
                some = questions[start : start + MAX_BATCH]
                body = {"questions": some, "k": 2, "sentiment": True}
                batch = http.post(f"/indexes/{tenant}/ask/batch", json=body).json()["answers"]
                found |= {(tenant, q): a for q, a in zip(some, batch, strict=True)}
    return found


def load(url: str, questions: list[str], tenants: list[str], clients: int, seconds: float) -> dict:
    asyncio.run(level(url, questions, 4, 40, 10, tenants))  # warm-up
    return asyncio.run(level(url, questions, clients, 10**9, seconds, tenants))


def serve_config(work: Path, indexes: Path, replicas: int, port: int) -> Path:
    """deploy/ray-serve.yaml on loopback `port` (Ray keeps the port it first got), `replicas` Answerers."""
    config = yaml.safe_load((ROOT / "deploy" / "ray-serve.yaml").read_text(encoding="utf-8"))
    config["proxy_location"] = "HeadOnly"  # two nodes on one machine cannot both bind the port
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    application = config["applications"][0]
    application["args"]["indexes_dir"] = str(indexes)
    [answerer] = [d for d in application["deployments"] if d["name"] == "Answerer"]
    answerer["autoscaling_config"] |= {"min_replicas": replicas, "max_replicas": replicas}
    path = work / f"serve-{replicas}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def failover(url: str, cluster: LocalCluster, questions: list[str], tenants: list[str], deployment: str) -> dict:
    """8 clients with the README's retry policy; a replica of `deployment` killed after 3 s (of
    the Ingress, the one on the proxy's node, which the proxy prefers)."""
    latencies, retried, failed, stop = [], 0, 0, asyncio.Event()

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal retried, failed
        while not stop.is_set():
            path = f"/indexes/{random.choice(tenants)}/ask"
            started = time.perf_counter()
            for attempt in range(3):
                try:
                    response = await http.post(path, json={"question": random.choice(questions)})
                    if response.status_code not in RETRY_STATUSES:
                        failed += response.status_code != 200  # not retried by the policy: a client sees it
                        break
                except httpx.HTTPError:
                    pass
                retried += attempt < 2
                failed += attempt == 2
                await asyncio.sleep(random.uniform(0.05, 0.2))
            latencies.append((started, time.perf_counter() - started))

    proxies = deploy.proxy_nodes(cluster.address)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        tasks = [asyncio.create_task(client(http)) for _ in range(8)]
        await asyncio.sleep(3)
        before = deploy.replicas(deploy.applications(cluster.address)["faqsearch"], deployment)
        before = sorted((r for r in before if r["state"] == "RUNNING"), key=lambda r: r["node_id"] not in proxies)
        killed = before[0]["pid"]
        os.kill(killed, signal.SIGKILL)
        at = time.perf_counter()
        while True:
            now = deploy.replicas(deploy.applications(cluster.address)["faqsearch"], deployment)
            running = {r["pid"] for r in now if r["state"] == "RUNNING"}
            if len(running) == 2 and killed not in running:
                break
            await asyncio.sleep(0.2)
        replaced = time.perf_counter() - at
        await asyncio.sleep(3)
        stop.set()
        await asyncio.gather(*tasks)
    around = [seconds for started, seconds in latencies if at - 5 <= started <= at + 5]
    return {
        "replaced_s": replaced,
        "slowest_ms": 1000 * max(around),
        "requests": len(latencies),
        "retried": retried,
        "failed": failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--every", type=int, default=10, help="compare answers to every Nth question")
    args = parser.parse_args()
    questions = [q["question"] for q in yaml.safe_load((ROOT / "tests" / "queries.yaml").read_text())["queries"]]
    work = Path(tempfile.mkdtemp(prefix="faqsearch-cluster-"))
    try:
        tenants = example_tenants(work, args.tenants)
        indexes = work / "tenants"
        rows = {}
        with serving(["--indexes-dir", str(indexes), "--max-memory", "2GiB", "--no-unanswered-log"], work) as (
            _,
            url,
        ):
            reference = answers(url, tenants, questions[:: args.every])
            rows["faqsearch serve"] = load(url, questions, tenants, args.clients, args.seconds)
            print(rows, flush=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with LocalCluster(nodes=2, cpus=1) as cluster:
            for replicas in (1, 2):
                deploy.deploy(deploy.read_config(serve_config(work, indexes, replicas, port)), cluster.address)
                asked = answers(url, tenants, questions[:: args.every])
                differ = sum(a != reference[pair] for pair, a in asked.items())
                rows[f"Ray Serve, {replicas} replica(s)"] = load(url, questions, tenants, args.clients, args.seconds)
                rows[f"Ray Serve, {replicas} replica(s)"]["differ"] = differ
                print(replicas, rows[f"Ray Serve, {replicas} replica(s)"], flush=True)
            killed = {d: asyncio.run(failover(url, cluster, questions, tenants, d)) for d in ("Answerer", "Ingress")}
        print(f"{args.tenants} tenants, {len(reference)} (tenant, question) pairs; {args.clients} clients")
        print("server                        req/s   p50 ms   p99 ms  errors  answers differing")
        for name, r in rows.items():
            print(f"{name:28} {r['rps']:6.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7}  {r.get('differ', '-')}")
        for deployment, k in killed.items():
            print(
                f"failover, {deployment} killed: replacement running {k['replaced_s']:.1f} s after the kill; slowest "
                f"request within 5 s of it {k['slowest_ms']:.0f} ms; {k['requests']} requests, {k['retried']} client "
                f"retries, {k['failed']} failed after retries"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
