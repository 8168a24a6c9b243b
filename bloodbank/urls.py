from bloodbank import views
from hms.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("blood-banks", views.BloodBankViewSet, basename="blood-bank")
router.register(r"blood-banks/(?P<pk>[^/.]+)/lots", views.StockLotViewSet, basename="blood-bank-lot")
router.register("blood-requests", views.BloodRequestViewSet, basename="blood-request")
router.register("donations", views.DonationViewSet, basename="donation")

urlpatterns = [*router.urls]
