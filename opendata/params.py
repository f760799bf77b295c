"""Request parameters of downloads and OGC API: the shared parsers of layers.params, under their old names.

Every function raises a layers.errors DomainError (400) naming the parameter, with vi/en messages,
so bad input never reaches SQL and never becomes a 500.
"""
from layers.params import (CRS84, CRS84_URI, EPSG_URI, GEOGRAPHIC_SRIDS, MAX_PARAM_LENGTH, SUPPORTED_SRIDS,  # noqa: F401
                           Crs, check_bbox, check_in_crs, check_text, crs_uri, parse_bbox, parse_crs,
                           parse_datetime_param, parse_field_list, parse_int, supported_crs_uris)
