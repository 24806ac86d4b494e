"""Personal data out of customers' messages before they are stored (the unanswered log).

Support questions carry e-mail addresses, phone numbers, payment-card numbers, IBANs and order
or account numbers: personal data under GDPR and similar laws. Each is replaced by a marker
that keeps the question useful to an FAQ author ("my card [card] was charged twice").
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")  # RFC 5322's local-part characters
# Groups of four, as printed, so that the word after an IBAN is not taken into it; any case.
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
CARD = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{6,}\d(?![\d])")
DIGITS = re.compile(r"\d{6,}")
MIN_PHONE_DIGITS = 7  # a local number: 123-4567


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
    return len(re.sub(r"\D", "", text)) >= MIN_PHONE_DIGITS and not text.isdigit()


def redact(text: str) -> str:
    """`text` with e-mail addresses, IBANs (mod-97 checked), payment-card numbers (Luhn-checked),
    phone numbers and other runs of 6 or more digits replaced by [email], [iban], [card],
    [phone] and [number]."""
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub(lambda m: "[iban]" if _iban_valid(m.group()) else m.group(), text)
    text = CARD.sub(lambda m: "[card]" if _luhn(re.sub(r"\D", "", m.group())) else m.group(), text)
    text = PHONE.sub(lambda m: "[phone]" if _phone(m.group()) else m.group(), text)
    return DIGITS.sub("[number]", text)
