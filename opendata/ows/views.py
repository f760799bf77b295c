"""The /ows door: WMS 1.3.0 and WFS 2.0 for desktop GIS and legacy portals, answered by MapServer.

Parse (opendata.ows.params), regenerate the mapfile if the catalog changed (opendata.ows.mapfile), run
MapServer (opendata.ows.runner). Public data only, for every caller: a user granted a restricted layer
reads it through the OGC API or the editor, signed in; here it does not exist. Fair use and CORS as the
other open data doors (opendata.fairuse.public_api).
"""
from django.http import HttpRequest, HttpResponse

from opendata.fairuse import public_api
from opendata.ows.errors import OwsError, report_for
from opendata.ows.mapfile import current_mapfile
from opendata.ows.params import parse, read_kvp
from opendata.ows.runner import run


@public_api
def ows(request: HttpRequest) -> HttpResponse:
    try:
        kvp = read_kvp(request.GET)
        mapfile, layers = current_mapfile()
        return run(parse(kvp, layers), mapfile, request)
    except OwsError as error:
        return report_for(request, error)
