"""The /ows door: WMS 1.3.0 and WFS 2.0 for desktop GIS and legacy portals, answered by MapServer.

Parse (opendata.ows.params), regenerate the mapfile if the catalog changed (opendata.ows.mapfile), run
MapServer (opendata.ows.runner). Public data only, for every caller: a user granted a restricted layer
reads it through the OGC API or the editor, signed in; here it does not exist. Fair use and CORS as the
other open data doors (opendata.fairuse.public_api).
"""
from django.http import HttpRequest, HttpResponse

from opendata.fairuse import admit, public_api
from opendata.ows.errors import OwsError, report_for
from opendata.ows.mapfile import current_mapfile
from opendata.ows.params import OwsRequest, parse, read_kvp
from opendata.ows.runner import run


def _page_cost(parsed: OwsRequest) -> int:
    """Fair-use units a GetFeature costs beyond its first: one per further 100 features asked (as the OGC API)."""
    if parsed.operation != "GETFEATURE" or parsed.query.get("RESULTTYPE") == "hits":
        return 0
    return max(0, (int(parsed.query.get("COUNT", "1")) - 1) // 100)


@public_api
def ows(request: HttpRequest) -> HttpResponse:
    try:
        kvp = read_kvp(request.GET)
        mapfile, layers = current_mapfile()
        parsed = parse(kvp, layers)
        if _page_cost(parsed) > 0:  # a large page costs as much as the pages of 100 it holds (RateLimited: 429)
            admit(request, cost=_page_cost(parsed))
        return run(parsed, mapfile, request)
    except OwsError as error:
        return report_for(request, error)
