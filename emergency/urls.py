from emergency import views
from hms.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("ambulances", views.AmbulanceViewSet, basename="ambulance")
router.register("emergencies", views.EmergencyViewSet, basename="emergency")

urlpatterns = [*router.urls]
