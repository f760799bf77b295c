"""A harvest's differences into the layer as ONE ingest run: the features written to a temporary GeoPackage in
their native CRS (declared), then the real ingest pipeline (`mirror --key`, or `create` the first time), so a
harvest is validated, transformed (VN-2000 pinned), recorded in history, revertable and announced exactly as an
ingest is."""
from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from ingest.models import IngestRun
from ingest.services import ingest_file
from layers.errors import InvalidParameter
from layers.models import Feature, Layer
from opendata.harvest_read import Harvested, HarvestFailed


def _column(values: list) -> pd.Series:
    """One property column the GeoPackage can hold: numbers and booleans kept, anything mixed as text."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="object")
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="float64" if any(isinstance(v, float) for v in present) else "Int64")
    return pd.Series([None if v is None else str(v) for v in values], dtype="object")


def to_frame(harvested: Harvested) -> gpd.GeoDataFrame:
    """The harvested rows as a GeoDataFrame in their declared CRS."""
    names: list[str] = []
    for props, _ in harvested.rows:
        names.extend(k for k in props if k not in names)
    data = {name: _column([props.get(name) for props, _ in harvested.rows]) for name in names}
    geometry = gpd.GeoSeries([geom for _, geom in harvested.rows], crs=harvested.crs)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=harvested.crs)


def rows_without_key(layer: Layer | None, key: str) -> int:
    """The layer's features that do not carry the key: not harvested from a source, so a mirror would delete them."""
    if layer is None:
        return 0
    return Feature.objects.filter(layer=layer).exclude(properties__has_key=key.lower()).count()


def check_target(layer: Layer | None, key: str) -> None:
    """Refuses to mirror a source into a layer holding features the source did not make (400, nothing changed):
    its first harvest would delete every one of them."""
    foreign = rows_without_key(layer, key)
    if foreign:
        raise InvalidParameter(
            f"Lớp {layer.slug} có {foreign} đối tượng không có trường khóa «{key}»: chúng không đến từ nguồn này và "
            "lần thu thập sẽ xóa chúng. Hãy thu thập vào một lớp mới, hoặc chọn trường khóa mà lớp đang có.",
            f"Layer {layer.slug} holds {foreign} features without the key field “{key}”: they did not come from this "
            "source and a harvest would delete them. Harvest into a new layer, or choose a key field the layer has.",
            parameter="layer")


def apply(*, harvested: Harvested, layer_slug: str, user=None) -> IngestRun:
    """Loads the harvest through ingest (create the first time, mirror by key after) as `user` (None: the
    schedule or the command line, as `manage.py ingest`); the run it made."""
    if not harvested.rows:
        raise HarvestFailed("Nguồn không trả về đối tượng nào; lớp giữ nguyên.",
                            "The source returned no features; the layer is left as it was.", parameter="url")
    layer = Layer.objects.filter(slug=layer_slug).first()
    # ingest lowers column names (unless mapped): the key is matched the same way.
    key = harvested.key.lower()
    check_target(layer, key)
    with tempfile.TemporaryDirectory(prefix="harvest-") as folder:
        path = Path(folder) / f"{layer_slug}.gpkg"
        try:
            pyogrio.write_dataframe(to_frame(harvested), path, layer=layer_slug.replace("-", "_"), driver="GPKG")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, ValueError, TypeError) as error:
            raise HarvestFailed(f"Không ghi được dữ liệu thu thập: {str(error)[:200]}",
                                f"The harvested data could not be written: {str(error)[:200]}") from None
        return ingest_file(path=path, layer=layer or layer_slug, mode="create" if layer is None else "mirror",
                           key=key, kind="harvest", max_rejects=0, user=user)
