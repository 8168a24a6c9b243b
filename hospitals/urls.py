from hms.api.routers import OptionalSlashRouter
from hospitals import views

router = OptionalSlashRouter()
router.register("hospitals", views.HospitalViewSet, basename="hospital")
router.register("floors", views.FloorViewSet, basename="floor")
router.register("wards", views.WardViewSet, basename="ward")
router.register("beds", views.BedViewSet, basename="bed")
router.register("admissions", views.AdmissionViewSet, basename="admission")

urlpatterns = [*router.urls]
