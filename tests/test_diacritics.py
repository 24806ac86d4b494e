"""e5-aligned also trains on sentences typed without diacritics (training/diacritics.py): the
stripping must read like what people type, and must leave every other script alone."""

from __future__ import annotations

import unicodedata

from training.diacritics import strip, strip_some
from training.parallel import Pair


def test_latin_letters_lose_their_diacritics_as_people_type_them():
    assert strip("Şifremi unuttum, nasıl değiştiririm?") == "Sifremi unuttum, nasil degistiririm?"
    assert strip("Tôi không nhớ mật khẩu của mình.") == "Toi khong nho mat khau cua minh."
    assert strip("Đơn hàng của tôi ở đâu?") == "Don hang cua toi o dau?"
    assert strip("Příliš žluťoučký kůň, Łódź, Straße, smørrebrød, Ærø") == (
        "Prilis zlutoucky kun, Lodz, Strasse, smorrebrod, Aero"
    )


def test_combining_marks_on_latin_letters_go_too():
    assert strip(unicodedata.normalize("NFD", "Você não pagou à noite")) == "Voce nao pagou a noite"


def test_other_scripts_are_left_exactly_as_they_were():
    """NFD would split Devanagari's क़ into क + ़ and dropping marks would lose the nukta; Cyrillic
    й and Greek accents are letters of their own to their readers."""
    for text in ("क़िताब ज़रूर फ़ोन", "Привет, йод", "Ελληνικά ά", "مَرْحَبًا", "日本語です"):
        assert strip(text) == text
    assert strip("café क़िताब") == "cafe क़िताब"


def test_a_share_of_the_pairs_is_typed_without_diacritics_and_no_pair_is_added():
    pairs = [Pair("tur", f"Şifre {i} değişti.", f"Password {i} changed.") for i in range(200)]
    pairs += [Pair("eng_like", f"Plain {i}.", f"Plain {i}.") for i in range(20)]
    assert strip_some(pairs, 0.0, seed=0) == pairs
    everything = strip_some(pairs, 1.0, seed=0)
    assert [p.text for p in everything[:2]] == ["Sifre 0 degisti.", "Sifre 1 degisti."]
    assert everything[200:] == pairs[200:]
    half = strip_some(pairs, 0.5, seed=0)
    assert len(half) == len(pairs) and [(p.code, p.english) for p in half] == [(p.code, p.english) for p in pairs]
    stripped = sum(a != b for a, b in zip(half, pairs, strict=True))
    assert 70 < stripped < 130
    assert half == strip_some(pairs, 0.5, seed=0) != strip_some(pairs, 0.5, seed=1)
