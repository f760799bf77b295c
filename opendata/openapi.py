"""The OpenAPI 3.0 description of /ogc/ (service-desc), generated from the same lists the views use."""
from opendata.ogc import CONFORMANCE, default_limit, max_limit
from opendata.params import supported_crs_uris


def _param(name: str, where: str, description: str, schema: dict, *, required: bool = False, **extra) -> dict:
    return {"name": name, "in": where, "description": description, "required": required, "schema": schema, **extra}


def openapi_document(root: str, collection_ids: list[str]) -> dict:
    """OpenAPI 3.0.3 for the landing page, conformance, collections, queryables, items and item."""
    crs_enum = supported_crs_uris()
    collection_id = _param("collectionId", "path", "Collection (layer) id", {"type": "string", "enum": collection_ids},
                           required=True)
    f = _param("f", "query", "Output format", {"type": "string", "enum": ["json", "html"]})
    geojson = {"application/geo+json": {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}
    json_html = {"application/json": {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}}
    error = {"description": "Bad request: {code, description, description_vi, parameter}",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}}
    not_found = {"description": "No such collection or feature", "content": error["content"]}
    items_params = [
        collection_id, f,
        _param("limit", "query", f"Features per page; the server's maximum is {max_limit()}, a larger limit is not an "
               "error but is clamped to it (the response then says limitApplied)",
               {"type": "integer", "minimum": 1, "maximum": max_limit(), "default": default_limit()}),
        _param("offset", "query", "Features to skip", {"type": "integer", "minimum": 0, "default": 0}),
        _param("bbox", "query", "minx,miny,maxx,maxy in bbox-crs (west > east crosses the antimeridian)",
               {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, style="form", explode=False),
        _param("bbox-crs", "query", "CRS of bbox", {"type": "string", "format": "uri", "enum": crs_enum}),
        _param("crs", "query", "CRS of the response geometries", {"type": "string", "format": "uri", "enum": crs_enum}),
        _param("filter", "query", "CQL2 filter (text, or JSON with filter-lang=cql2-json), e.g. land_use = 'ODT' AND legal_area > 100", {"type": "string"}),
        _param("filter-lang", "query", "Filter language", {"type": "string", "enum": ["cql2-text", "cql2-json"]}),
        _param("filter-crs", "query", "CRS of geometries in filter", {"type": "string", "format": "uri", "enum": crs_enum}),
        _param("sortby", "query", "Fields to sort by, +name or -name", {"type": "string"}),
        _param("properties", "query", "Fields to return", {"type": "string"}),
        _param("datetime", "query", "Only open intervals (layers have no time dimension yet)", {"type": "string"}),
        _param("as_of", "query", "The collection as it was at this ISO 8601 date-time (a date: its end), from its "
               "change history", {"type": "string"}),
    ]
    return {
        "openapi": "3.0.3",
        "info": {"title": "gisportal OGC API – Features", "version": "1.0.0",
                 "description": "Open data of the city. Conformance: " + ", ".join(CONFORMANCE)},
        "servers": [{"url": root.rstrip("/")}],
        "paths": {
            "/": {"get": {"summary": "Landing page", "operationId": "getLandingPage", "parameters": [f],
                          "responses": {"200": {"description": "Landing page", "content": json_html}}}},
            "/conformance": {"get": {"summary": "Conformance classes", "operationId": "getConformance",
                                     "parameters": [f],
                                     "responses": {"200": {"description": "Conformance", "content": json_html}}}},
            "/api": {"get": {"summary": "This document", "operationId": "getOpenAPI",
                             "responses": {"200": {"description": "OpenAPI 3.0"}}}},
            "/collections": {"get": {"summary": "Collections", "operationId": "getCollections", "parameters": [f],
                                     "responses": {"200": {"description": "Collections", "content": json_html}}}},
            "/collections/{collectionId}": {"get": {
                "summary": "One collection", "operationId": "describeCollection", "parameters": [collection_id, f],
                "responses": {"200": {"description": "Collection", "content": json_html}, "404": not_found}}},
            "/collections/{collectionId}/queryables": {"get": {
                "summary": "Queryables (JSON schema)", "operationId": "getQueryables", "parameters": [collection_id, f],
                "responses": {"200": {"description": "Queryables"}, "404": not_found}}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "Features; schema fields also filter as name=value", "operationId": "getFeatures",
                "parameters": items_params,
                "responses": {"200": {"description": "Features", "content": geojson,
                                      "headers": {"Content-Crs": {"schema": {"type": "string"}}}},
                              "400": error, "404": not_found, "429": {"description": "Rate limited (Retry-After)"}}}},
            "/collections/{collectionId}/items/{featureId}": {"get": {
                "summary": "One feature", "operationId": "getFeature",
                "parameters": [collection_id, _param("featureId", "path", "Feature id", {"type": "integer"}, required=True),
                               _param("crs", "query", "CRS of the response", {"type": "string", "enum": crs_enum}), f],
                "responses": {"200": {"description": "Feature", "content": geojson}, "404": not_found}}},
        },
        "components": {
            "schemas": {"exception": {"type": "object", "required": ["code"], "properties": {
                "code": {"type": "string"}, "description": {"type": "string"},
                "description_vi": {"type": "string"}, "parameter": {"type": "string"}}}},
            "securitySchemes": {"apiToken": {"type": "http", "scheme": "bearer",
                                             "description": "Optional: raises the rate limit"}},
        },
    }
