"""The platform's core layers, by their fixed slugs (the lookup and the portal rely on them)."""
ADMIN_UNITS = "admin-units"
PLANNING_ZONES = "planning-zones"
PARCELS = "parcels"
ROAD_RESERVES = "road-reserves"

# Property keys whose text is indexed for search (trigram over unaccented lower case): a layer's
# display fields with one of these names are found by the search box.
SEARCHABLE_KEYS = ("name", "address", "zone_code", "road_name", "plan_name")

# layer_id is bigint and its GiST index (btree_gist's int8 operator class) has no cross-type
# operators: SQL compares it with %s::bigint, or the index would serve the geometry part only.
