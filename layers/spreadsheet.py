"""Cells of every CSV the platform writes, made safe to open in a spreadsheet (OWASP "CSV injection").

A text cell that a spreadsheet would read as a formula (=, +, -, @, or a leading tab or carriage
return, also after leading blanks, and the full-width forms some spreadsheets accept) gets a single
quote in front: Excel and LibreOffice then show it as text. Numbers stay numbers: numeric-typed
values are never touched, and a text cell that is exactly a plain number ("-12.5", "+3", "-1e3")
is left as is, since a spreadsheet reads it as that number and nothing else.
"""
import re
from numbers import Number

FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # the last four: full-width = + - @
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
LEADING_BLANKS = " \n\u00a0\u3000"


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could take this text for a formula (or a DDE call)."""
    if not text:
        return False
    if text[0] in "\t\r":
        return True
    start = text.lstrip(LEADING_BLANKS)
    return bool(start) and start[0] in FORMULA_STARTS and not PLAIN_NUMBER.fullmatch(text)


def safe_cell(value):
    """The value as a spreadsheet should show it: numbers and None unchanged, formula-like text quoted."""
    if value is None or isinstance(value, (Number, bool)):
        return value
    text = str(value)
    return "'" + text if is_formula_like(text) else text


def safe_row(values) -> list:
    """safe_cell over a row: for csv.writer."""
    return [safe_cell(v) for v in values]
