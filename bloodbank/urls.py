from rest_framework.routers import SimpleRouter

from bloodbank import views

router = SimpleRouter(trailing_slash="/?")
router.register("blood-banks", views.BloodBankViewSet, basename="blood-bank")
router.register("blood-requests", views.BloodRequestViewSet, basename="blood-request")
router.register("donations", views.DonationViewSet, basename="donation")

urlpatterns = [*router.urls]
