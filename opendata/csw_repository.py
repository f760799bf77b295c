"""pycsw's repository, read from the catalog: the `repository.source` plugin that embedded pycsw (opendata.csw) loads.

No second store: each query runs over RECORDS_SQL, a fixed SELECT over layers_layer that names pycsw's columns,
limited to the layers the permission rule shows an anonymous caller (opendata.records.public_layers), so a
restricted layer is absent from every answer: GetRecords, counts, GetRecordById, GetDomain, full text.
pycsw turns a constraint (OGC Filter, or CQL it converts to one) into a WHERE clause over those columns: names
from its queryables (our column list), literals as %s parameters. The one value it writes into the text, a
spatial filter's geometry, it formats from the request's coordinate tokens: opendata.csw_guard lets only finite
numbers through, and check_where() below keeps the clause inside its parentheses. Output fields come from the
one record builder (opendata.records).
"""
import logging
from types import SimpleNamespace

from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from psycopg2 import sql

from layers import db
from layers.models import Layer
from opendata import records
from opendata.dcat import publisher
from opendata.iso19139 import GMD, iso_xml

log = logging.getLogger(__name__)

_ISO = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
_TEXT = ("concat_ws(' ', l.slug, l.title_vi, l.title_en, l.description_vi, l.description_en, "
         "array_to_string(l.keywords, ' '), l.category, l.license, l.attribution)")
# pycsw column -> SQL over layers_layer l. What a filter can compare; output values come from records.record().
COLUMNS = {
    "identifier": "l.slug",
    "typename": "'gmd:MD_Metadata'::text",
    "schema": f"'{GMD}'::text",
    "mdsource": "'local'::text",
    "insert_date": _ISO.format("l.created_at"),
    "anytext": f"{_TEXT} || ' ' || unaccent({_TEXT})",  # diacritic-free words match too ('thao dien')
    "language": "'vie'::text",
    "resourcelanguage": "'vie'::text",
    "type": "'dataset'::text",
    "title": "l.title_vi || ' / ' || l.title_en",
    "abstract": "l.description_vi || ' / ' || l.description_en",
    "keywords": "array_to_string(l.keywords, ',')",
    "topicategory": "l.category",
    "date": _ISO.format("coalesce(l.last_changed, l.created_at)"),
    "date_modified": _ISO.format("coalesce(l.last_changed, l.created_at)"),
    "date_revision": _ISO.format("l.last_changed"),
    "date_creation": _ISO.format("l.created_at"),
    "crs": "coalesce(nullif(l.source_crs, ''), 'EPSG:4326')",
    "accessconstraints": "l.license",
    "conditionapplyingtoaccessanduse": "l.license",
    "otherconstraints": "l.attribution",
    "wkt_geometry": "ST_AsText(l.extent)",
    "wkb_geometry": "l.extent",
}
ORGANISATION_COLUMNS = ("organization", "publisher", "creator")  # the responsible organisation: settings, not rows
SORTABLE = (frozenset(COLUMNS) | frozenset(ORGANISATION_COLUMNS)) - {"wkb_geometry", "anytext"}


def _columns(names) -> sql.Composed:
    """The SELECT list: our expressions, the publisher from settings (a quoted literal), NULL for any other
    column pycsw's model names."""
    organisation = sql.Literal(publisher())
    parts = [sql.SQL("l.id AS layer_id")]
    for name in sorted(set(names) | set(COLUMNS) | set(ORGANISATION_COLUMNS)):
        value = organisation if name in ORGANISATION_COLUMNS else sql.SQL(COLUMNS.get(name, "NULL::text"))
        parts.append(sql.SQL("{} AS {}").format(value, sql.Identifier(name)))
    return sql.SQL(", ").join(parts)


def check_where(where: str) -> None:
    """Defence in depth behind opendata.csw_guard.check_geometries: pycsw's WHERE text stays one expression inside
    our parentheses (never closes them, no statement separator, no comment), quoted literals aside."""
    depth, quoted = 0, False
    for i, char in enumerate(where):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == ";" or where.startswith(("--", "/*"), i):
            raise ValueError("Invalid query")
        if depth < 0:
            raise ValueError("Invalid query")
    if depth or quoted:
        raise ValueError("Invalid query")


class CatalogRepository:
    """pycsw's repository interface (query, query_ids, query_domain, query_insert, query_source) over the catalog.
    Transactions and harvesting are off (config manager.transactions=false); their methods refuse."""

    def __init__(self, context, repo_filter=None):
        self.context = context
        self.filter = None  # a pycsw config filter would be SQL text from a file: not taken
        self.fts = False
        self.dbtype = "postgresql+postgis+native"
        self.queryables = {}
        for typename in context.model["typenames"].values():
            for name, queryables in typename["queryables"].items():
                self.queryables.setdefault(name, {}).update(queryables)
        self.queryables["_all"] = {}
        for group in list(self.queryables.values()):
            self.queryables["_all"].update(group)
        self.queryables["_all"].update(context.md_core_model["mappings"])
        self._names = set(context.md_core_model["mappings"].values())

    # ---- reads -------------------------------------------------------------------------------------------

    def _select(self, where: str | None = None, values=()) -> tuple[sql.Composed, list]:
        """Records of public layers (optionally with pycsw's WHERE over the record columns) and the parameters."""
        visible, visible_params = records.public_layers().order_by().values("id").query.sql_with_params()
        query = sql.SQL("SELECT * FROM (SELECT {} FROM layers_layer l) r WHERE r.layer_id IN ({})").format(
            _columns(self._names), sql.SQL(visible))
        params = list(visible_params)
        if where:
            check_where(where)
            query = sql.SQL("{} AND ({})").format(query, sql.SQL(where))
            params += list(values)
        return query, params

    def _run(self, query, params) -> list[tuple]:
        """Runs a read in a savepoint: a constraint PostgreSQL refuses is the caller's error, not a broken transaction."""
        try:
            with transaction.atomic(using=db.alias(read=True)), db.cursor(read=True) as cursor:
                cursor.execute(query, params)
                return cursor.fetchall()
        except (OperationalError, InterfaceError):
            raise  # the database is away: the fault middleware's 503, not the caller's error
        except DatabaseError as error:
            log.info("CSW constraint refused by PostgreSQL: %s", str(error).splitlines()[0][:200])
            raise ValueError("Invalid query") from None

    def query(self, constraint, sortby=None, typenames=None, maxrecords=10, startposition=0):
        """(matched as text, page of records) for GetRecords."""
        base, params = self._select(constraint.get("where"), constraint.get("values", ()))
        count = self._run(sql.SQL("SELECT count(*) FROM ({}) c").format(base), params)[0][0]
        order = sql.SQL("r.identifier")
        if sortby and not sortby.get("spatial"):
            name = sortby["propertyname"]
            if name not in SORTABLE:
                raise ValueError("Invalid sort property")
            direction = sql.SQL("DESC") if sortby.get("order") == "DESC" else sql.SQL("ASC")
            order = sql.SQL("r.{} {} NULLS LAST, r.identifier").format(sql.Identifier(name), direction)
        elif sortby:  # spatial: by the extent's area
            direction = sql.SQL("DESC") if sortby.get("order") == "DESC" else sql.SQL("ASC")
            order = sql.SQL("ST_Area(r.wkb_geometry) {} NULLS LAST, r.identifier").format(direction)
        page = sql.SQL("SELECT r.layer_id FROM ({}) r ORDER BY {} LIMIT %s OFFSET %s").format(base, order)
        ids = [row[0] for row in self._run(page, params + [int(maxrecords), max(0, int(startposition))])]
        return [str(count), self._records(ids)]

    def query_ids(self, ids):
        """Records by identifier (layer slug); a restricted or unknown one is simply not there."""
        wanted = [i for i in ids if isinstance(i, str) and len(i) <= 64][:100]
        base, params = self._select("r.identifier = ANY(%s)", [wanted])
        return self._records([row[0] for row in self._run(sql.SQL("SELECT r.layer_id FROM ({}) r").format(base), params)])

    def query_domain(self, domain, typenames, domainquerytype="list", count=False):
        """The values of one column over public records (GetDomain)."""
        if domain not in SORTABLE:
            raise ValueError("Invalid domain")
        base, params = self._select()
        column = sql.Identifier(domain)
        if domainquerytype == "range":
            query = sql.SQL("SELECT min(r.{0}), max(r.{0}) FROM ({1}) r").format(column, base)
            return [tuple(self._run(query, params)[0])]
        query = sql.SQL("SELECT r.{0}, count(*) FROM ({1}) r WHERE r.{0} IS NOT NULL GROUP BY 1 ORDER BY 1").format(
            column, base)
        rows = self._run(query, params)
        return [(value, n) for value, n in rows] if count else [(value,) for value, _ in rows]

    def query_insert(self, direction="max"):
        """The newest (or oldest) change of a public record, for GetCapabilities and OAI-PMH."""
        base, params = self._select()
        function = sql.SQL("min") if direction == "min" else sql.SQL("max")
        value = self._run(sql.SQL("SELECT {}(r.date_modified) FROM ({}) r").format(function, base), params)[0][0]
        return value or "1970-01-01T00:00:00Z"

    def query_source(self, source):
        return []

    # ---- writes: off ---------------------------------------------------------------------------------------

    def insert(self, *args, **kwargs):
        raise RuntimeError("Transactions are not supported")

    update = delete = insert

    # ---- records -------------------------------------------------------------------------------------------

    def _records(self, ids: list[int]) -> list[SimpleNamespace]:
        """pycsw row objects in the order of `ids`, built by the record builder."""
        root = self.context.url.rsplit("csw", 1)[0]
        layers = records.with_runs(Layer.objects.using(db.alias(read=True)).filter(pk__in=ids)).in_bulk()
        return [as_row(records.record(layers[i], root)) for i in ids if i in layers]


def _link_text(text: str) -> str:
    return text.replace(",", " ").replace("^", " ")  # pycsw splits its links column on ',' and '^'


def as_row(record: records.Record) -> SimpleNamespace:
    """A record as the object pycsw reads columns from (getattr(row, column))."""
    iso = lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None  # noqa: E731
    bbox = record.bbox
    wkt = (f"POLYGON(({bbox[0]} {bbox[1]},{bbox[0]} {bbox[3]},{bbox[2]} {bbox[3]},{bbox[2]} {bbox[1]},"
           f"{bbox[0]} {bbox[1]}))") if bbox else None
    links = "^".join(",".join((_link_text(link.name or link.title), _link_text(link.title), link.protocol, link.href))
                     for link in record.links)
    formats = sorted({link.type for link in record.links if link.rel == "enclosure"})
    return SimpleNamespace(
        identifier=record.identifier, typename="gmd:MD_Metadata", schema=GMD, mdsource="local",
        insert_date=iso(record.created), xml=iso_xml(record), anytext="", language="vie", resourcelanguage="vie",
        type="dataset", title=record.both_titles, title_alternate=record.title[1], abstract=record.both_abstracts,
        keywords=",".join(record.keywords) or None, keywordstype="theme", topicategory=record.topic,
        format=",".join(formats) or None, source=None, date=iso(record.revised or record.created),
        date_modified=iso(record.revised or record.created), date_revision=iso(record.revised),
        date_creation=iso(record.created), date_publication=None, crs=f"urn:ogc:def:crs:EPSG::{record.source_crs[5:]}",
        organization=record.organisation, publisher=record.organisation, creator=record.organisation,
        contributor=None, accessconstraints=record.licence or None, otherconstraints=record.attribution or None,
        conditionapplyingtoaccessanduse=record.licence or None, lineage=records.both(*record.lineage),
        responsiblepartyrole="custodian", wkt_geometry=wkt, links=links, relation=None, parentidentifier=None,
        securityconstraints=None, classification=None, denominator=None, distancevalue=None, distanceuom=None,
        geodescode=None, time_begin=None, time_end=None, servicetype=None, servicetypeversion=None, operation=None,
        couplingtype=None, operateson=None, operatesonidentifier=None, operatesoname=None, degree=None,
        specificationtitle=None, specificationdate=None, specificationdatetype=None, platform=None, instrument=None,
        sensortype=None, cloudcover=None, bands=None,
    )
