"""The platform's core layers, by their fixed slugs (the lookup and the portal rely on them)."""
ADMIN_UNITS = "admin-units"
PLANNING_ZONES = "planning-zones"
PARCELS = "parcels"
ROAD_RESERVES = "road-reserves"

# Property keys whose text is indexed for search (trigram over unaccented lower case): a layer's
# display fields with one of these names are found by the search box.
SEARCHABLE_KEYS = ("name", "address", "zone_code", "road_name", "plan_name")
