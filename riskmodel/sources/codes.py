"""ISO 3166-1 alpha-3 country codes, admin-1 codes and sub-national region codes: what a
valid region key is.

A country code is valid when it is one of the 249 officially assigned alpha-3 codes
(`iso3166_alpha3.txt`) or lies in a user-assigned range (AAA-AAZ, QMA-QZZ, XAA-XZZ,
ZZA-ZZZ): Kosovo's XKX and the synthetic world's XAA-XZZ are such codes. An admin-1 code
is a valid country code, a hyphen and a local part (`KEN-01`), as the synthetic world
writes them. A sub-national region code (GDL's `AFGr101`) is free-form but plain: a letter
or digit, then letters, digits, `.`, `_` or `-`, at most 32 characters in all; its country
is given beside it, never parsed from it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_LIST = Path(__file__).with_name("iso3166_alpha3.txt")
_ADMIN1 = re.compile(r"^([A-Z]{3})-[A-Za-z0-9_.]+$")
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


@lru_cache(maxsize=1)
def assigned_codes() -> frozenset[str]:
    """The officially assigned ISO 3166-1 alpha-3 codes."""
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip() for s in lines if s.strip() and not s.startswith("#"))


def is_user_assigned(code: str) -> bool:
    """True for codes in ISO 3166-1's user-assigned alpha-3 ranges."""
    if len(code) != 3 or not code.isascii() or not code.isupper() or not code.isalpha():
        return False
    return (code[:2] == "AA" or code[0] == "X" or code[:2] == "ZZ"
            or (code[0] == "Q" and code[1] >= "M"))


def is_country_code(code: str) -> bool:
    """True when `code` is an assigned or user-assigned ISO 3166-1 alpha-3 code."""
    return code in assigned_codes() or is_user_assigned(code)


def is_admin1_code(code: str) -> bool:
    """True when `code` is `<country code>-<local part>` with a valid country code."""
    m = _ADMIN1.match(code)
    return m is not None and is_country_code(m.group(1))


def is_region_code(code: str) -> bool:
    """True when `code` is a plain sub-national region code (see the module docstring)."""
    return _REGION.match(code) is not None
