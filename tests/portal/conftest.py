"""Fixtures for residents' reports: the demo city, a private media folder, photos, planners."""
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import MultiPolygon
from PIL import Image

from layers.models import Feature, LayerGrant


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Photos land in this test's own folder (the storage folder the tests count files in)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
def parcel(demo_city) -> Feature:
    return Feature.objects.filter(layer=demo_city["parcels"]).order_by("pk").first()


@pytest.fixture
def zone(demo_city) -> Feature:
    return Feature.objects.filter(layer=demo_city["planning-zones"]).order_by("pk").first()


@pytest.fixture
def inside(parcel) -> tuple[float, float]:
    """A point in the city (on the first parcel)."""
    point = parcel.geom.point_on_surface
    return point.x, point.y


def jpeg_bytes(size=(64, 48), *, gps: bool = False, fmt: str = "JPEG") -> bytes:
    """A small real image; with GPS EXIF when asked (as a phone camera writes it)."""
    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x0110] = "PhoneModel 12"  # Model
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (10.0, 47.0, 30.5)
        gps_ifd[3] = "E"
        gps_ifd[4] = (106.0, 45.0, 12.25)
        image.save(out, fmt, exif=exif, icc_profile=b"\0" * 128 if fmt == "JPEG" else None)
    else:
        image.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def planner(demo_city) -> User:
    """An editor of the parcels layer everywhere (no personal-data grant)."""
    user = User.objects.create_user("report-planner", password="pw-planner-1")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=user, can_edit=True)
    return user


def area_planner(layer, parcel: Feature, name: str = "area-planner") -> User:
    """An editor of `layer` only in a small square around `parcel`."""
    user = User.objects.create_user(name, password="pw-area-1")
    box = parcel.geom.envelope.buffer(0.0005)
    LayerGrant.objects.create(layer=layer, user=user, can_edit=True, area=MultiPolygon(box, srid=4326))
    return user
