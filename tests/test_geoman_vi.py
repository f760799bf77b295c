"""The editor's Vietnamese Geoman dictionary covers every key of Geoman's own English one."""
import json
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor" / "leaflet-geoman-free-2.20.2"


def _english() -> dict:
    """Geoman's English dictionary, read from the vendored bundle (its keys are plain JS identifiers)."""
    bundle = (VENDOR / "leaflet-geoman.min.js").read_text(encoding="utf-8")
    start = bundle.index('{tooltips:{placeMarker:"Click to place marker"')
    depth, end = 0, start
    for end, char in enumerate(bundle[start:], start):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            break
    # Object literal → JSON: quote the bare keys (the values hold no braces or colons after a quote).
    return json.loads(re.sub(r'([{,])([A-Za-z_]\w*):', r'\1"\2":', bundle[start:end + 1]))


def _vietnamese() -> dict:
    text = (VENDOR / "leaflet-geoman-vi.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("= {") + 2:text.rindex(";")])


def _keys(dictionary: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in dictionary.items():
        keys |= _keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return keys


def test_every_english_key_is_translated():
    english, vietnamese = _english(), _vietnamese()
    assert len(_keys(english)) > 40  # the reader found the whole dictionary, not a piece of it
    assert _keys(english) - _keys(vietnamese) == set()
    assert _keys(vietnamese) - _keys(english) == set()  # no key Geoman would never ask for


def test_translations_are_vietnamese_and_keep_placeholders():
    english, vietnamese = _english(), _vietnamese()
    for section, entries in english.items():
        for key, text in entries.items():
            translated = vietnamese[section][key]
            assert translated.strip() and translated != text, f"{section}.{key} is not translated"
            assert re.findall(r"\{\w+\}", translated) == re.findall(r"\{\w+\}", text), f"{section}.{key} placeholders"
    assert vietnamese["buttonTitles"]["drawPolyButton"] == "Vẽ đa giác"
    assert vietnamese["buttonTitles"]["editButton"] == "Chỉnh sửa"
    assert vietnamese["buttonTitles"]["cutButton"] == "Cắt"
