"""`faqsearch cluster deploy`: the HTTP service on a Ray cluster (serving/deploy.py, cluster.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FAQSearchError
from ..serving.deploy import DEFAULT_ADDRESS, DEPLOY_SECONDS, deploy, read_config, replicas
from .common import _fail, cluster_app


@cluster_app.command("deploy")
def deploy_(
    config: Annotated[Path, typer.Argument(help="A Ray Serve config naming faqsearch.serving.cluster:app")],
    address: Annotated[str, typer.Option(help="The Ray dashboard of the cluster's head node")] = DEFAULT_ADDRESS,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the replicas to answer")] = DEPLOY_SECONDS,
):
    """Deploy (or update) faqsearch on a running Ray cluster and wait until it answers."""
    from ..serving.app import token_from_environment  # the server's modules: not loaded for other commands

    try:
        serve_config = read_config(config).with_token(token_from_environment())
        unprotected = serve_config.unprotected()
        if unprotected is not None:  # as `faqsearch serve` warns of a public address without a token
            typer.secho(f"WARNING: {unprotected}.", err=True, fg="red", bold=True)
        deployed = deploy(serve_config, address, wait)
    except FAQSearchError as exc:
        _fail(exc)
    for name, details in deployed.items():
        running = [r for r in replicas(details, "Answerer") if r.get("state") == "RUNNING"]
        typer.echo(f"{name}: running, {len(running)} Answerer replica(s), at route {details.get('route_prefix', '/')}")
