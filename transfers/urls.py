"""Routes of the transfers app."""

from hms.api.routers import OptionalSlashRouter
from transfers import views

router = OptionalSlashRouter()
router.register("referrals", views.ReferralViewSet, basename="referral")

urlpatterns = [*router.urls]
