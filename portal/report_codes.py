"""Receipt codes: 8 random Crockford base-32 characters and a Luhn mod 32 check character.

Typable and read aloud over the phone: no I, L, O or U; lower case, spaces and dashes are forgiven, and
O/I/L typed for 0/1/1 are read as meant. The check character catches every single wrong character and
every swap of two neighbours, so a mistyped code says "not found" instead of opening someone else's report.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 8  # 40 bits: guessing a live code is hopeless at any rate the abuse limits allow
LENGTH = BODY_LENGTH + 1
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
MAX_TYPED = 32  # what a person may type around a code (spaces, dashes) before it is not one


def check_character(body: str) -> str:
    """Luhn mod N over the alphabet (N = 32)."""
    n, total, factor = len(ALPHABET), 0, 2
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_code() -> str:
    """A fresh random code (the caller retries on the rare collision)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def normalize(typed: str) -> str | None:
    """The code as stored, or None when what was typed is not a valid code (wrong length, characters, check)."""
    if not isinstance(typed, str) or len(typed) > MAX_TYPED:
        return None
    code = "".join(typed.split()).replace("-", "").upper().translate(_TYPED)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code if check_character(code[:-1]) == code[-1] else None


def display(code: str) -> str:
    """'7KQ2M9XR4' as '7KQ2-M9XR4', easier to read out."""
    return f"{code[:4]}-{code[4:]}"
