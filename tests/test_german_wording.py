"""The German texts use the network's words (the glossary in timebank/locale/README.md) and
read as plain sentences to a senior.

- No word from the glossary's "not this" column: a help entry is a Hilfe-Eintrag (not
  Eintrag, Einsatz, Austausch), the board the Pinnwand (not Hilfe-Brett), the balance the
  Kontostand (not Stand or Stände), the pool the Gemeinschaftstopf (not Pool or
  Solidaritätskonto), the manager the Netzwerkleitung (not Koordination or Manager); a
  balance is never "im Minus", and no message is headed "Fehler:".
- A sentence after a colon starts with a capital letter ("Das hat nicht geklappt: Bitte …"),
  and an error message, which the pages show after "Achtung:" or "Das hat nicht geklappt:",
  is a sentence of its own: it never starts in lower case.
- No field or function name (``min_minutes``, ``reverse_transfer()``) outside a short list
  of texts only a developer or an API client sees.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

GERMAN = Path(__file__).resolve().parent.parent / "timebank/locale/de/LC_MESSAGES/messages.po"

# The glossary's "not this" column: pattern -> the word to use instead.
NOT_THIS = {
    r"Hilfe-Brett": "Pinnwand",
    r"Solidaritätskonto": "Gemeinschaftstopf",
    r"\bPool\b": "Gemeinschaftstopf",
    r"\bAustausch": "Hilfe-Eintrag",
    r"\bEins[aä]tz": "Hilfe-Eintrag",
    # A bare Eintrag (the verb eintragen is fine, and so is Hilfe-Eintrag).
    r"(?<!-)\bEintr(?:ag|ags|äge|ägen)\b": "Hilfe-Eintrag",
    r"\bKoordination": "Netzwerkleitung / Netzwerkbüro",
    r"\bManager": "Netzwerkleitung",
    r"\bim Minus\b": "mehr bekommen als gegeben",
    r"\bSchulden\b|\bGuthaben\b|\bSaldo\b": "mehr bekommen/gegeben als gegeben/bekommen",
    r"\bHelfer\b": "helfende Person",
    r"\bStand\b": "Kontostand",
    r"\bStände\b": "Kontostände",
    r"\bKonto\b": "Zeitkonto",
    r"Fehler:": "Achtung: / Das hat nicht geklappt:",
    r"Fehlercode": "Nummer für Rückfragen",
}

# Ids whose German may keep a word of that column, with the reason. Empty today.
NOT_THIS_ALLOWED: dict[str, str] = {}

# German texts where a colon is followed by a list or a short label, not a sentence.
LOWER_AFTER_COLON_ALLOWED = {
    "For example: entered twice; the help did not take place.",
    "For example: mornings, not on Fridays.",
    "For example: small repairs on weekday mornings.",
    "For example: weekday mornings.",
    "Small letters without spaces, for example: pets. It cannot be changed later.",
    "Larger text: off",
    "Larger text: on",
}

# Texts that name a program's word on purpose: only a developer or the API client sees them.
RAW_CODE_ALLOWED = {
    "the community pool account is missing: run `timebank db upgrade`",
    "this idempotency_key was already used for a different exchange",
    "this idempotency_key was already used for a different transfer",
    "the idempotency key must be 1 to {count} characters long",
    "use reverse_transfer() to reverse a transfer",
}

# A field or function name (snake_case, backquotes, a call) once the placeholders are gone.
RAW_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b|`|\w\(\)")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")

# A colon, a space, then a word in lower case (a placeholder or a digit is not a word).
LOWER_AFTER_COLON = re.compile(r": [a-zäöüß]")


def starts_a_sentence_in_lower_case(text: str) -> bool:
    # Labels such as "offen" or "nicht dringend" are fine; a text that ends like a sentence,
    # or starts with "bitte", is shown on its own after "Achtung:" and must start upper case.
    return bool(re.match(r"[a-zäöüß]", text)) and (
        text.rstrip().endswith((".", "?", "!")) or bool(re.match(r"bitte\b", text))
    )


def german_texts() -> list[tuple[str, str]]:
    with GERMAN.open("rb") as fp:
        catalog = read_po(fp, locale="de")
    texts = []
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts += [(msgid, text) for text in strings if text]
    return texts


def test_the_glossary_words_are_used() -> None:
    wrong = [
        f"{msgid!r}: {text!r} says {re.search(pattern, text)[0]!r}, use {instead!r}"  # type: ignore[index]
        for msgid, text in german_texts()
        if msgid not in NOT_THIS_ALLOWED
        for pattern, instead in NOT_THIS.items()
        if re.search(pattern, text)
    ]
    assert wrong == [], "\n".join(wrong)


def test_a_sentence_after_a_colon_starts_with_a_capital() -> None:
    wrong = [
        f"{msgid!r}: {text!r}"
        for msgid, text in german_texts()
        if msgid not in LOWER_AFTER_COLON_ALLOWED and LOWER_AFTER_COLON.search(text)
    ]
    assert wrong == [], "\n".join(wrong)


def test_a_message_never_starts_a_sentence_in_lower_case() -> None:
    wrong = [
        f"{msgid!r}: {text!r}"
        for msgid, text in german_texts()
        if starts_a_sentence_in_lower_case(text)
    ]
    assert wrong == [], "\n".join(wrong)


def test_no_raw_code_in_a_german_text() -> None:
    wrong = [
        f"{msgid!r}: {text!r}"
        for msgid, text in german_texts()
        if msgid not in RAW_CODE_ALLOWED and RAW_CODE.search(PLACEHOLDER.sub("", text))
    ]
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Ans Hilfe-Brett hängen", "glossary"),
        ("Stunden an das Solidaritätskonto spenden", "glossary"),
        ("Ihr letzter Austausch", "glossary"),
        ("Ihr Stand:", "glossary"),
        ("3:00 Std. im Minus", "glossary"),
        ("Fehler:", "glossary"),
        ("Ältere Einträge", "glossary"),
        ("Zu viele Versuche: bitte warten Sie", "colon"),
        ("bitte füllen Sie dieses Feld aus", "start"),
        ("die Minuten müssen eine ganze Zahl sein.", "start"),
        ("min_minutes muss zwischen -600000 und 0 liegen", "code"),
    ],
)
def test_the_checks_catch_the_old_wording(text: str, rule: str) -> None:
    # The wording these tests replaced (German of 2026-11-24): each must be caught.
    caught = {
        "glossary": any(re.search(pattern, text) for pattern in NOT_THIS),
        "colon": bool(LOWER_AFTER_COLON.search(text)),
        "start": starts_a_sentence_in_lower_case(text),
        "code": bool(RAW_CODE.search(PLACEHOLDER.sub("", text))),
    }
    assert caught[rule]


@pytest.mark.parametrize(
    "text",
    ["Stunden eintragen", "Hilfe-Eintrag nicht bestätigt", "Kontostand heute:", "Zeitkonto"],
)
def test_the_checks_leave_the_right_words_alone(text: str) -> None:
    assert not any(re.search(pattern, text) for pattern in NOT_THIS)
