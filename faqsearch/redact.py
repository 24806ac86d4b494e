"""Personal data out of customers' messages before they are stored (the unanswered log).

Support questions carry e-mail addresses, phone numbers, payment-card numbers, IBANs and order
or account numbers: personal data under GDPR and similar laws. Each is replaced by a marker
that keeps the question useful to an FAQ author ("my card [card] was charged twice").

Customers type on every keyboard: a Japanese one writes `０９０－１２３４－５６７８`, a word processor
turns hyphens into en dashes, an Arabic one writes `٠١٢`. The text is first put in NFKC form
(full-width letters, digits and `＠` become ASCII), every decimal digit becomes its ASCII digit
and every dash a hyphen, so that one set of ASCII patterns finds them all; the log stores that
normalized text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")  # RFC 5322's local-part characters
# An address spelled out to get past filters: "jane at example dot com", "jane (at) example [dot] com".
_AT, _DOT = (rf"(?:\s*[(\[{{]\s*{word}\s*[)\]}}]\s*|\s+{word}\s+)" for word in ("at", "dot"))
SPELLED_EMAIL = re.compile(rf"(?<![\w.+-])[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+", re.IGNORECASE)
# Groups of four, as printed, so that the word after an IBAN is not taken into it; any case, ASCII
# only (under IGNORECASE a Unicode pattern's [A-Z] also matches `İ` and the Kelvin sign).
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", re.IGNORECASE | re.ASCII)
CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])", re.ASCII)
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{6,}\d(?![\d])", re.ASCII)
DIGITS = re.compile(r"\d{6,}", re.ASCII)
MIN_PHONE_DIGITS = 7  # a local number: 123-4567
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"  # NFKC keeps these apart from '-'


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        total += d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d)
    return total % 10 == 0


def _iban_valid(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _phone(text: str) -> bool:
    """Enough digits, and written like a phone number (a separator or a leading +): a bare run
    of digits is an order or account number."""
    return len(re.sub(r"\D", "", text, flags=re.ASCII)) >= MIN_PHONE_DIGITS and not text.isdigit()


@lru_cache(maxsize=4096)
def _ascii_form(char: str) -> str:
    if char in DASHES:
        return "-"
    digit = unicodedata.decimal(char, None)
    return char if digit is None else str(digit)


def normalize(text: str) -> str:
    """`text` as the patterns read it: NFKC, decimal digits in ASCII, dashes as '-'."""
    if text.isascii():
        return text
    return "".join(map(_ascii_form, unicodedata.normalize("NFKC", text)))


def redact(text: str) -> str:
    """`text`, normalized, with e-mail addresses (also spelled out), IBANs (mod-97 checked),
    payment-card numbers (Luhn-checked), phone numbers and other runs of 6 or more digits
    replaced by [email], [iban], [card], [phone] and [number]."""
    text = EMAIL.sub("[email]", normalize(text))
    text = SPELLED_EMAIL.sub("[email]", text)
    text = IBAN.sub(lambda m: "[iban]" if _iban_valid(m.group()) else m.group(), text)
    text = CARD.sub(lambda m: "[card]" if _luhn(re.sub(r"\D", "", m.group())) else m.group(), text)
    text = PHONE.sub(lambda m: "[phone]" if _phone(m.group()) else m.group(), text)
    return DIGITS.sub("[number]", text)
