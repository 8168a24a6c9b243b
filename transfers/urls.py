"""Routes of the transfers app."""

urlpatterns = []
