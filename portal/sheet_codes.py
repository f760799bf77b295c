"""Verification codes of issued sheets: short, typable, with a check character that catches a typo.

Nine characters from a 31-symbol alphabet (digits and capitals without I, L, O, U, Z: nothing to confuse when
read aloud or retyped). Eight are random; the ninth is sum(weight × value) mod 31 with weights 1..8: 31 is
prime and the weights differ, so every single wrong character and every swap of two neighbours is caught.
"""
import re
import secrets

from layers.errors import InvalidParameter

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXY"
BODY = 8
LENGTH = BODY + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# What people type for what they read: O for 0, I or L for 1; separators and case do not matter.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(body: str) -> str:
    """The check character of an 8-character body."""
    return ALPHABET[sum((i + 1) * _VALUE[c] for i, c in enumerate(body)) % len(ALPHABET)]


def new_code() -> str:
    """A fresh random code (about 8.5 × 10^11 possibilities before the check character)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY))
    return body + check_character(body)


def display(code: str) -> str:
    """The code as printed: XXXX-XXXXX."""
    return f"{code[:4]}-{code[4:]}"


def parse_code(text: str) -> str:
    """A typed code in its stored form; InvalidParameter (400) when malformed or its check character fails."""
    if not isinstance(text, str) or len(text) > 40:
        raise _malformed()
    code = re.sub(r"[\s\-.]", "", text).upper().translate(_READ_AS)
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        raise _malformed()
    if check_character(code[:BODY]) != code[BODY]:
        raise InvalidParameter(
            "Mã xác minh sai: ký tự kiểm tra không khớp (có thể gõ nhầm hoặc mã đã bị sửa). Hãy kiểm tra lại mã in trên phiếu.",
            "Wrong verification code: its check character does not match (a typo, or the code was altered). "
            "Check the code printed on the sheet.", parameter="code")
    return code


def _malformed() -> InvalidParameter:
    return InvalidParameter(
        f"Mã xác minh không hợp lệ: mã gồm {LENGTH} ký tự chữ và số, dạng XXXX-XXXXX.",
        f"Invalid verification code: a code has {LENGTH} letters and digits, as XXXX-XXXXX.", parameter="code")
