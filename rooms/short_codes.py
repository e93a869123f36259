"""Short codes: the part of a short join link (``/j/<code>``) a person can type from paper.

A code stands for one invitation and is worth exactly what the invitation is: it expires
and is revoked with it. It carries no signature, so its only protection is that it cannot
be guessed: 10 symbols of a 32-symbol alphabet are 50 random bits (about 1.1 × 10^15
codes), and every wrong code counts toward the per-address login back-off (see
``docs/links.md`` for the arithmetic).

The alphabet is Crockford's base 32: digits and capital letters without I, L, O and U, so
nothing reads as something else. Reading is forgiving the same way: lower case is accepted,
``O`` is read as ``0``, ``I`` and ``L`` as ``1``, and spaces or hyphens are ignored, so a
code copied from a printout or dictated over the telephone still works.
"""

from __future__ import annotations

import secrets
from typing import Final, NewType

__all__ = [
    "SHORT_CODE_ALPHABET",
    "SHORT_CODE_BITS",
    "SHORT_CODE_LENGTH",
    "ShortCode",
    "grouped",
    "new_short_code",
    "read_short_code",
]

ShortCode = NewType("ShortCode", str)

SHORT_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_CODE_LENGTH: Final = 10
SHORT_CODE_BITS: Final = SHORT_CODE_LENGTH * 5
"""Each symbol of a 32-symbol alphabet carries 5 bits."""

_READ_AS: Final = {"O": "0", "I": "1", "L": "1"}
_IGNORED: Final = frozenset(" -")
_MAX_TYPED: Final = 40
"""Anything longer than a code with generous separators is not a code."""


def new_short_code() -> ShortCode:
    """A fresh code from the operating system's cryptographic random source."""
    return ShortCode("".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(SHORT_CODE_LENGTH)))


def read_short_code(typed: str) -> ShortCode | None:
    """The code a person meant, or None when ``typed`` cannot be one (wrong length or a
    symbol outside the alphabet)."""
    if len(typed) > _MAX_TYPED:
        return None
    symbols = [_READ_AS.get(c, c) for c in typed.upper() if c not in _IGNORED]
    if len(symbols) != SHORT_CODE_LENGTH or any(c not in SHORT_CODE_ALPHABET for c in symbols):
        return None
    return ShortCode("".join(symbols))


def grouped(code: str) -> str:
    """``7K3M9-QX2P4``: two groups of five, easier to read aloud and to copy by hand."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"
