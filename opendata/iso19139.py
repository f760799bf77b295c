"""A record (opendata.records) as ISO 19139 gmd:MD_Metadata, multilingual: Vietnamese first, English as PT_FreeText.

Metadata language vie, character set utf8, one PT_Locale for eng (ISO 19139 §7.3): each free text is a
gco:CharacterString in Vietnamese with an LocalisedCharacterString locale="#locale-eng". Element order
follows the gmd schema, so the document validates structurally and OWSLib's MD_Metadata reads every field.
"""
from lxml import etree

from opendata.records import Record

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
GML = "http://www.opengis.net/gml"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {"gmd": GMD, "gco": GCO, "gml": GML, "xlink": XLINK, "xsi": XSI}
CODELISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
EN_LOCALE = "locale-eng"


def _e(name: str, *children, text: str | None = None, **attrs) -> etree._Element:
    prefix, local = name.split(":")
    node = etree.Element(f"{{{NSMAP[prefix]}}}{local}", nsmap=NSMAP)
    for key, value in attrs.items():
        node.set(key, value)
    if text is not None:
        node.text = text
    node.extend(c for c in children if c is not None)
    return node


def _string(text: str) -> etree._Element:
    return _e("gco:CharacterString", text=text)


def _wrap(name: str, text: str) -> etree._Element:
    return _e(name, _string(text))


def _free(name: str, vi: str, en: str) -> etree._Element:
    """A bilingual text: Vietnamese in CharacterString, English in PT_FreeText (skipped when empty or equal)."""
    node = _e(name, _string(vi or en))
    if en and en != vi:
        node.set(f"{{{XSI}}}type", "gmd:PT_FreeText_PropertyType")
        node.append(_e("gmd:PT_FreeText", _e("gmd:textGroup",
                                              _e("gmd:LocalisedCharacterString", text=en, locale=f"#{EN_LOCALE}"))))
    return node


def _code(list_name: str, value: str) -> etree._Element:
    return _e(f"gmd:{list_name}", text=value, codeList=f"{CODELISTS}#{list_name}", codeListValue=value)


def _language(code: str) -> etree._Element:
    return _e("gmd:LanguageCode", text=code, codeList="http://www.loc.gov/standards/iso639-2/", codeListValue=code)


def _party(record: Record, role: str) -> etree._Element:
    """The responsible organisation (the publisher from settings; never a person's name)."""
    contact = _e("gmd:CI_Contact", _e("gmd:address", _e("gmd:CI_Address", _wrap("gmd:electronicMailAddress",
                                                                               record.email))))
    return _e("gmd:CI_ResponsibleParty", _wrap("gmd:organisationName", record.organisation),
              _e("gmd:contactInfo", contact), _e("gmd:role", _code("CI_RoleCode", role)))


def _date(moment, kind: str) -> etree._Element:
    return _e("gmd:date", _e("gmd:CI_Date", _e("gmd:date", _e("gco:DateTime", text=moment.isoformat(timespec="seconds"))),
                             _e("gmd:dateType", _code("CI_DateTypeCode", kind))))


def _crs(code: str) -> etree._Element:
    return _e("gmd:referenceSystemInfo", _e("gmd:MD_ReferenceSystem", _e(
        "gmd:referenceSystemIdentifier", _e("gmd:RS_Identifier", _wrap("gmd:code", code), _wrap("gmd:codeSpace", "EPSG")))))


def _identification(record: Record) -> etree._Element:
    dates = [_date(record.created, "creation")] + ([_date(record.revised, "revision")] if record.revised else [])
    page = record.links[0].href
    citation = _e("gmd:CI_Citation", _free("gmd:title", *record.title), *dates,
                  _e("gmd:identifier", _e("gmd:MD_Identifier", _wrap("gmd:code", page))))
    keywords = _e("gmd:MD_Keywords", *[_wrap("gmd:keyword", k) for k in record.keywords],
                  _e("gmd:type", _code("MD_KeywordTypeCode", "theme")))
    licence = " — ".join(t for t in (record.licence, record.attribution) if t) or "Không rõ / Unspecified"
    constraints = _e("gmd:MD_LegalConstraints", _wrap("gmd:useLimitation", licence),
                     _e("gmd:useConstraints", _code("MD_RestrictionCode", "license")),
                     _wrap("gmd:otherConstraints", licence))
    box = None
    if record.bbox:
        west, south, east, north = record.bbox
        box = _e("gmd:extent", _e("gmd:EX_Extent", _e("gmd:geographicElement", _e(
            "gmd:EX_GeographicBoundingBox", *[_e(f"gmd:{n}", _e("gco:Decimal", text=repr(float(v)))) for n, v in
                                              (("westBoundLongitude", west), ("eastBoundLongitude", east),
                                               ("southBoundLatitude", south), ("northBoundLatitude", north))]))))
    return _e("gmd:MD_DataIdentification", _e("gmd:citation", citation), _free("gmd:abstract", *record.abstract),
              _e("gmd:pointOfContact", _party(record, "custodian")),
              _e("gmd:resourceMaintenance", _e("gmd:MD_MaintenanceInformation", _e(
                  "gmd:maintenanceAndUpdateFrequency", _code("MD_MaintenanceFrequencyCode", record.frequency)))),
              _e("gmd:descriptiveKeywords", keywords) if record.keywords else None,
              _e("gmd:resourceConstraints", constraints),
              _e("gmd:spatialRepresentationType", _code("MD_SpatialRepresentationTypeCode",
                                                        "vector" if record.kind == "vector" else "grid")),
              _e("gmd:language", _language("vie")), _e("gmd:language", _language("eng")),
              _e("gmd:characterSet", _code("MD_CharacterSetCode", "utf8")),
              _e("gmd:topicCategory", _e("gmd:MD_TopicCategoryCode", text=record.topic)), box)


def _distribution(record: Record) -> etree._Element:
    formats = record.formats
    online = [_e("gmd:onLine", _e("gmd:CI_OnlineResource", _e("gmd:linkage", _e("gmd:URL", text=link.href)),
                                  _wrap("gmd:protocol", link.protocol),
                                  _wrap("gmd:name", link.name) if link.name else None,
                                  _wrap("gmd:description", link.title))) for link in record.links]
    return _e("gmd:MD_Distribution",
              *[_e("gmd:distributionFormat", _e("gmd:MD_Format", _wrap("gmd:name", f), _e(
                  "gmd:version", _e("gco:CharacterString", text="-")))) for f in formats],
              _e("gmd:distributor", _e("gmd:MD_Distributor", _e("gmd:distributorContact", _party(record, "distributor")))),
              _e("gmd:transferOptions", _e("gmd:MD_DigitalTransferOptions", *online)))


def iso_metadata(record: Record) -> etree._Element:
    """The gmd:MD_Metadata element of a record."""
    stamp = record.revised or record.created
    root = _e("gmd:MD_Metadata", _wrap("gmd:fileIdentifier", record.identifier),
              _e("gmd:language", _language("vie")),
              _e("gmd:characterSet", _code("MD_CharacterSetCode", "utf8")),
              _e("gmd:hierarchyLevel", _code("MD_ScopeCode", "dataset")),
              _e("gmd:contact", _party(record, "pointOfContact")),
              _e("gmd:dateStamp", _e("gco:DateTime", text=stamp.isoformat(timespec="seconds"))),
              _wrap("gmd:metadataStandardName", "ISO 19115:2003/19139 — QCVN 42:2020/BTNMT"),
              _wrap("gmd:metadataStandardVersion", "1.0"),
              _e("gmd:locale", _e("gmd:PT_Locale", _e("gmd:languageCode", _language("eng")),
                                  _e("gmd:characterEncoding", _code("MD_CharacterSetCode", "utf8")), id=EN_LOCALE)),
              _crs(record.source_crs), _crs("EPSG:4326") if record.source_crs != "EPSG:4326" else None,
              _e("gmd:identificationInfo", _identification(record)),
              _e("gmd:distributionInfo", _distribution(record)),
              _e("gmd:dataQualityInfo", _e("gmd:DQ_DataQuality", _e("gmd:scope", _e("gmd:DQ_Scope", _e(
                  "gmd:level", _code("MD_ScopeCode", "dataset")))), _e("gmd:lineage", _e(
                      "gmd:LI_Lineage", _free("gmd:statement", *record.lineage))))))
    root.set(f"{{{XSI}}}schemaLocation", f"{GMD} http://schemas.opengis.net/iso/19139/20060504/gmd/gmd.xsd")
    return root


def iso_xml(record: Record) -> str:
    """The ISO 19139 document as text (for pycsw's `xml` column and downloads)."""
    return etree.tostring(iso_metadata(record), encoding="unicode")
