"""Normalization used to match records: imports, duplicate detection, search."""

import re

_NON_DIGITS = re.compile(r"\D+")
_SPACES = re.compile(r"\s+")
_COMPANY_SUFFIXES = re.compile(
    r"\b(inc|incorporated|llc|ltd|limited|gmbh|corp|corporation|co|company|plc|sa|ag|bv)\b\.?",
    re.IGNORECASE,
)


def normalize_phone(raw: str) -> str:
    """Digits only, without a leading international "00": "+1 (555) 010-2000" -> "15550102000"."""
    digits = _NON_DIGITS.sub("", raw or "")
    if digits.startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= 6 else ""


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


def normalize_name(raw: str) -> str:
    """Lower case, company suffixes and punctuation removed, spaces collapsed."""
    name = _COMPANY_SUFFIXES.sub(" ", (raw or "").lower())
    name = re.sub(r"[^\w\s]", " ", name)
    return _SPACES.sub(" ", name).strip()
