from django.urls import re_path

from appointments import queue_views, slot_views, views, waitlist_views
from hms.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("doctors", views.DoctorViewSet, basename="doctor")
router.register("opd-schedules", views.OpdScheduleViewSet, basename="opd-schedule")
router.register("slots", slot_views.SlotViewSet, basename="slot")
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("visits", views.VisitViewSet, basename="visit")
router.register("holds", slot_views.HoldViewSet, basename="hold")
router.register("waitlist", waitlist_views.WaitlistViewSet, basename="waitlist")
router.register(
    r"doctors/(?P<doctor_id>[0-9]{1,18})/leaves", waitlist_views.DoctorLeaveViewSet, basename="doctor-leave"
)
router.register("queues", queue_views.QueueViewSet, basename="queue")

urlpatterns = [
    *router.urls,
    re_path(
        r"^hospitals/(?P<id>[0-9]{1,18})/queue-board/?$",
        queue_views.QueueBoardView.as_view(),
        name="hospital-queue-board",
    ),
]
