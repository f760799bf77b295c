"""The 2025 ward crosswalk: which current ward(s) each of Thu Duc's 34 former wards became.

Read once from layers/data/ward_crosswalk_2025.csv (reviewed data; its header names the source). Four former
wards were split between two new wards, so a former ward has one or two successors, never "the" current unit.
"""
import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "ward_crosswalk_2025.csv"


@dataclass(frozen=True)
class Successor:
    """A ward since 1 July 2025."""

    code: str
    name: str


@dataclass(frozen=True)
class Row:
    """One former ward and the ward(s) that took its area (the source's main one first)."""

    former_code: str
    former_name: str
    successors: tuple[Successor, ...]
    split: bool


def _row(record: dict[str, str]) -> Row:
    """A checked row: as many codes as names, the split flag agreeing with their count, the main one among them."""
    codes, names = record["new_codes"].split(";"), record["new_names"].split(";")
    split = {"yes": True, "no": False}[record["split"]]
    if len(codes) != len(names) or split != (len(codes) > 1) or record["main_new_code"] not in codes:
        raise ValueError(f"inconsistent crosswalk row for {record['former_code']}")
    pairs = sorted(zip(codes, names), key=lambda p: p[0] != record["main_new_code"])  # main first, then code order
    return Row(record["former_code"], record["former_name"], tuple(Successor(c, n) for c, n in pairs), split)


@cache
def rows() -> tuple[Row, ...]:
    """Every row of the table, in former-code order."""
    with TABLE.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    return tuple(_row(record) for record in csv.DictReader(lines))


@cache
def by_former_code() -> dict[str, Row]:
    """Rows by former ward code."""
    return {row.former_code: row for row in rows()}


def successors_of(former_code: str) -> tuple[Successor, ...]:
    """The current ward(s) of a former ward code, the main one first; () when the table does not list it."""
    row = by_former_code().get(former_code)
    return row.successors if row else ()


def new_wards() -> dict[str, str]:
    """The wards since 1 July 2025 named in the table: code -> name."""
    return {s.code: s.name for row in rows() for s in row.successors}
