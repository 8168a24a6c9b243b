"""Routes of the fhir app."""

urlpatterns = []
