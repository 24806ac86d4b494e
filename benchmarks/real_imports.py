"""`faqsearch import` on real files from public repositories (issue #37): what each gives, and
that the FAQ file it writes loads as `build` reads it.

Each source is a file or folder of a public GitHub repository, read from a mirror of it (a bare
git directory, as the tool library's `fetch` makes: MIRRORS/owner+name/repo) at the commit listed
below, copied to a temporary folder and imported there. Prints, per source, the entries and
phrasings, follow-ups (`related`), no-match questions, answers that keep line breaks, the
default answer, and the warnings by kind, or the one-line error.

Usage: python benchmarks/real_imports.py --mirrors /work/.mirror [--only qnabot]
"""

from __future__ import annotations

import argparse
import subprocess
import tarfile
import tempfile
from collections import Counter
from io import BytesIO
from pathlib import Path

from faqsearch.errors import FAQSearchError
from faqsearch.faqs import load_faqs, save_faqs
from faqsearch.importers import import_faq

SAMPLES = "Azure-Samples/cognitive-services-sample-data-files"  # its paths start with qna-maker/
# format, repository@commit, the path in it ("." the whole project); a workbook's sheet after it
SOURCES = """
qnamaker Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/SampleActiveLearning.tsv
qnamaker Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/SampleQnAs.tsv
qnamaker Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/SampleV2QnAs.xlsx
qnamaker Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/basic-kb.tsv
qnamaker Azure-Samples/cognitive-services-sample-data-files@65af3b93 data-source-formats/Multiturn-Surface-Pro.xlsx
azure Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/SampleKBReplicaWithTsvs.zip
azure Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/SampleV2KBReplicaWithTsvs.zip
azure Azure-Samples/cognitive-services-sample-data-files@65af3b93 knowledge-bases/SampleKBReplica.zip
qnamaker mimi-tg/ChitChat@002fbbfb qna_chitchat_friendly.tsv
qnamaker mimi-tg/ChitChat@002fbbfb qna_chitchat_professional.tsv
qnamaker ntulsi/BotBuilder-PersonalityChat@67174467 CSharp/Datasets/Queries_Responses_Friendly_QnAMaker.tsv
qnabot aws-solutions/qnabot-on-aws@8fcebbc source/templates/examples/examples/examples/PrairieLineTrailTour.json
qnabot aws-solutions/qnabot-on-aws@8fcebbc source/templates/examples/examples/examples/RecentTopicsDemo.json
qnabot aws-solutions/qnabot-on-aws@8fcebbc source/templates/examples/examples/examples/ClientFilterDemo.json
qnabot aws-solutions/qnabot-on-aws@8fcebbc source/docs/Blogpost-BranchingNavigation.json
qnabot aws-solutions/qnabot-on-aws@8fcebbc source/assets/examples/documents/blog-samples-final.json
qnabot aws-solutions/qnabot-on-aws@8fcebbc .nightswatch/functional/question_bank/import_questions_qna.json
rasa RasaHQ/rasa-demo@6935627 .
rasa RasaHQ/carbon-bot@5241112 .
rasa KathmanduLivingLabs/OSM-chatbot@6afd5fa .
rasa kabirivan/Ecommerce-Assistant@23c5dd2 .
rasa ChrisRahme/FYP-Chatbot@d6629f5 .
rasa BornaGajic/FAQ-Mathos-Chatbot@9732a39 .
faqpage adbar/trafilatura@e90b0ef tests/eval/financescout24.de.autokredit.html
faqpage adbar/trafilatura@e90b0ef tests/eval/giromatch.com.kredit.html
faqpage adbar/trafilatura@e90b0ef tests/eval/smava.de.privatkredit.html
faqpage hhursev/recipe-scrapers@d08ddd0 tests/test_data/*FAQPage
"""


def extract(mirror: Path, commit: str, path: str, into: Path) -> Path:
    """`path` of `commit` in the bare repository `mirror`, under `into`; "." is a Rasa project: its
    YAML files (a mirror may lack a repository's large files, which a project does not need)."""
    git = ["git", "-C", str(mirror)]
    paths = [path]
    if path == ".":
        listed = subprocess.run([*git, "ls-tree", "-r", "--name-only", commit], capture_output=True, check=True)
        paths = [p for p in listed.stdout.decode().splitlines() if p.endswith((".yml", ".yaml"))]
    elif path.endswith("*FAQPage"):  # the pages under a folder with FAQPage data, found by git grep
        found = subprocess.run([*git, "grep", "-l", "FAQPage", commit, "--", path.removesuffix("*FAQPage")],
                               capture_output=True, check=True)  # fmt: skip
        paths = [line.split(":", 1)[1] for line in found.stdout.decode().splitlines()]
    archive = subprocess.run([*git, "archive", "--format=tar", commit, *paths], capture_output=True, check=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / path.removesuffix("*FAQPage")


def summary(source: Path, format: str, sheet: str | None, work: Path) -> str:
    if source.is_dir() and format == "faqpage":  # a corpus of pages: how many import, with how many entries
        pages = sorted(p for p in source.rglob("*") if p.is_file())
        results = [summary(page, format, None, work) for page in pages]
        imported = [int(r.split()[0]) for r in results if not r.startswith("error")]
        return f"{len(imported)} of {len(pages)} pages import, {sum(imported)} entries"
    try:
        imported = import_faq(source, format=format, sheet=sheet)
        written = save_faqs(work / "faq.yaml", imported.language, imported.entries, True, imported.no_match,
                            imported.default_answer)  # fmt: skip
        load_faqs(written.path)
    except FAQSearchError as exc:
        return f"error: {str(exc)[:160]}"
    entries = imported.entries
    kinds = Counter(imported.report.kinds)
    return (
        f"{len(entries)} entries, {sum(len(e.phrasings) for e in entries)} phrasings, "
        f"{sum(len(e.related) for e in entries)} related, {len(imported.no_match)} no-match, "
        f"{sum(chr(10) in e.answer for e in entries)} multi-line answers, language {imported.language}, "
        f"default answer {'yes' if imported.default_answer else 'no'}; {len(imported.report.warnings)} warnings "
        f"in {len(kinds)} kinds"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, required=True, help="folder of owner+name/repo bare git mirrors")
    parser.add_argument("--only", help="one format")
    args = parser.parse_args()
    for line in SOURCES.strip().splitlines():
        format, at, path, *sheet = line.split()
        repo, commit = at.split("@")
        path = f"qna-maker/{path}" if repo == SAMPLES else path
        if args.only and format != args.only:
            continue
        mirror = args.mirrors / repo.replace("/", "+") / "repo"
        with tempfile.TemporaryDirectory() as folder:
            try:
                source = extract(mirror, commit, path, Path(folder) / "src")
            except subprocess.CalledProcessError as exc:
                print(f"{repo} {path}: not in the mirror ({exc.stderr.decode().strip()[:100]})")
                continue
            print(f"{format:<9} {at}:{path}\n          {summary(source, format, (sheet or [None])[0], Path(folder))}")


if __name__ == "__main__":
    main()
