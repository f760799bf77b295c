"""Vietnamese legacy encodings: a TCVN3 (ABC) codec, encoding names, and mojibake detection.

TCVN 5712:1993 "VN3", the ABC font encoding, puts Vietnamese lower-case letters (and seven base
capitals) on bytes 0xA1–0xFE; toned capitals were drawn by the ".VnTimeH" upper-case fonts from the
same bytes, so text decodes to lower case there. Python ships no codec for it: registering this one
makes `bytes.decode("tcvn3")` work. Decoding never fails and encode(decode(b)) == b for every b.
"""
import codecs
import re
import unicodedata

# byte -> letter (TCVN 5712:1993 VN3 / ABC).
_TCVN3_TABLE = (
    "a1:Ă a2:Â a3:Ê a4:Ô a5:Ơ a6:Ư a7:Đ a8:ă a9:â aa:ê ab:ô ac:ơ ad:ư ae:đ "
    "b5:à b6:ả b7:ã b8:á b9:ạ bb:ằ bc:ẳ bd:ẵ be:ắ c6:ặ c7:ầ c8:ẩ c9:ẫ ca:ấ cb:ậ "
    "cc:è ce:ẻ cf:ẽ d0:é d1:ẹ d2:ề d3:ể d4:ễ d5:ế d6:ệ d7:ì d8:ỉ dc:ĩ dd:í de:ị "
    "df:ò e1:ỏ e2:õ e3:ó e4:ọ e5:ồ e6:ổ e7:ỗ e8:ố e9:ộ ea:ờ eb:ở ec:ỡ ed:ớ ee:ợ "
    "ef:ù f1:ủ f2:ũ f3:ú f4:ụ f5:ừ f6:ử f7:ữ f8:ứ f9:ự fa:ỳ fb:ỷ fc:ỹ fd:ý fe:ỵ"
)
_DECODE = {int(b, 16): ch for b, ch in (item.split(":") for item in _TCVN3_TABLE.split())}
# Free bytes decode as Latin-1, except where that letter already has a TCVN3 byte (0xC2 would read "Â"
# like 0xA2): those go to the Private Use Area, so every byte string still round-trips exactly.
DECODING_TABLE = "".join(
    _DECODE.get(i, chr(i) if chr(i) not in _DECODE.values() else chr(0xF700 + i)) for i in range(256)
)
ENCODING_TABLE = codecs.charmap_build(DECODING_TABLE)


class _Codec(codecs.Codec):
    def encode(self, text, errors="strict"):
        # Composed forms only: "ờ" written as o + horn + grave is first composed to U+1EDD.
        return codecs.charmap_encode(unicodedata.normalize("NFC", text), errors, ENCODING_TABLE)

    def decode(self, data, errors="strict"):
        return codecs.charmap_decode(data, errors, DECODING_TABLE)


class _IncrementalEncoder(codecs.IncrementalEncoder):
    def encode(self, text, final=False):
        return _Codec().encode(text, self.errors)[0]


class _IncrementalDecoder(codecs.IncrementalDecoder):
    def decode(self, data, final=False):
        return codecs.charmap_decode(data, self.errors, DECODING_TABLE)[0]


_INFO = codecs.CodecInfo(
    name="tcvn3", encode=_Codec().encode, decode=_Codec().decode,
    incrementalencoder=_IncrementalEncoder, incrementaldecoder=_IncrementalDecoder,
)
_ALIASES = {"tcvn3", "tcvn", "tcvn_3", "abc", "vn3", "tcvn5712", "tcvn_5712"}


def _search(name: str):
    return _INFO if name.replace("-", "_").lower() in _ALIASES else None


codecs.register(_search)

# What --encoding and .cpg files may say, normalised to a Python codec name.
SUPPORTED = {"utf-8", "cp1258", "tcvn3", "latin-1", "cp1252"}


def normalise_encoding(name: str) -> str | None:
    """A Python codec name for an --encoding value or .cpg text ('UTF-8', '1258', 'ANSI 1258', 'TCVN3' …)."""
    text = name.strip().lower().replace("ansi", "").replace("windows", "cp").replace(" ", "").replace("_", "-")
    if text.isdigit():
        text = {"65001": "utf-8", "1258": "cp1258", "1252": "cp1252", "28591": "latin-1"}.get(text, f"cp{text}")
    text = text.replace("cp-", "cp")
    try:
        codec = codecs.lookup(text).name
    except LookupError:
        return None
    codec = {"iso8859-1": "latin-1"}.get(codec, codec)
    return codec if codec in SUPPORTED else None


# Vietnamese letters that only exist with diacritics: their presence is what "reads as Vietnamese" means.
_VIETNAMESE = set(
    "àảãáạăằẳẵắặâầẩẫấậđèẻẽéẹêềểễếệìỉĩíịòỏõóọôồổỗốộơờởỡớợùủũúụưừửữứựỳỷỹýỵ"
)
_VIETNAMESE |= {c.upper() for c in _VIETNAMESE}


def _score(text: str) -> float:
    """Share of non-ASCII characters that read as Vietnamese (1.0 = all of them).

    A Vietnamese word never holds three non-ASCII letters in a row, nor a capital after a small
    letter: those are the marks of text decoded with the wrong table.
    """
    text = unicodedata.normalize("NFC", text)
    good = bad = 0
    for run in re.finditer(r"[^\x00-\x7f]+", text):
        chars, start = run.group(), run.start()
        if len(chars) >= 3:
            bad += len(chars)
            continue
        for offset, c in enumerate(chars):
            before = text[start + offset - 1] if start + offset > 0 else " "
            if c in _VIETNAMESE and not (c.isupper() and before.islower()):
                good += 1
            else:
                bad += 1
    return 1.0 if good + bad == 0 else good / (good + bad)


_UTF8_AS_LATIN = re.compile("[ÃÄÆáºá»Â][\u0080-\u00ff]")


def guess_mojibake(samples: list[str], used: str | None) -> str | None:
    """The encoding the text was probably in when it reads as mojibake, or None when it reads well.

    `samples` are strings as decoded with `used` (None: the reader's default, treated as Latin-1).
    """
    text = " ".join(s for s in samples if isinstance(s, str))[:20000]
    if not any(ord(c) > 127 for c in text) or _score(text) >= 0.9:
        return None
    try:
        raw = text.encode(used if used not in (None, "utf-8") else "latin-1")
    except (UnicodeEncodeError, LookupError):
        return None
    best, best_score = None, _score(text)
    for candidate in ("utf-8", "cp1258", "tcvn3"):
        if candidate == used:
            continue
        try:
            decoded = raw.decode(candidate)
        except UnicodeDecodeError:
            continue
        score = _score(decoded)
        if score > best_score + 0.2:
            best, best_score = candidate, score
    if best is None and _UTF8_AS_LATIN.search(text):
        return "utf-8"
    return best


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def encode_cp1258(text: str) -> bytes:
    """Text in Windows-1258 as Vietnamese Windows wrote it: base letters precomposed, tones combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        tones = "".join(c for c in parts if c in _TONES)
        out.append((base + tones).encode("cp1258"))
    return b"".join(out)
