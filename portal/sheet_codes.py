"""Verification codes of issued sheets: the platform's one typable code (portal/codes.py), read with the sheet's
own refusals (a malformed code and a mistyped one are told apart)."""
from layers.errors import InvalidParameter
from portal.codes import ALPHABET, LENGTH, check_character, display, new_code, normalize, well_formed  # noqa: F401


def parse_code(text: str) -> str:
    """A typed code in its stored form; InvalidParameter (400) when malformed or its check character fails."""
    if well_formed(text) is None:
        raise InvalidParameter(
            f"Mã xác minh không hợp lệ: mã gồm {LENGTH} ký tự chữ và số, dạng XXXX-XXXXX.",
            f"Invalid verification code: a code has {LENGTH} letters and digits, as XXXX-XXXXX.", parameter="code")
    code = normalize(text)
    if code is None:
        raise InvalidParameter(
            "Mã xác minh sai: ký tự kiểm tra không khớp (có thể gõ nhầm hoặc mã đã bị sửa). Hãy kiểm tra lại mã in trên phiếu.",
            "Wrong verification code: its check character does not match (a typo, or the code was altered). "
            "Check the code printed on the sheet.", parameter="code")
    return code
