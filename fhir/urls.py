"""Routes of the fhir app, mounted at /fhir/R4/ (each with or without a trailing slash)."""

from django.urls import re_path

from . import views

# FHIR ids: [A-Za-z0-9-.]{1,64}; anything else under the base is answered by UnknownView (404).
urlpatterns = [
    re_path(r"^metadata/?$", views.MetadataView.as_view(), name="fhir-metadata"),
    re_path(r"^(?P<resource_type>[A-Za-z]+)/?$", views.TypeView.as_view(), name="fhir-type"),
    re_path(
        r"^(?P<resource_type>[A-Za-z]+)/(?P<resource_id>[A-Za-z0-9\-.]{1,64})/?$",
        views.InstanceView.as_view(),
        name="fhir-instance",
    ),
    re_path(r"^.*$", views.UnknownView.as_view(), name="fhir-unknown"),
]
