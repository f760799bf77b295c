from django.urls import path

from tiles import views

urlpatterns = [
    path("<slug:layer>/<int:z>/<int:x>/<int:y>.pbf", views.vector_tile, name="vector-tile"),
]
