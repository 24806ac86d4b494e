"""Azure AI Language custom question answering projects (Language Studio) and QnA Maker knowledge
base replicas: the .zip their Export as TSV gives, or that zip unzipped into a folder.

Layout (Microsoft Learn, "Export/import/refresh" for custom question answering; the replicas in
Azure-Samples/cognitive-services-sample-data-files, qna-maker/knowledge-bases/*WithTsvs.zip):
`QnAs.tsv` (the table qnamaker.py reads), `Synonyms.tsv` (a `Synonyms` header, then one group a
line: `"sdk","software development kit"`) and `Settings.tsv` (`Key`, `Value` rows).

- `Language` (QnA Maker's name for it, `English` or `Chinese_Simplified`, or a code, `en-us`)
  is the FAQ's declared language; `DefaultAnswerForKB` is the FAQ's `default_answer`; the other
  settings have no faqsearch equivalent and are named in one warning.
- Synonyms: QnA Maker treats the terms of a group as one word. A question holding a term (whole
  words, any case, terms of up to MAX_TERM_WORDS words) gains the variants with each other term
  of its group in its place, in the group's order, at most MAX_VARIANTS an entry; the count is
  reported once per file.

A zip is read in memory and never unpacked: only these three members are opened (found by name
in any of its folders; two of one name are refused), their sizes bounded by MAX_INPUT_BYTES
together, before and while they are read. An Excel export (a workbook in the zip) is refused
with how to import it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from pathlib import Path

from ..errors import InputFileError
from ..inputs import MAX_INPUT_BYTES, decoded, read_text
from ..memory import size_text
from . import qnamaker
from .base import Draft, NotThisFormat, Report, clean
from .sheets import parse_table

NAME = "azure"
QNAS, SYNONYMS, SETTINGS = "qnas.tsv", "synonyms.tsv", "settings.tsv"  # as casefolded names
MAX_VARIANTS = 3  # synonym variants added to an entry
MAX_TERM_WORDS = 4  # longer synonym terms are left out (reported)
WORD = re.compile(r"\w+")
CODE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]+)*")  # `en`, `en-us`, `zh_hans`
# QnA Maker's knowledge base languages (Microsoft Learn, "Language support for a QnA Maker resource
# and knowledge bases"), as Settings.tsv names them, casefolded -> ISO 639-1.
LANGUAGE_NAMES = {
    "arabic": "ar", "armenian": "hy", "bangla": "bn", "basque": "eu", "bulgarian": "bg", "catalan": "ca",
    "chinese_simplified": "zh", "chinese_traditional": "zh", "croatian": "hr", "czech": "cs", "danish": "da",
    "dutch": "nl", "english": "en", "estonian": "et", "finnish": "fi", "french": "fr", "galician": "gl",
    "german": "de", "greek": "el", "gujarati": "gu", "hebrew": "he", "hindi": "hi", "hungarian": "hu",
    "icelandic": "is", "indonesian": "id", "irish": "ga", "italian": "it", "japanese": "ja", "kannada": "kn",
    "korean": "ko", "latvian": "lv", "lithuanian": "lt", "malayalam": "ml", "malay": "ms", "norwegian": "no",
    "polish": "pl", "portuguese": "pt", "punjabi": "pa", "romanian": "ro", "russian": "ru",
    "serbian_cyrillic": "sr", "serbian_latin": "sr", "slovak": "sk", "slovenian": "sl", "spanish": "es",
    "swedish": "sv", "tamil": "ta", "telugu": "te", "thai": "th", "turkish": "tr", "ukrainian": "uk",
    "urdu": "ur", "vietnamese": "vi",
}  # fmt: skip
MAPPED = ("language", "defaultanswerforkb")  # Settings keys, casefolded
# What zipfile raises for a damaged zip, and (RuntimeError) for an encrypted member or an unknown compression
UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, OSError)


def fits(source: Path) -> None:
    """NotThisFormat unless `source` is a folder or a zip with a QnAs.tsv."""
    names = _names(source)
    if QNAS not in names:
        excel = any(name.endswith(".xlsx") for name in names)
        how = (
            " (an Excel export: export the project as TSV, or import its workbook: `faqsearch import FILE.xlsx "
            "--sheet QnAs`)"
            if excel
            else ""
        )
        raise NotThisFormat(f"no QnAs.tsv in it{how}")


def read(source: Path, report: Report) -> tuple[list[Draft], str | None, str | None]:
    """The drafts of the export's QnAs.tsv with their synonym variants, the language it declares
    and its default answer."""
    fits(source)
    found = _files(source)
    where, qnas = found[QNAS]
    drafts = qnamaker.read(parse_table(where, qnas, report, "\t"), report)
    settings = _settings(*found[SETTINGS], report) if SETTINGS in found else {}
    if SYNONYMS in found:
        _add_synonyms(drafts, *found[SYNONYMS], report)
    language = settings.get("language")
    default = settings.get("defaultanswerforkb")
    return drafts, language and _language(language), default and qnamaker.unescape(default)


def _names(source: Path) -> set[str]:
    """The casefolded file names in the folder, or in any folder of the zip."""
    if source.is_dir():
        return {path.name.casefold() for path in source.iterdir() if path.is_file()}
    if not zipfile.is_zipfile(source):
        raise NotThisFormat("not a zip or a folder")
    try:
        with zipfile.ZipFile(source) as archive:
            return {_base(info.filename) for info in archive.infolist() if not info.is_dir()}
    except UNREADABLE as exc:
        raise InputFileError(str(source), f"not a readable zip ({exc}); export the project again") from None


def _base(member: str) -> str:
    return member.replace("\\", "/").rsplit("/", 1)[-1].casefold()


def _files(source: Path) -> dict[str, tuple[str, str]]:
    """QnAs.tsv, Synonyms.tsv and Settings.tsv (those present) as casefolded name -> (where, text)."""
    wanted = (QNAS, SYNONYMS, SETTINGS)
    if source.is_dir():
        paths = [path for path in source.iterdir() if path.name.casefold() in wanted and path.is_file()]
        return {path.name.casefold(): (str(path), read_text(path, "a project export's file")[1]) for path in paths}
    try:
        with zipfile.ZipFile(source) as archive:
            members: dict[str, zipfile.ZipInfo] = {}
            for info in archive.infolist():
                name = _base(info.filename)
                if name in wanted and not info.is_dir():
                    if name in members:
                        raise InputFileError(
                            str(source), f"holds {members[name].filename} and {info.filename}; keep one project a zip"
                        )
                    members[name] = info
            if sum(info.file_size for info in members.values()) > MAX_INPUT_BYTES:
                raise InputFileError(
                    str(source), f"its files unzip to more than {size_text(MAX_INPUT_BYTES)}, the limit for an input"
                )
            return {name: _member(archive, info, f"{source}:{info.filename}") for name, info in members.items()}
    except UNREADABLE as exc:
        raise InputFileError(str(source), f"not a readable zip ({exc}); export the project again") from None


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[str, str]:
    """A member's text, read at most MAX_INPUT_BYTES (its declared size may be false)."""
    with archive.open(info) as stream:
        raw = stream.read(MAX_INPUT_BYTES + 1)
    if len(raw) > MAX_INPUT_BYTES:
        raise InputFileError(where, f"holds more than {size_text(MAX_INPUT_BYTES)}, the limit for an input")
    return where, decoded(raw, where)


def _settings(where: str, text: str, report: Report) -> dict[str, str]:
    """Settings.tsv's Language and DefaultAnswerForKB, by casefolded key; the other keys reported."""
    lines = text.splitlines()
    if not lines or lines[0].split("\t")[0].strip().casefold() != "key":
        raise InputFileError(where, "no `Key`, `Value` header; export the project again", line=1)
    settings, other = {}, []
    for line in lines[1:]:
        key, _, value = line.partition("\t")
        if key.strip().casefold() in MAPPED and value.strip():
            settings[key.strip().casefold()] = value.strip()
        elif key.strip():
            other.append(key.strip())
    if other:
        report.warn(where, f"settings with no faqsearch equivalent, not imported: {', '.join(other)}")
    return settings


def _language(value: str) -> str:
    """A Settings language as an ISO 639-1 code where it is one faqsearch can name; else as written."""
    name = value.casefold().replace(" ", "_")
    if name in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[name]
    return re.split("[-_]", name)[0] if CODE.fullmatch(name) else value


def _add_synonyms(drafts: list[Draft], where: str, text: str, report: Report) -> None:
    """Each draft's synonym variants (see the module's docstring), and one warning that counts them."""
    groups, index, long = _groups(where, text)
    if not groups:
        return
    if long:
        report.warn(where, f"{long} synonym term(s) of over {MAX_TERM_WORDS} words left out")
    added = entries = 0
    for draft in drafts:
        variants = _variants(draft.questions, groups, index)
        draft.questions += variants
        added, entries = added + len(variants), entries + bool(variants)
    report.warn(
        where,
        f"{len(groups)} synonym group(s): {added} question variant(s) added to {entries} entries "
        f"(each term of a group in place of another, at most {MAX_VARIANTS} an entry)",
    )


def _groups(where: str, text: str) -> tuple[list[list[str]], dict[str, int], int]:
    """The synonym groups (two terms or more), each term's group by its casefolded words, and how
    many terms were too long."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputFileError(where, f"not a list of synonym groups ({exc}); export the project again") from None
    if rows and [clean(cell).casefold() for cell in rows[0]] == ["synonyms"]:
        rows = rows[1:]
    groups, index, long = [], {}, 0
    for row in rows:
        terms = list(dict.fromkeys(term for term in (clean(cell) for cell in row) if term))
        words = [" ".join(WORD.findall(term.casefold())) for term in terms]
        long += sum(len(w.split()) > MAX_TERM_WORDS for w in words)
        kept = [(term, w) for term, w in zip(terms, words, strict=True) if w and len(w.split()) <= MAX_TERM_WORDS]
        if len(kept) > 1:
            for _, w in kept:
                index.setdefault(w, len(groups))
            groups.append([term for term, _ in kept])
    return groups, index, long


def _variants(questions: list[str], groups: list[list[str]], index: dict[str, int]) -> list[str]:
    """Up to MAX_VARIANTS new questions: a question with a group's term replaced by another term of
    it; the longest term found at each word wins. Each question costs its words x MAX_TERM_WORDS."""
    seen, found = {q.casefold() for q in questions}, []
    for question in questions:
        spans = [(m.start(), m.end(), m.group().casefold()) for m in WORD.finditer(question)]
        for i in range(len(spans)):
            for n in range(min(MAX_TERM_WORDS, len(spans) - i), 0, -1):
                term = " ".join(word for *_, word in spans[i : i + n])
                if term not in index:
                    continue
                for other in groups[index[term]]:
                    variant = question[: spans[i][0]] + other + question[spans[i + n - 1][1] :]
                    if variant.casefold() not in seen:
                        seen.add(variant.casefold())
                        found.append(variant)
                        if len(found) == MAX_VARIANTS:
                            return found
                break
    return found
