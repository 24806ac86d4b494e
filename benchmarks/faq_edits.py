"""Labels written into real FAQ files (issue #36): does `faqsearch review --apply` keep every byte
the owner wrote?

1. The example FAQ and the FAQ files made from real public FAQs (real_faqs.py: Québec's in French
   and English, deepset's in English and German, StackFAQ), each given labels made from real
   questions people asked it: one question as a phrasing of its entry (in its language), one in
   another language where the set has one, one as `none`, one as a new entry. Checked: the file
   loads, holds the new phrasings, and its old lines are all there, in order (only lines added,
   or a one-line `[...]` list grown).
2. What a round-trip YAML library would have done instead: every YAML file of the public
   repositories mirrored here, loaded and dumped again unchanged by ruamel.yaml (if installed),
   counted as identical or changed.

Usage: python benchmarks/faq_edits.py /work/.mirror/*/repo
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from public_sets import Benchmark, own
from real_faqs import SOURCES, _has, real_faq_sets

from faqsearch.faqs import load_faqs
from faqsearch.labels import apply, load_labels


def labelled(bench: Benchmark, folder: Path) -> tuple[Path, Path, int]:
    """A copy of the set's FAQ and a label file of real questions asked of it; how many phrasings."""
    faq = folder / f"{bench.name.replace(' ', '_')}.yaml"
    shutil.copy(bench.faq, faq)
    asked = [q for q in bench.asked() if q["expected"] != "none"]
    known = {p.casefold() for e in load_faqs(faq).entries for p in e.phrasings}
    fresh = [q for q in asked if q["question"].casefold() not in known]
    other = next((q for q in fresh if q.get("language", "en") != fresh[0].get("language", "en")), None)
    picks = [fresh[0], *([other] if other else [])]
    lines = [{"question": q["question"], "entry": q["expected"], "language": q.get("language", "en")} for q in picks]
    rest = [q for q in fresh if q not in picks]
    language = load_faqs(faq).language
    same = [q for q in rest if q.get("language", language) == language]
    lines.append({"question": same[0]["question"], "entry": "none", "language": language})
    lines.append({"question": same[1]["question"], "entry": "new", "answer": "A new answer.", "language": language})
    labels = folder / f"{faq.stem}.labels.jsonl"
    labels.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return faq, labels, len(picks)


def kept(before: str, after: str) -> bool:
    """Whether every line of `before` is in `after`, in order (a grown `[...]` line counts as kept)."""
    lines = iter(after.splitlines())
    for line in before.splitlines():
        if not any(
            new == line or (line.rstrip().endswith("]") and new.startswith(line.rstrip()[:-1])) for new in lines
        ):
            return False
    return True


def round_trips(repositories: list[Path]) -> tuple[int, int]:
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    same = changed = 0
    for repo in repositories:
        git = ["git", "-C", str(repo)]
        names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True).stdout
        for name in names.split():
            if not name.endswith((".yml", ".yaml")):
                continue
            text = subprocess.run([*git, "show", f"HEAD:{name}"], capture_output=True, text=True).stdout
            try:
                _, sequence, offset = load_yaml_guess_indent(text)
                yaml = YAML()
                yaml.preserve_quotes, yaml.width = True, 4096
                yaml.indent(mapping=offset or 2, sequence=sequence or 2, offset=offset or 0)
                out = io.StringIO()
                yaml.dump(yaml.load(text), out)
            except Exception:  # a file it cannot even read counts as changed
                changed += 1
                continue
            same, changed = (same + 1, changed) if out.getvalue() == text else (same, changed + 1)
    return same, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("repositories", nargs="+", type=Path, help="public repositories (git directories)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="faq-edits-"))
    sources = [r for r in args.repositories if any(_has(r, marker) for marker in SOURCES)]
    print("| FAQ | entries | phrasings added | no_match | new entries | loads | old lines kept |")
    print("|---|---|---|---|---|---|---|")
    for bench in [own()[0], *real_faq_sets(folder, sources)]:
        faq, labels, phrasings = labelled(bench, folder)
        before = faq.read_text(encoding="utf-8")
        loaded = load_faqs(faq)
        applied = apply(loaded, load_labels(labels, loaded))
        after = load_faqs(faq)
        grew = sum(map(len, (e.phrasings for e in after.entries))) - sum(
            map(len, (e.phrasings for e in loaded.entries))
        )
        assert grew == applied.phrasings + len(applied.new_entries)
        whole = kept(before, faq.read_text(encoding="utf-8"))
        print(
            f"| {bench.name} | {len(loaded.entries)} | {applied.phrasings} | "
            f"{len(after.no_match)} | {len(applied.new_entries)} | yes | {whole} |"
        )
        assert applied.phrasings == phrasings
    try:
        same, changed = round_trips(args.repositories)
        print(f"\nruamel.yaml round trip, no edit: {same} files identical, {changed} changed")
    except ImportError:
        print("\n(ruamel.yaml not installed: `pip install ruamel.yaml` to compare with a round-trip re-dump)")


if __name__ == "__main__":
    main()
