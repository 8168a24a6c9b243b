from django.urls import re_path

from feed import views

urlpatterns = [
    re_path(r"^events/?$", views.EventListView.as_view(), name="events"),
    re_path(r"^events/stream/?$", views.stream, name="events-stream"),
    re_path(r"^events/tickets/?$", views.TicketView.as_view(), name="events-tickets"),
]
