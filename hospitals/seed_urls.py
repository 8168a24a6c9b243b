"""Seed-compatible aliases of this app's canonical views (API.md section 11)."""

urlpatterns = []
