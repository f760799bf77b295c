"""Open data: catalog pages, downloads, OGC API – Features (the open-data issue fills these in)."""
urlpatterns: list = []
