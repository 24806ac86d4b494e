"""Index versions: a reader or a kill at any instant finds a whole version; rollback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from faqsearch.index import open_index

HERE = Path(__file__).parent
FAQ = "language: en\nfaqs:\n" + "".join(
    f"  - id: e{i}\n    question: question number {i}?\n    alternatives: [phrasing {i} a, phrasing {i} b]\n"
    f"    answer: ANSWER\n"
    for i in range(30)
)


PHASES = ("computing", "writing", "written", "renamed", "swapping", "published")


def test_a_build_killed_at_any_instant_leaves_a_whole_index(workdir):
    """kill -9 a build in each of its phases (tests/build_forever.py announces them and holds
    each for a moment); after every kill the index opens whole, all of one version (checksums,
    entries, vectors and calibration), and the next build cleans up after the killed one.
    benchmarks/kill.py does the same at random instants."""
    faqs = []
    for answer in ("one", "two"):
        faqs.append(workdir / f"faq-{answer}.yaml")
        faqs[-1].write_text(FAQ.replace("ANSWER", answer))
    index = workdir / "indexes" / "kill"
    command = [sys.executable, str(HERE / "build_forever.py"), *map(str, faqs), str(index)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    killed_in = []
    for phase in ("built 1", *PHASES, *PHASES):  # the first run only makes a version to start from
        builder = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        while (line := builder.stdout.readline().strip()) != phase:
            assert line or builder.poll() is None, f"the build ended before {phase!r}"
        builder.send_signal(signal.SIGKILL)
        builder.wait()
        builder.stdout.close()
        killed_in.append(phase)
        opened = open_index(index)
        assert {e.answer for e in opened.entries} in ({"one"}, {"two"})
        assert json.loads((index / "manifest.json").read_text())["entries"] == 30
    assert set(killed_in) == {"built 1", *PHASES}
    assert len(list((index.parent / ".kill.versions").iterdir())) <= 3  # current, previous, one killed


def test_rollback_switches_to_the_previous_version_and_older_ones_are_removed(workdir, cli):
    from build_forever import Hashed

    from faqsearch.build import build_index
    from faqsearch.faqs import load_faqs

    index = workdir / "indexes" / "v"
    for answer in ("one", "two", "three"):
        path = workdir / f"{answer}.yaml"
        path.write_text(FAQ.replace("ANSWER", answer))
        build_index(load_faqs(path), Hashed(), index)
    assert index.is_symlink() and len(list((workdir / "indexes" / ".v.versions").iterdir())) == 2  # now + previous
    assert {e.answer for e in open_index(index).entries} == {"three"}
    result = cli("rollback", "--index", str(index))
    assert result.exit_code == 0 and "now serves the version built at" in result.stdout
    assert {e.answer for e in open_index(index).entries} == {"two"}
    again = cli("rollback", "--index", str(index))
    assert again.exit_code == 2 and "no earlier version of" in again.stderr


def test_an_index_from_before_versions_becomes_the_previous_version(small_faq, workdir, cli):
    from faqsearch.atomic import write_folder

    legacy = workdir / "indexes" / "shop"
    assert cli("build", str(small_faq)).exit_code == 0
    files = {p.name: p.read_bytes() for p in legacy.iterdir()}
    legacy.unlink()  # the link; put the same files back as a plain folder, as older faqsearch wrote them
    write_folder(legacy, files)
    assert cli("build", str(small_faq)).exit_code == 0 and legacy.is_symlink()
    assert cli("rollback").exit_code == 0 and cli("ask", "where is my order").exit_code == 0


def test_rollback_of_a_missing_index_creates_nothing(workdir, cli):
    """It created `/.nonexistent.lock` for `--index /nonexistent`: a lock only beside an index."""
    result = cli("rollback", "--index", str(workdir / "nowhere" / "en"))
    assert result.exit_code == 2
    assert result.stderr == f"error: no index at {workdir}/nowhere/en; build one with `faqsearch build <faq file>`\n"
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("index", ["", " ", ".", "/", "indexes/.."])
def test_an_index_argument_without_a_folder_name_is_refused_up_front(small_faq, workdir, cli, index):
    """`build --index ''` took the current folder for the index and left `./..lock` beside it."""
    for command in (("build", str(small_faq)), ("rollback",)):
        result = cli(*command, "--index", index)
        assert result.exit_code == 2
        assert result.stderr == f"error: --index {index!r} names no index folder; pass one such as indexes/en\n"
    assert sorted(p.name for p in workdir.iterdir()) == ["faqs"]
