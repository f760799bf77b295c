"""The platform's typable codes (reports' receipts, sheets' verification codes): 8 random Crockford base-32
characters and a check character (a weighted sum modulo 37). One scheme, one reader, for every code a person types.

Typable and read aloud over the phone: no I, L, O or U; lower case, spaces and dashes are forgiven, and
O/I/L typed for 0/1/1 are read as meant. The check character catches every single wrong character and
every swap of two neighbours, so a mistyped code says "not found" instead of opening someone else's report.
Why modulo 37: it is prime and above 32, so no weight and no difference of two characters vanishes (Luhn mod
32 misses the swap of 0 and Z); bodies whose check would fall outside the alphabet (5 in 37) are drawn again.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 8  # 40 bits: guessing a live code is hopeless at any rate the abuse limits allow
LENGTH = BODY_LENGTH + 1
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
MAX_TYPED = 32  # what a person may type around a code (spaces, dashes) before it is not one


_PRIME = 37


def _weighted(code: str) -> int:
    return sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(code)) % _PRIME


def check_character(body: str) -> str | None:
    """The character that makes the weighted sum of body + check 0 modulo 37; None if it is not in the alphabet."""
    value = (-_weighted(body) * pow(len(body) + 1, -1, _PRIME)) % _PRIME
    return ALPHABET[value] if value < len(ALPHABET) else None


def new_code() -> str:
    """A fresh random code (the caller retries on the rare collision)."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
        check = check_character(body)
        if check is not None:
            return body + check


def well_formed(typed: str) -> str | None:
    """What was typed as a code of the right length and characters (its check not yet tried), or None."""
    if not isinstance(typed, str) or len(typed) > MAX_TYPED:
        return None
    code = "".join(typed.split()).replace("-", "").upper().translate(_TYPED)
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def normalize(typed: str) -> str | None:
    """The code as stored, or None when what was typed is not a valid code (wrong length, characters, check)."""
    code = well_formed(typed)
    return code if code is not None and _weighted(code) == 0 else None


def display(code: str) -> str:
    """'7KQ2M9XR4' as '7KQ2-M9XR4', easier to read out."""
    return f"{code[:4]}-{code[4:]}"
