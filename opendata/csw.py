"""Embedded pycsw: the catalog as CSW 2.0.2 and 3.0 at /csw, read from the catalog by opendata.csw_repository.

pycsw 2.6 runs in the request (no second process, no second database): its configuration is built here,
its repository is our plugin (`repository.source`), transactions and harvesting are off. Requests are
checked first by opendata.csw_guard (XML without DTDs, bounded numbers, allowed schemas and formats), and
every exception report pycsw writes is answered with a 4xx and the text in Vietnamese and English.
"""
import configparser
import io
import logging

from django.db import InterfaceError, OperationalError
from pycsw import server
from pycsw.core import util as pycsw_util

from opendata.csw_guard import CswError, exception_report, report_from_pycsw
from opendata.dcat import contact_email, publisher

log = logging.getLogger(__name__)
# pycsw logs every request's whole configuration (INFO) and each client's bad constraint as an ERROR with a
# traceback: the door's own log (below) keeps what is ours to fix.
logging.getLogger("pycsw").setLevel(logging.CRITICAL)

REPOSITORY = "opendata.csw_repository.CatalogRepository"


def _envelope_wkt(bbox: str) -> str:
    """pycsw.core.util.bbox2wktpolygon at full precision: pycsw 2.6 writes envelopes with '%.2f' (0.01°, about
    1 km here), so a BBOX filter beside a small layer matched it. Coordinates were checked finite by the guard."""
    if bbox.startswith("ENVELOPE"):
        bbox = pycsw_util.wktenvelope2bbox(bbox)
    minx, miny, maxx, maxy = (repr(float(c)) for c in bbox.split(","))
    return f"POLYGON(({minx} {miny}, {minx} {maxy}, {maxx} {maxy}, {maxx} {miny}, {minx} {miny}))"


pycsw_util.bbox2wktpolygon = _envelope_wkt  # pycsw 2.6.2 is pinned (requirements.lock): its gml3 calls util's


def config(url: str) -> dict:
    """pycsw's configuration for this site (`url`: the absolute /csw URL)."""
    return {
        "server": {"url": url, "mimetype": "application/xml; charset=UTF-8", "encoding": "UTF-8",
                   "language": "en", "profiles": "apiso", "pretty_print": "false", "domainquerytype": "list",
                   "domaincounts": "false"},
        "manager": {"transactions": "false", "allowed_ips": ""},
        "metadata:main": {
            "identification_title": "Danh mục dữ liệu không gian đô thị / City spatial data catalogue",
            "identification_abstract": ("Bản ghi siêu dữ liệu (ISO 19139, QCVN 42:2020/BTNMT) của các lớp dữ liệu công khai. / "
                                        "Metadata records (ISO 19139, QCVN 42:2020/BTNMT) of the public layers."),
            "identification_keywords": "dữ liệu mở,open data,GIS,QCVN 42:2020/BTNMT",
            "identification_keywords_type": "theme", "identification_fees": "Miễn phí / None",
            "identification_accessconstraints": "Công khai / Public",
            "provider_name": publisher(), "provider_url": url.rsplit("csw", 1)[0],
            "contact_name": publisher(), "contact_position": "Đầu mối dữ liệu mở / Open data contact",
            "contact_email": contact_email(), "contact_address": "", "contact_city": "Thành phố Hồ Chí Minh",
            "contact_stateorprovince": "", "contact_postalcode": "", "contact_country": "Việt Nam",
            "contact_phone": "", "contact_fax": "", "contact_url": url.rsplit("csw", 1)[0],
            "contact_hours": "", "contact_instructions": "", "contact_role": "pointOfContact",
        },
        "metadata:inspire": {"enabled": "false"},
        "repository": {"source": REPOSITORY, "table": "layers_layer", "database": "unused"},
    }


def _parser_of(settings: dict) -> configparser.ConfigParser:
    """The configuration as pycsw takes it ready-made, without interpolation: given a dict, pycsw would expand
    '$NAME' from the environment and '%' in values (a publisher's name is text, not a template)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(settings)
    return parser


def answer(*, url: str, meta: dict, query_string: str, body: bytes | None, version: str) -> tuple[int, bytes, str]:
    """(status, body, content type) of one CSW request already checked by the guard."""
    environ = {key: value for key, value in meta.items() if isinstance(value, str)}
    environ.update({"QUERY_STRING": query_string, "REQUEST_METHOD": "POST" if body is not None else "GET",
                    "wsgi.input": io.BytesIO(body or b""), "CONTENT_LENGTH": str(len(body or b"")),
                    "wsgi.url_scheme": "https" if url.startswith("https") else "http"})
    csw = server.Csw(_parser_of(config(url)), environ, version="3.0.0")
    try:
        status, content = csw.dispatch_wsgi()
    except (OperationalError, InterfaceError):
        raise  # the database is away: the fault middleware answers 503
    except Exception:  # pycsw reads request values with int() and indexing in places the guard may not foresee
        log.exception("pycsw could not answer a CSW request")
        return exception_report(CswError("NoApplicableCode", "Không xử lý được yêu cầu CSW này.",
                                         "This CSW request could not be processed."), version=version)
    if getattr(csw, "exception", False):
        return report_from_pycsw(content, version=csw.request_version, status=int(str(status)[:3]))
    return 200, content, str(csw.contenttype)
