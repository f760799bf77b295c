"""The one hardened XML parser for documents from outside (CSW requests, harvested WFS answers).

No DTD, no entities, no network, no huge trees; comments and processing instructions dropped so callers
only ever meet elements. Each door turns `UnsafeXml` into its own error format.
"""
from lxml import etree


class UnsafeXml(ValueError):
    """The document is not well-formed, or declares a DTD or entities."""

    def __init__(self, message_vi: str, message_en: str):
        super().__init__(message_en)
        self.message_vi, self.message_en = message_vi, message_en


def _parser() -> etree.XMLParser:
    """A fresh parser per document (a parser object is not shared between threads)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def parse(content: bytes) -> etree._Element:
    """The document's root element, or UnsafeXml."""
    try:
        tree = etree.fromstring(content, _parser()).getroottree()
    except etree.XMLSyntaxError as error:
        raise UnsafeXml("Tài liệu XML không đúng cú pháp.", f"The XML document is not well-formed: {str(error)[:160]}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml("Tài liệu XML không được chứa DTD (DOCTYPE) hay thực thể (entity).",
                        "The XML document may not contain a DTD (DOCTYPE) or entities.")
    return tree.getroot()
