"""Build speed (issue #38): does a build cost at most twice its embedding, at every size?

Synthetic FAQs of N phrasings, English sentences of Tatoeba-Challenge
(`parallel/tatoeba-challenge/*-eng.eng`, distinct, in file order), one phrasing per entry or
PER per entry (consecutive sentences: unrelated phrasings, which a classifier fits no faster
than paraphrases). Each is built with the default encoder in a fresh process, as `faqsearch
build` runs: the FAQ read, then build_index into an empty folder. Reported:
- build s: reading and building; embed s: loading the encoder and its own calls (its engine's
  start included, as a one-shot build pays it); rest s: the difference; ratio: build / embed (the issue's target:
  at most 2);
- each stage's seconds (Built.timings, what `faqsearch build --profile` prints), when the
  faqsearch under test has them;
- peak RSS of the build's process, the encoder's own (a process that only loads it and embeds
  the FAQ's phrasings as the build does), and the index's size on disk (the target: peak <=
  encoder + 2 x index);
- edit s: the same FAQ with one entry's question changed, rebuilt into the same index (the
  previous vectors reused), in a fresh process;
- the example FAQ again with an empty cache folder, as on a fresh install, a new container or CI
  (e5-aligned's model file composed, the langid and vectors caches empty).
100,000 phrasings take the default encoder ~16 minutes to embed on 2 cores.

Usage: python benchmarks/build_speed.py ../shared/data [--sizes 300,2000,20000] [--per-entry 1,20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parent.parent / "faqs" / "en.yaml"
EDIT = "\n# edited\n"  # the example FAQ's edit: its hash changes, no phrasing does (every vector reused)


def sentences(data: Path, n: int) -> list[str]:
    """The first `n` distinct English sentences of Tatoeba-Challenge's pairs."""
    found: dict[str, str] = {}
    for path in sorted((data / "parallel" / "tatoeba-challenge").glob("*-eng.eng")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = " ".join(line.split())
            if text and text.casefold() not in found:
                found[text.casefold()] = text
                if len(found) == n:
                    return list(found.values())
    raise SystemExit(f"only {len(found):,} distinct sentences in {data}; ask for fewer phrasings")


def faq_text(texts: list[str], per_entry: int, edited: bool = False) -> str:
    """A FAQ of `texts`, `per_entry` phrasings to an entry; `edited`: the middle entry's question changed."""
    entries = []
    for number, start in enumerate(range(0, len(texts), per_entry)):
        question, *alternatives = texts[start : start + per_entry]
        entry = {"id": f"e{number}", "question": question, "answer": f"Answer {number}."}
        if alternatives:
            entry["alternatives"] = alternatives
        entries.append(entry)
    if edited:
        entries[len(entries) // 2]["question"] += " (edited)"
    return yaml.safe_dump({"language": "en", "faqs": entries}, allow_unicode=True, width=1000)


def child_build(faq_path: Path, index: Path) -> dict:
    """Read and build in this process, timing the encoder's calls."""
    from faqsearch.build import build_index
    from faqsearch.encoders import AUTO, get_encoder, resolve
    from faqsearch.faqs import load_faqs

    started = time.perf_counter()
    faq = load_faqs(faq_path)
    read = time.perf_counter() - started
    begun = time.perf_counter()
    encoder = get_encoder(resolve(AUTO))
    spent = [time.perf_counter() - begun]  # loading the encoder, starting its engine and its calls

    def timed(call):
        def timed_call(*args):
            begun = time.perf_counter()
            try:
                return call(*args)
            finally:
                spent[0] += time.perf_counter() - begun

        return timed_call

    encoder.encode, encoder.expect = timed(encoder.encode), timed(encoder.expect)
    built = build_index(faq, encoder, index)
    timings = getattr(built, "timings", None)
    stages = {"read": read} | (dict(timings.seconds) if timings is not None else {})
    return {
        "build": time.perf_counter() - started,
        "embed": spent[0],
        "stages": stages,
        "embedded": built.index.manifest.embedded,
        "entries": built.index.manifest.entries,
        "phrasings": built.index.manifest.phrasings,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "index_mib": sum(p.stat().st_size for p in index.resolve().iterdir()) / 2**20,
    }


def child_encoder(faq_path: Path) -> dict:
    """The encoder's own peak RSS: loaded, and the FAQ's phrasings embedded as a build embeds
    them (the engine it picks for that many, every batch's activations and kernels)."""
    from faqsearch import progress
    from faqsearch.encoders import AUTO, get_encoder, resolve
    from faqsearch.faqs import load_faqs

    faq = load_faqs(faq_path)
    phrasings = [p for entry in faq.entries for p in entry.phrasings]
    progress.encode(get_encoder(resolve(AUTO)), phrasings, faq.phrasing_languages(), "embedding")
    return {"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(*args: str, cache: Path | None = None) -> dict:
    """A child's answer, with `wall`: its seconds from process start (imports included); `cache`:
    its cache folder (models and vectors) instead of the user's."""
    env = os.environ.copy()
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
        env.pop("FAQSEARCH_MODELS_DIR", None)
    started = time.perf_counter()
    command = [sys.executable, __file__, "--child", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        raise SystemExit(f"child {args} failed:\n{result.stderr}")
    return json.loads(result.stdout.splitlines()[-1]) | {"wall": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?", help="../shared/data")
    parser.add_argument("--sizes", default="300,2000,20000", help="phrasings per FAQ, comma-separated")
    parser.add_argument("--per-entry", default="1,20", help="phrasings per entry, comma-separated")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        first, second = args.child
        result = child_encoder(Path(second)) if first == "encoder" else child_build(Path(first), Path(second))
        print(json.dumps(result))
        return
    if args.data is None:
        parser.error("the data folder is required")
    sizes = [int(s) for s in args.sizes.split(",")]
    shapes = [int(s) for s in args.per_entry.split(",")]
    texts = sentences(args.data, max(sizes))
    print(
        "| FAQ | phrasings | entries | one-shot s | build s | embed s | rest s | ratio | stages s | peak MiB | "
        "encoder MiB | index MiB | peak - encoder - 2 x index MiB | edit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    example = EXAMPLE.read_text(encoding="utf-8")
    row("faqs/en.yaml", example, example + EDIT)
    row("faqs/en.yaml, empty cache", example, example + EDIT, empty_cache=True)
    for size in sizes:
        for per_entry in shapes:
            made = texts[:size]
            row(f"{per_entry} per entry", faq_text(made, per_entry), faq_text(made, per_entry, True))


def row(name: str, text: str, edited_text: str, empty_cache: bool = False) -> None:
    """Build the FAQ `text` into a fresh index, then its `edited_text` into the same; print the
    table's row (`empty_cache`: both builds in a cache folder that starts empty)."""
    with tempfile.TemporaryDirectory() as tmp:
        faq, index = Path(tmp) / "faq.yaml", Path(tmp) / "indexes" / "faq"
        cache = Path(tmp) / "cache" if empty_cache else None
        faq.write_text(text, encoding="utf-8")
        encoder_mib = run_child("encoder", str(faq))["peak_mib"]
        fresh = run_child(str(faq), str(index), cache=cache)
        faq.write_text(edited_text, encoding="utf-8")
        edited = run_child(str(faq), str(index), cache=cache)
    stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in fresh["stages"].items())
    over = fresh["peak_mib"] - encoder_mib - 2 * fresh["index_mib"]
    print(
        f"| {name} | {fresh['phrasings']:,} | {fresh['entries']:,} | {fresh['wall']:.1f} | {fresh['build']:.1f} | "
        f"{fresh['embed']:.1f} | {fresh['build'] - fresh['embed']:.1f} | {fresh['build'] / fresh['embed']:.2f} | "
        f"{stages} | {fresh['peak_mib']:.0f} | {encoder_mib:.0f} | {fresh['index_mib']:.0f} | {over:+.0f} | "
        f"{edited['build']:.1f} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
