from bloodbank import views
from hms.api.routers import ID_PATTERN, OptionalSlashRouter

router = OptionalSlashRouter()
router.register("blood-banks", views.BloodBankViewSet, basename="blood-bank")
router.register(rf"blood-banks/(?P<pk>{ID_PATTERN})/lots", views.StockLotViewSet, basename="blood-bank-lot")
router.register("blood-requests", views.BloodRequestViewSet, basename="blood-request")
router.register("donations", views.DonationViewSet, basename="donation")

urlpatterns = [*router.urls]
