from appointments import views
from hms.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("doctors", views.DoctorViewSet, basename="doctor")
router.register("opd-schedules", views.OpdScheduleViewSet, basename="opd-schedule")
router.register("slots", views.SlotViewSet, basename="slot")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("holds", views.HoldViewSet, basename="hold")

urlpatterns = [*router.urls]
