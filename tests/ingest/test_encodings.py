"""Encodings: the TCVN3 (ABC) codec, .cpg honoured, --encoding utf-8/cp1258/tcvn3, mojibake named in the report."""
import codecs
import unicodedata

import pytest

from ingest.services import ingest_file
from ingest.vnencodings import encode_cp1258, guess_mojibake, normalise_encoding
from layers.errors import IngestRejected
from layers.models import Feature
from tests.factories import make_parcel_layer
from tests.ingest.conftest import parcels_frame, write

WARD = "Phường Linh Chiểu"
STREET = "đường Võ Văn Ngân, phường Trường Thọ"  # TCVN3 has no toned capitals: lower case round-trips


def test_tcvn3_codec_decodes_the_abc_table_and_round_trips():
    assert b"Ph\xad\xeang Th\xb6o \xae\xd2n".decode("tcvn3") == "Phường Thảo đền"
    assert b"\xa7\xa1\xa2\xa3\xa4\xa5\xa6".decode("tcvn3") == "ĐĂÂÊÔƠƯ"
    assert STREET.encode("tcvn3").decode("tcvn3") == STREET
    every_byte = bytes(range(256))
    assert every_byte.decode("tcvn3").encode("tcvn3") == every_byte
    decomposed = unicodedata.normalize("NFD", "phường")
    assert decomposed.encode("tcvn3") == "phường".encode("tcvn3")  # combining marks composed first
    assert codecs.lookup("ABC").name == "tcvn3" and codecs.lookup("TCVN-3").name == "tcvn3"
    with pytest.raises(UnicodeEncodeError):
        "Ế".encode("tcvn3")  # toned capitals came from a separate font, not from this table
    decoder = codecs.getincrementaldecoder("tcvn3")()
    assert decoder.decode(b"Ph\xad") + decoder.decode(b"\xeang") == "Phường"


def test_encoding_names_and_mojibake_guesses():
    assert [normalise_encoding(n) for n in ("UTF-8", "1258", "ANSI 1258", "TCVN3", "windows-1258", "koi8-r")] == \
        ["utf-8", "cp1258", "cp1258", "tcvn3", "cp1258", None]
    assert guess_mojibake([STREET], "utf-8") is None
    assert guess_mojibake([STREET.encode("utf-8").decode("latin-1")], None) == "utf-8"
    assert guess_mojibake([encode_cp1258(STREET).decode("latin-1")], None) == "cp1258"
    assert guess_mojibake([STREET.encode("tcvn3").decode("latin-1")], None) == "tcvn3"


def legacy_shapefile(tmp_path, raw: bytes, cpg: str | None):
    """A shapefile whose DBF holds these exact bytes in its address field."""
    path = write(parcels_frame(1, address=[raw.decode("latin-1")]), tmp_path / "legacy.shp", encoding="ISO-8859-1")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    if cpg:
        path.with_suffix(".cpg").write_text(cpg)
    return path


@pytest.mark.django_db
@pytest.mark.parametrize("encoder,option,cpg", [
    (encode_cp1258, "cp1258", None),
    (lambda s: s.encode("tcvn3"), "tcvn3", None),
    (lambda s: s.encode("utf-8"), "utf-8", None),
    (encode_cp1258, None, "1258"),
    (lambda s: s.encode("tcvn3"), None, "TCVN3"),
])
def test_shapefile_text_decoded_as_told(tmp_path, encoder, option, cpg):
    layer = make_parcel_layer()
    run = ingest_file(path=legacy_shapefile(tmp_path, encoder(STREET), cpg), layer=layer, encoding=option)
    assert Feature.objects.get(layer=layer).properties["address"] == STREET
    assert not any("mojibake" in w for w in run.report["warnings"])


@pytest.mark.django_db
def test_cp1258_without_cpg_is_flagged_as_mojibake(tmp_path):
    layer = make_parcel_layer()
    run = ingest_file(path=legacy_shapefile(tmp_path, encode_cp1258(WARD + ", " + STREET), None), layer=layer)
    assert any("mojibake" in w and "--encoding cp1258" in w for w in run.report["warnings"])


@pytest.mark.django_db
def test_csv_in_tcvn3(tmp_path):
    layer = make_parcel_layer(schema=[], geometry_type="Point")
    path = tmp_path / "diem.csv"
    path.write_bytes(("ten,kinh_do,vi_do\n" + STREET.replace(",", "") + ",106.75,10.85\n").encode("tcvn3"))
    ingest_file(path=path, layer=layer, encoding="tcvn3")
    assert Feature.objects.get(layer=layer).properties["ten"] == STREET.replace(",", "")


@pytest.mark.django_db
def test_unknown_encoding_refused(tmp_path):
    layer = make_parcel_layer()
    with pytest.raises(IngestRejected, match="Unsupported encoding"):
        ingest_file(path=legacy_shapefile(tmp_path, b"abc", None), layer=layer, encoding="koi8-r")
