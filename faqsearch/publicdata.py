"""Public data that training/ and benchmarks/ both read: which file of ../shared/data/parallel
holds each language faqsearch detects, and the split of the cross-lingual FAQ benchmark that
training must never see. One home, so the two cannot drift apart; the product itself reads none of it.
"""

from __future__ import annotations

import hashlib

# Tatoeba-Challenge codes -> the ISO 639-1 codes faqsearch's language detection returns (langid.py);
# a code without one (Gothic, Klingon, Lojban, ...) is still trained on, but has no offset. `read`
# keeps a pair under the first code listing it, so Serbo-Croatian `hbs` (langid: mostly Croatian)
# holds the Croatian pairs, and `kur` and `uig` the Kurdish and Uyghur ones.
CODES = {  # ISO 639-1 -> its Tatoeba-Challenge codes
    "af": "afr", "ar": "ara", "az": "aze", "be": "bel", "bg": "bul", "bn": "ben", "br": "bre", "bs": "bos_Latn",
    "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "eo": "epo", "es": "spa",
    "et": "est", "eu": "eus", "fa": "fas pes", "fi": "fin", "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla",
    "gl": "glg", "he": "heb", "hi": "hin", "hr": "hrv hbs", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl",
    "it": "ita", "ja": "jpn", "ka": "kat", "kk": "kaz", "km": "khm", "ko": "kor", "ku": "kur kur_Latn", "la": "lat",
    "lt": "lit", "lv": "lav", "mk": "mkd", "ml": "mal", "mn": "mon", "mr": "mar", "ms": "msa zsm_Latn", "my": "mya",
    "nl": "nld", "no": "nob", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sl": "slv", "sq": "sqi",
    "sr": "srp_Cyrl srp_Latn", "sv": "swe", "th": "tha", "tl": "tgl", "tr": "tur", "ug": "uig uig_Arab", "uk": "ukr",
    "ur": "urd", "uz": "uzb", "vi": "vie", "zh": "cmn_Hans cmn_Hant zho",
}  # fmt: skip
# the encoder's languages (faqsearch.langid.ENCODER_LANGUAGES, English aside) -> their FLORES-200
# file; Breton, Western Frisian and Latin are not in FLORES-200
FLORES = {
    "af": "afr_Latn", "am": "amh_Ethi", "ar": "arb_Arab", "as": "asm_Beng", "az": "azj_Latn", "be": "bel_Cyrl",
    "bg": "bul_Cyrl", "bn": "ben_Beng", "bs": "bos_Latn", "ca": "cat_Latn", "cs": "ces_Latn", "cy": "cym_Latn",
    "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "eo": "epo_Latn", "es": "spa_Latn", "et": "est_Latn",
    "eu": "eus_Latn", "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "ga": "gle_Latn", "gd": "gla_Latn",
    "gl": "glg_Latn", "gu": "guj_Gujr", "ha": "hau_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn",
    "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn", "is": "isl_Latn", "it": "ita_Latn", "ja": "jpn_Jpan",
    "jv": "jav_Latn", "ka": "kat_Geor", "kk": "kaz_Cyrl", "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang",
    "ku": "kmr_Latn", "ky": "kir_Cyrl", "lo": "lao_Laoo", "lt": "lit_Latn", "lv": "lvs_Latn", "mg": "plt_Latn",
    "mk": "mkd_Cyrl", "ml": "mal_Mlym", "mn": "khk_Cyrl", "mr": "mar_Deva", "ms": "zsm_Latn", "my": "mya_Mymr",
    "ne": "npi_Deva", "nl": "nld_Latn", "no": "nob_Latn", "om": "gaz_Latn", "or": "ory_Orya", "pa": "pan_Guru",
    "pl": "pol_Latn", "ps": "pbt_Arab", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "sa": "san_Deva",
    "si": "sin_Sinh", "sk": "slk_Latn", "sl": "slv_Latn", "so": "som_Latn", "sq": "als_Latn", "sr": "srp_Cyrl",
    "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai", "tl": "tgl_Latn",
    "tr": "tur_Latn", "ug": "uig_Arab", "uk": "ukr_Cyrl", "ur": "urd_Arab", "uz": "uzn_Latn", "vi": "vie_Latn",
    "xh": "xho_Latn", "zh": "zho_Hans",
}  # fmt: skip
ISO1 = {code: language for language, codes in CODES.items() for code in codes.split()} | {
    name: language for language, name in FLORES.items()
}


def half(text: str) -> str:
    """The half of the cross-lingual FAQ benchmark (benchmarks/public_sets.py) an English question
    falls in, by a hash of its casefolded text: a choice made on "dev" is checked on "validation"."""
    return "dev" if hashlib.sha256(text.encode()).digest()[0] % 2 == 0 else "validation"
