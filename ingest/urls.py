"""Upload pages for data administrators (the ingest issue fills these in)."""
urlpatterns: list = []
