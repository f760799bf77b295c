"""Axis order and CRS names: WFS 2.0 GML in urn:ogc:def:crs:EPSG::4326 is lat/lon and comes back x = east (GDAL's
GML driver); OGC API Part 2 answers in a north-first CRS are swapped here; only known CRS names are accepted."""
import pytest
import shapely

from opendata.harvest_read import HarvestFailed, crs_from_name, east_first, northing_first
from opendata.harvest_wfs import _gml_rows

GML = b"""<?xml version="1.0" encoding="UTF-8"?>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2"
 xmlns:ms="http://example.org/ms" numberMatched="1" numberReturned="1">
 <wfs:member><ms:khu gml:id="khu.1"><ms:ten>Khu 1</ms:ten><ms:geom>
 <gml:Polygon gml:id="p1" srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior><gml:LinearRing>
 <gml:posList srsDimension="2">10.78 106.70 10.78 106.71 10.79 106.71 10.79 106.70 10.78 106.70</gml:posList>
 </gml:LinearRing></gml:exterior></gml:Polygon></ms:geom></ms:khu></wfs:member></wfs:FeatureCollection>"""


def test_wfs_gml_in_epsg_4326_lat_lon_is_read_x_east():
    [(props, geometry)] = _gml_rows("http://x/wfs", GML, "gml_id")
    assert props == {"gml_id": "khu.1", "ten": "Khu 1"}
    assert geometry.bounds == pytest.approx((106.70, 10.78, 106.71, 10.79))


def test_a_north_first_crs_is_swapped_and_crs84_or_vn2000_are_not():
    latlon = shapely.Point(10.78, 106.70)
    assert northing_first(crs_from_name("http://www.opengis.net/def/crs/EPSG/0/4326"))
    assert east_first(latlon, True).coords[0] == (106.70, 10.78)
    assert not northing_first(crs_from_name("http://www.opengis.net/def/crs/OGC/1.3/CRS84"))
    assert not northing_first(crs_from_name("urn:ogc:def:crs:EPSG::9210"))


@pytest.mark.parametrize("name", ["EPSG:9210", "urn:ogc:def:crs:EPSG::9210", "http://www.opengis.net/def/crs/EPSG/0/9210",
                                  "http://www.opengis.net/gml/srs/epsg.xml#9210"])
def test_the_names_servers_give_vn2000(name):
    assert crs_from_name(name).to_epsg() == 9210


@pytest.mark.parametrize("name", ["", "EPSG:1", "urn:ogc:def:crs:EPSG::99999999", "+proj=longlat", "file:///etc/proj",
                                  "PROJCS[\"x\"]", "EPSG:9210 EPSG:4326"])
def test_unknown_or_free_form_crs_names_are_refused(name):
    with pytest.raises(HarvestFailed) as refused:
        crs_from_name(name)
    assert "unknown" in refused.value.message_en and refused.value.message_vi
