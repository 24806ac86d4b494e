"""e5-aligned also trains on Hindi and Marathi typed in Latin letters (training/romanize.py): the
romanization must read like what people type, and must never leak a held-out pair into training."""

from __future__ import annotations

import random

from training import parallel
from training.romanize import romanize, with_romanized


def test_hindi_is_written_as_people_type_it():
    """Inherent vowels dropped where speech drops them (sakte, madad), nasals as n, no diacritics."""
    assert romanize("क्या आप मेरी मदद कर सकते हैं?") == "kya ap meri madad kar sakte hain?"
    assert romanize("नहीं, मुझे अच्छा नहीं लगा।") == "nahin, mujhe accha nahin laga."
    assert romanize("वह समझता है कि कृपया मस्त है") == "vah samajhta hai ki kripya mast hai"
    assert romanize("मेरे मित्र का वाक्य") == "mere mitra ka vakya"  # kept after a cluster ending in r or y


def test_nukta_consonants_precomposed_or_combined_read_alike():
    assert romanize("\u095b\u0930\u0942\u0930") == romanize("\u091c\u093c\u0930\u0942\u0930") == "zarur"
    assert romanize("फ़ोन डॉक्टर") == "fon doktar"


def test_text_in_other_scripts_is_left_as_it_was():
    assert romanize("मेरा order कहाँ है? 123 ४५") == "mera order kahan hai? 123 45"


def test_spellings_vary_by_word_as_people_type_both():
    """Long vowels doubled or not, a word-final nasal kept or not, each word drawn on its own."""
    rng = random.Random(0)
    assert {romanize("पानी", rng) for _ in range(40)} == {"pani", "paanee"}
    assert {romanize("नहीं", rng) for _ in range(40)} == {"nahin", "nahi", "naheen", "nahee"}
    assert {romanize("पानी नहीं", rng) for _ in range(200)} >= {"pani nahi", "paanee nahin"}


def test_romanized_copies_keep_their_english_so_the_same_pairs_are_held_out():
    pairs = {
        "hin": [parallel.Pair("hin", f"वाक्य {i}", f"Sentence {i}.") for i in range(60)],
        "deu": [parallel.Pair("deu", f"Satz {i}", f"Sentence {i}.") for i in range(60)],
    }
    both = with_romanized(pairs, seed=0)
    assert set(both) == {"hin", "deu", "hin_Latn"} and "mar_Latn" not in both
    assert [p.english for p in both["hin_Latn"]] == [p.english for p in pairs["hin"]]
    assert both["hin_Latn"][3].text == "vakya 3"
    training, held = parallel.split(both, per_language=100, seed=0)
    held_english = {code: {p.english for p in held if p.code == code} for code in ("hin", "hin_Latn")}
    assert held_english["hin"] == held_english["hin_Latn"] and len(held_english["hin"]) == parallel.VALIDATION
    assert not held_english["hin"] & {p.english for p in training}
