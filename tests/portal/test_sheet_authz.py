"""The planning information sheet's doors in the authorization and personal-data guarantees: the PDF
(/thua-dat/…/phieu.pdf), the verification page (/xac-minh/{code}/) and the re-issue (/xac-minh/{code}/phieu.pdf),
for every role × each sheet layer made restricted. A sheet never carries what its asker may not see; a verifier
never sees a part from a layer they may not see (nor can have it re-issued); no sheet and no verification page
carries an owner's name, ID number or an editor's identity, whoever issued it."""
import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.urls import reverse

from layers import editing
from layers.models import Feature, LayerGrant
from portal.sheet_models import IssuedSheet
from tests.portal.sheet_helpers import issue, pdf_text

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html"}
JSON = {"HTTP_ACCEPT": "application/json"}
SIDE_LAYERS = ("planning-zones", "road-reserves", "admin-units")
SECTION = {"planning-zones": "zones", "road-reserves": "road_reserve_m2", "admin-units": "current_unit"}
ROLES = ("anonymous", "no_grant", "viewer", "data_admin", "admin")


@pytest.fixture
def parcel(demo_city) -> Feature:
    """A parcel meeting a planning zone and a road reserve (every section of the sheet has something to say)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM layers_feature p WHERE p.layer_id = %s "
            "AND EXISTS (SELECT 1 FROM layers_feature z WHERE z.layer_id = %s AND ST_Intersects(z.geom, p.geom) "
            "            AND ST_Area(ST_Intersection(z.geom, p.geom)) > 1e-9) "
            "AND EXISTS (SELECT 1 FROM layers_feature r WHERE r.layer_id = %s AND ST_Intersects(r.geom, p.geom) "
            "            AND ST_Area(ST_Intersection(r.geom, p.geom)) > 1e-9) ORDER BY p.id LIMIT 1",
            [demo_city["parcels"].pk, demo_city["planning-zones"].pk, demo_city["road-reserves"].pk])
        row = cursor.fetchone()
    assert row, "the demo city has a parcel in a zone and a road reserve"
    return Feature.objects.get(pk=row[0])


def _user(role: str, layer, name: str = "") -> User | None:
    if role == "anonymous":
        return None
    user = User.objects.create_user(name or f"sheet-{role}")
    if role == "viewer":
        LayerGrant.objects.create(layer=layer, user=user)
    elif role == "data_admin":
        user.user_permissions.add(Permission.objects.get(codename="add_layer", content_type__app_label="layers"))
    elif role == "admin":
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
    return user


def _as(client, user) -> None:
    client.logout()
    if user is not None:
        client.force_login(user)


def _restricted(demo_city, slug: str):
    layer = demo_city[slug]
    layer.is_public = False
    layer.save(update_fields=["is_public"])
    return layer


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("slug", SIDE_LAYERS)
def test_a_sheet_carries_a_restricted_layer_only_to_who_may_see_it(client, demo_city, parcel, slug, role):
    layer = _restricted(demo_city, slug)
    _as(client, _user("admin", layer, "sheet-issuer"))
    full = IssuedSheet.objects.get(code=issue(client, parcel)[1]).content
    assert full.get(SECTION[slug]) not in (None, [], ""), f"the demo parcel has {SECTION[slug]}"
    secret_zones = [z["zone_code"] for z in full.get("zones") or []] if slug == "planning-zones" else []

    _as(client, _user(role, layer))
    response, code = issue(client, parcel)
    content = IssuedSheet.objects.get(code=code).content
    sees = role in ("viewer", "data_admin", "admin")
    assert (slug in content["layers"]) == sees, content["layers"]
    assert (content.get(SECTION[slug]) == full[SECTION[slug]]) == sees, content.get(SECTION[slug])
    assert all(v.get("slug") != slug for v in content.get("data_versions", [])) or sees
    text = pdf_text(response.content)
    for zone_code in secret_zones:
        assert (zone_code in text) == sees, f"{role}: zone {zone_code} in the PDF"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("slug", SIDE_LAYERS)
def test_a_verifier_never_sees_a_part_they_may_not_see(client, demo_city, parcel, slug, role):
    layer = _restricted(demo_city, slug)
    _as(client, _user("admin", layer, "sheet-issuer"))
    code = issue(client, parcel)[1]
    sheet = IssuedSheet.objects.get(code=code)
    secret_zones = [z["zone_code"] for z in sheet.content.get("zones") or []] if slug == "planning-zones" else []
    before = IssuedSheet.objects.count()

    _as(client, _user(role, layer))
    sees = role in ("viewer", "data_admin", "admin")
    page = client.get(reverse("sheet-verify", kwargs={"code": code}), **HTML)
    html = page.content.decode()
    assert page.status_code == 200 and "public" not in page.get("Cache-Control", "")
    assert ('data-testid="withheld"' in html) == (not sees)
    for zone_code in secret_zones:
        assert (zone_code in html) == sees, f"{role}: zone {zone_code} on the verification page"
    again = client.get(reverse("sheet-reissue", kwargs={"code": code}), **JSON)
    if sees:
        assert again.status_code == 200 and again["X-Sheet-Code"] == code
    else:
        assert again.status_code == 403 and again.json()["description_vi"] and again.json()["description"]
        assert not any(z in again.content.decode() for z in secret_zones)
    assert IssuedSheet.objects.count() == before, "verifying or re-issuing stores no sheet"


def test_no_sheet_nor_verification_page_carries_owners_or_editors(client, demo_city, parcel):
    """Owners' names and ID numbers are in the parcels layer (personal fields); the parcel was last changed by a
    named editor with a comment. Whoever issues (a superuser sees all of it), none of it reaches the sheet."""
    editor = User.objects.create_user("sheet-editor-qzx", first_name="Qzxfirst", last_name="Qzxlast")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=editor, can_edit=True)
    current = Feature.objects.get(pk=parcel.pk)
    editing.feature_update(layer=demo_city["parcels"], feature_id=parcel.pk, expected_version=current.version,
                           user=editor, properties={**current.properties, "land_use": current.properties["land_use"]},
                           comment="Qzxwhy sửa")
    owner, cccd = str(current.properties.get("chu_su_dung") or ""), str(current.properties.get("so_cccd") or "")
    assert owner and cccd, "the demo parcels carry made-up owners"
    secrets = [owner, cccd, "sheet-editor-qzx", "Qzxfirst", "Qzxlast", "Qzxwhy"]
    viewer = User.objects.create_user("sheet-personal-viewer")
    LayerGrant.objects.create(layer=demo_city["parcels"], user=viewer, can_see_personal=True)
    for user in (None, viewer, _user("admin", demo_city["parcels"]), editor):
        _as(client, user)
        response, code = issue(client, parcel)
        text = pdf_text(response.content)
        stored = str(IssuedSheet.objects.get(code=code).content)
        page = client.get(reverse("sheet-verify", kwargs={"code": code}), **HTML).content.decode()
        again = pdf_text(client.get(reverse("sheet-reissue", kwargs={"code": code})).content)
        for secret in secrets:
            for where, body in (("pdf", text), ("content", stored), ("verify", page), ("reissue", again)):
                assert secret not in body, f"{user}: {secret!r} in the sheet's {where}"
