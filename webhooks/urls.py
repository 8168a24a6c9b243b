"""Routes of the webhooks app."""

urlpatterns = []
