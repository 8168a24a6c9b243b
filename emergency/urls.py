from rest_framework.routers import SimpleRouter

from emergency import views

router = SimpleRouter(trailing_slash="/?")
router.register("ambulances", views.AmbulanceViewSet, basename="ambulance")
router.register("emergencies", views.EmergencyViewSet, basename="emergency")

urlpatterns = [*router.urls]
