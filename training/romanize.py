"""Hindi and Marathi as people type them in Latin letters ("mujhe madad chahiye").

Customers in India mostly type Hindi in Latin letters, often mixed with English. e5 matches 95% of
LASER's Tatoeba Hindi sentences to their English translation, but 8% once they are romanized
(BENCHMARKS.md "Hindi and Marathi in Latin letters"), and the parallel data has Hindi and Marathi
only in Devanagari. benchmarks/tatoeba.py measures that gap with this romanization, and
`distill.py --romanized` also trains on romanized copies of those pairs (`with_romanized`).

Informal, not scholarly, romanization: no diacritics (long and short vowels, retroflex and dental
consonants are written alike), the inherent vowel dropped where Hindi speech drops it (word-final,
and between a vowel and a consonant-vowel: "sakte", not "sakate"), nasalization as "n". Our own
table rather than a transliteration library: the one on the registry (indic-transliteration)
writes scholarly schemes, keeps every inherent vowel, writes nukta consonants with digits ("z2")
and leaves ऑ as it is. Given a random generator, each word writes its long vowels doubled
("paani", "theek") or not, and drops a word-final nasal ("nahi") or not, each half the time, as
people type both.
"""

from __future__ import annotations

import random
import re
import unicodedata

from training.parallel import Pair

INHERENT, LONG = "a", {"A": ("a", "aa"), "I": ("i", "ee"), "U": ("u", "oo")}
CONSONANTS = {
    "क": "k", "ख": "kh", "ग": "g", "घ": "gh", "ङ": "n", "च": "ch", "छ": "chh", "ज": "j", "झ": "jh", "ञ": "n",
    "ट": "t", "ठ": "th", "ड": "d", "ढ": "dh", "ण": "n", "त": "t", "थ": "th", "द": "d", "ध": "dh", "न": "n",
    "प": "p", "फ": "ph", "ब": "b", "भ": "bh", "म": "m", "य": "y", "र": "r", "ल": "l", "ळ": "l", "व": "v",
    "श": "sh", "ष": "sh", "स": "s", "ह": "h",
}  # fmt: skip
NUKTA_FORMS = {"क": "q", "ख": "kh", "ग": "gh", "ज": "z", "ड": "r", "ढ": "rh", "फ": "f", "य": "y"}  # base + ़
PRECOMPOSED = {c: unicodedata.normalize("NFD", chr(c)) for c in range(0x958, 0x960)}  # क़ ... य़
VOWELS = dict(zip("अआइईउऊऋएऐओऔऑऍ", ["a", "A", "i", "I", "u", "U", "ri", "e", "ai", "o", "au", "o", "e"], strict=True))
MATRAS = dict(zip("ािीुूृेैोौॉॅ", ["A", "i", "I", "u", "U", "ri", "e", "ai", "o", "au", "o", "e"], strict=True))
SIGNS = {"ः": "h", "ॐ": "om", "ऽ": "", **dict(zip("०१२३४५६७८९", "0123456789", strict=True))}
NASALS, NUKTA, VIRAMA = "ंँ", "\u093c", "\u094d"
WORD = re.compile(r"[\u0900-\u0963\u0966-\u097f]+")
ROMANIZED = {"hin": "hin_Latn", "mar": "mar_Latn"}  # Tatoeba-Challenge code -> its romanized copy's


def _syllables(word: str) -> list[list]:
    """[consonant, vowel ("" when it has none), nasal] per written syllable. A precomposed nukta
    consonant (क़, ज़, ...) is first split into its base and ़, so one table serves both."""
    word = word.translate(PRECOMPOSED)
    units: list[list] = []
    i = 0
    while i < len(word):
        ch, i = word[i], i + 1
        if ch in CONSONANTS:
            consonant = CONSONANTS[ch]
            if word[i : i + 1] == NUKTA:
                consonant, i = NUKTA_FORMS.get(ch, consonant), i + 1
            vowel = INHERENT
            if word[i : i + 1] == VIRAMA or word[i : i + 1] in MATRAS:
                vowel, i = MATRAS.get(word[i], ""), i + 1
            units.append([consonant, vowel, False])
        elif ch in VOWELS:
            units.append(["", VOWELS[ch], False])
        elif ch in NASALS and units:
            units[-1][2] = True
        elif ch in SIGNS:
            units.append([SIGNS[ch], "", False])
    return units


def _drop_schwa(units: list[list]) -> None:
    """Hindi's schwa deletion, right to left: a consonant's inherent vowel goes at the end of a
    word (but stays after a cluster ending in y, r, l or v: "vakya", "mitra") and between a vowel
    and a consonant-vowel (VC_CV: "sakte"), never in the first syllable."""
    for n in range(len(units) - 1, 0, -1):
        consonant, vowel, nasal = units[n]
        if vowel != INHERENT or not consonant or nasal:
            continue
        if n == len(units) - 1:
            drop = units[n - 1][1] or consonant not in "yrlv"
        else:
            drop = units[n - 1][1] and units[n + 1][0] and units[n + 1][1]
        if drop:
            units[n][1] = ""


def _word(word: str, rng: random.Random | None) -> str:
    units = _syllables(word)
    _drop_schwa(units)
    doubled = rng is not None and rng.random() < 0.5
    drop_nasal = rng is not None and rng.random() < 0.5
    out = []
    for n, (consonant, vowel, nasal) in enumerate(units):
        out.append(consonant + (LONG[vowel][doubled] if vowel in LONG else vowel))
        if nasal and not (drop_nasal and n == len(units) - 1):
            out.append("n")
    return "".join(out).replace("chchh", "cch")


def romanize(text: str, rng: random.Random | None = None) -> str:
    """Devanagari words of `text` in informal Latin letters; everything else as it was."""
    return WORD.sub(lambda m: _word(m.group(), rng), text).replace("।", ".").replace("॥", ".")


def with_romanized(pairs: dict[str, list[Pair]], seed: int) -> dict[str, list[Pair]]:
    """`pairs` (parallel.read) plus a romanized copy of every Hindi and Marathi pair, under its
    own code, each word's spelling drawn with `seed`. A copy keeps its English, so parallel.split
    holds out the same pairs in both scripts."""
    rng = random.Random(seed)
    copies = {
        new: [Pair(new, romanize(p.text, rng), p.english) for p in pairs[old]]
        for old, new in ROMANIZED.items()
        if old in pairs
    }
    return pairs | copies
