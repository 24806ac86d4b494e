"""Tatoeba similarity-search error rate (Artetxe & Schwenk 2019, LASER's own table) per encoder.

For each of the 112 languages of LASER's Tatoeba set, every sentence on one side is matched to
its nearest neighbour by cosine among all sentences on the other side; an error is any match
that is not the aligned translation. Prints xx->eng, eng->xx and their mean per language, and
the accuracy (100 - mean error) averaged over the language groups of the LaBSE paper beside
the published LASER and LaBSE figures.

A fused encoder (e5+use) scores a pair as an index does: its parts' cosines mixed by their
weights for the non-English side's language (e5 alone outside USE's languages).

`--center language` first removes from every non-English sentence its language's offset from
English, the same correction `ask` applies to a question before comparing it with an English FAQ
(faqsearch/offsets.py): learned from Tatoeba-Challenge pairs where the encoder has shipped
offsets (none of them in this benchmark), else measured on the parallel off-topic sample
(faqsearch/data/offtopic.yaml). Languages with neither are left as they are.

`--center index` measures in the space an index compares in (retrieval.py): for each direction,
the side searched is treated as the FAQ. Questions have their language's offset from the FAQ's
language removed, and both sides have the FAQ side's mean vector removed and are re-normalized,
as a build and `ask` do. This is the product's accuracy on Tatoeba; the published LASER and
LaBSE figures compare raw cosines.

`--languages hin_Latn mar_Latn` measures Tatoeba's Hindi and Marathi romanized as people type them
(training/romanize.py, each word as plainly as it can be spelled), and `tur_ascii` (any code with
`_ascii`) Turkish typed without diacritics (training/diacritics.py); neither is part of the 112.

Usage: python benchmarks/tatoeba.py ../shared/data/tatoeba [--encoder e5 --encoder use]
       [--center none|language|index] [--cache /tmp/tatoeba-cache] [--json results.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from faqsearch.build import part_infos
from faqsearch.encoders import ENCODERS, get_encoder, split
from faqsearch.offsets import language_offsets
from faqsearch.offtopic import encode_sample
from faqsearch.retrieval import Alignment, PartInfo, index_vectors, part_weights

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from training.diacritics import strip
from training.romanize import ROMANIZED, romanize

ROMANIZED_FROM = {romanized: code for code, romanized in ROMANIZED.items()}

# Language groups of the LaBSE paper's Tatoeba table (Feng et al. 2022, Table 3), as Tatoeba codes.
# 14: the languages of m-USE; 36: XTREME's Tatoeba task; 82: the languages LASER was trained on
# that Tatoeba has (rebuilt from LASER's README, this gives 83 codes: which one the paper leaves
# out is not stated).
GROUPS: dict[str, str] = {
    "14": "ara cmn deu fra ita jpn kor nld pol por rus spa tha tur",
    "36": (
        "afr ara ben bul cmn deu ell est eus fin fra heb hin hun ind ita jav jpn kat kaz kor mal mar nld pes por "
        "rus spa swh tam tel tgl tha tur urd vie"
    ),
    "82": (
        "afr amh ara aze bel ben ber bos bre bul cat cbk ces cmn cor dan deu dtp ell epo est eus fin fra gle glg "
        "heb hin hrv hun hye ido ile ina ind isl ita jpn kab kat kaz khm kor kur kzj lat lfn lit lvs mal mar mhr "
        "mkd nds nld nob oci pes pol por ron rus slk slv spa sqi srp swe swh tam tat tel tgl tha tur uig ukr urd "
        "uzb vie wuu yue zsm"
    ),
}
PUBLISHED = {"LASER": (95.3, 84.4, 75.9, 65.5), "LaBSE": (95.3, 95.0, 87.3, 83.7)}
# Tatoeba's ISO 639-3 codes -> the ISO 639-1 codes faqsearch uses, where one exists.
ISO1 = dict(
    pair.split(":")
    for pair in [
        "afr:af",
        "amh:am",
        "ara:ar",
        "arz:ar",
        "aze:az",
        "bel:be",
        "ben:bn",
        "bos:bs",
        "bre:br",
        "bul:bg",
        "cat:ca",
        "ces:cs",
        "cmn:zh",
        "cym:cy",
        "dan:da",
        "deu:de",
        "ell:el",
        "epo:eo",
        "est:et",
        "eus:eu",
        "fao:fo",
        "fin:fi",
        "fra:fr",
        "fry:fy",
        "gla:gd",
        "gle:ga",
        "glg:gl",
        "heb:he",
        "hin:hi",
        "hrv:hr",
        "hun:hu",
        "hye:hy",
        "ido:io",
        "ile:ie",
        "ina:ia",
        "ind:id",
        "isl:is",
        "ita:it",
        "jav:jv",
        "jpn:ja",
        "kat:ka",
        "kaz:kk",
        "khm:km",
        "kor:ko",
        "kur:ku",
        "lat:la",
        "lit:lt",
        "lvs:lv",
        "mal:ml",
        "mar:mr",
        "mhr:mhr",
        "mkd:mk",
        "mon:mn",
        "nds:nds",
        "nld:nl",
        "nno:nn",
        "nob:no",
        "oci:oc",
        "pes:fa",
        "pol:pl",
        "por:pt",
        "ron:ro",
        "rus:ru",
        "slk:sk",
        "slv:sl",
        "spa:es",
        "sqi:sq",
        "srp:sr",
        "swe:sv",
        "swh:sw",
        "tam:ta",
        "tat:tt",
        "tel:te",
        "tgl:tl",
        "tha:th",
        "tuk:tk",
        "tur:tr",
        "uig:ug",
        "ukr:uk",
        "urd:ur",
        "uzb:uz",
        "vie:vi",
        "wuu:zh",
        "yid:yi",
        "yue:zh",
        "zsm:ms",
    ]
)


def tatoeba_languages(root: Path) -> list[str]:
    return sorted(p.name.split(".")[1].split("-")[0] for p in root.glob("tatoeba.*-eng.eng"))


def embed(encoder, texts: list[str], language: str, cache: Path | None, key: str) -> np.ndarray:
    """Encode once per (encoder version, file): the 200k sentences take e5 about 5 minutes. A
    fused encoder's parts are cached each on their own (and shared with runs of them alone)."""
    if len(encoder.parts()) > 1:
        return np.hstack([embed(part, texts, language, cache, key) for part, _ in encoder.parts()])
    path = cache / encoder.name / encoder.version.replace(" ", "_") / f"{key}.npy" if cache else None
    if path and path.is_file():
        return np.load(path)
    vectors = encoder.encode(texts, [language] * len(texts))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def error_rates(xx: np.ndarray, eng: np.ndarray, parts: list[PartInfo], language: str) -> tuple[float, float]:
    """(xx->eng, eng->xx) error rates in percent for line-aligned vectors (unit per part), the
    parts' cosines mixed by their weights for `language`."""
    dims = [part.dim for part in parts]
    weighted = zip(part_weights(parts, language), split(xx, dims), split(eng, dims), strict=True)
    similarity = sum(weight * a @ b.T for weight, a, b in weighted)
    truth = np.arange(len(xx))
    return 100 * float(np.mean(similarity.argmax(1) != truth)), 100 * float(np.mean(similarity.argmax(0) != truth))


def variant(code: str) -> tuple[str, str, Callable[[str], str] | None]:
    """(Tatoeba file, language the encoder is told, rewrite of its sentences) for a code. Text
    without diacritics keeps its language (language identification still knows Turkish typed
    without them); romanized Hindi does not (BENCHMARKS.md "Hindi and Marathi in Latin letters")."""
    if code.endswith("_ascii"):
        source = code.removesuffix("_ascii")
        return source, ISO1.get(source, source), strip
    if code in ROMANIZED_FROM:
        return ROMANIZED_FROM[code], code, romanize
    return code, ISO1.get(code, code), None


def evaluate(encoder, root: Path, languages: list[str], center: str, cache: Path | None) -> dict[str, tuple]:
    parts = part_infos(encoder)
    dims = [part.dim for part in parts]
    to_english = {}
    if center != "none":
        to_english = language_offsets(encoder, "en", encode_sample(encoder).language_offsets("en"), dims)
    results = {}
    for code in languages:
        source, language, rewrite = variant(code)
        pair = f"tatoeba.{source}-eng"
        lines = [(root / f"{pair}.{side}").read_text(encoding="utf-8").splitlines() for side in (source, "eng")]
        key = f"{code}.{code}"
        if rewrite:  # keyed by the rewritten text too, so a change to the rewrite is not read stale
            lines[0] = [rewrite(line) for line in lines[0]]
            key += "." + hashlib.sha256("\n".join(lines[0]).encode()).hexdigest()[:12]
        xx = embed(encoder, lines[0], language, cache, key)
        eng = embed(encoder, lines[1], "en", cache, f"{source}.eng")
        offset = to_english.get(language)
        if center == "index":  # English's offset from the language is the language's from English, negated
            xx_eng = error_rates(*in_index_space(xx, eng, offset, parts), parts, language)[0]
            english, faq = in_index_space(eng, xx, None if offset is None else -offset, parts)
            rates = xx_eng, error_rates(faq, english, parts, language)[1]
        else:
            rates = error_rates(_shift(xx, offset, dims), eng, parts, language)
        results[code] = (len(xx), *rates)
        print(f"  {encoder.name} {code}: {results[code][1]:.1f} / {results[code][2]:.1f}", flush=True)
    return results


def in_index_space(
    questions: np.ndarray, faq: np.ndarray, offset: np.ndarray | None, parts: list[PartInfo]
) -> tuple[np.ndarray, np.ndarray]:
    """(questions, FAQ sentences) as an index built on `faq` compares them: the questions'
    language offset removed, then the FAQ's mean vector removed from both, per part."""
    dims = [part.dim for part in parts]
    alignments = [Alignment(block.mean(0), {}) for block in split(faq, dims)]
    shifted = _shift(questions, offset, dims)
    return (
        index_vectors(shifted, ["-"] * len(shifted), parts, alignments),  # no offsets: the language is not read
        index_vectors(faq, ["-"] * len(faq), parts, alignments),
    )


def _shift(vectors: np.ndarray, offset: np.ndarray | None, dims: list[int]) -> np.ndarray:
    if offset is None:
        return vectors
    shifted = vectors - offset
    for block in split(shifted, dims):
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return shifted


def report(all_results: dict[str, dict[str, tuple]]) -> None:
    names = list(all_results)
    print("\n| group | " + " | ".join(names) + " | LASER (published) | LaBSE (published) |")
    print("|---|" + "---|" * (len(names) + 2))
    groups = {**{f"{k} langs": v.split() for k, v in GROUPS.items()}, "all 112": None}
    for i, (group, codes) in enumerate(groups.items()):
        cells = []
        for name in names:
            results = all_results[name]
            chosen = [c for c in (codes or results) if c in results]
            cells.append(f"{np.mean([100 - (results[c][1] + results[c][2]) / 2 for c in chosen]):.1f}")
        published = " | ".join(f"{PUBLISHED[m][i]}" for m in ("LASER", "LaBSE"))
        print(f"| {group} | " + " | ".join(cells) + f" | {published} |")
    print("\nError rate per language, xx->eng / eng->xx / mean (%):\n")
    print("| language | n | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    results = list(all_results.values())
    for code in sorted(results[0]):
        n = results[0][code][0]
        cells = [
            f"{r[code][1]:.1f} / {r[code][2]:.1f} / {(r[code][1] + r[code][2]) / 2:.1f}" for r in all_results.values()
        ]
        print(f"| {code} | {n} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tatoeba", type=Path, help="folder with tatoeba.XXX-eng.{XXX,eng} files")
    parser.add_argument("--encoder", action="append", choices=sorted(ENCODERS), help="default: every available one")
    parser.add_argument("--center", choices=["none", "language", "index"], default="none")
    parser.add_argument("--languages", nargs="*", help="Tatoeba codes (default: all)")
    parser.add_argument("--cache", type=Path, help="folder to keep embeddings in between runs")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    languages = args.languages or tatoeba_languages(args.tatoeba)
    names = args.encoder or [name for name, cls in ENCODERS.items() if cls.unavailable_reason() is None]
    results = {name: evaluate(get_encoder(name), args.tatoeba, languages, args.center, args.cache) for name in names}
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
