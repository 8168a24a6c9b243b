"""Routes of the display app."""

urlpatterns = []
