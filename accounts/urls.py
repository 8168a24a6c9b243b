from django.urls import re_path

from accounts import views
from hms.api.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("users", views.UserViewSet, basename="user")

# Mounted at /auth/ and /api/v1/auth/.
auth_urlpatterns = [
    re_path(r"^register/?$", views.RegisterView.as_view(), name="register"),
    re_path(r"^login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^admin/login/?$", views.AdminLoginView.as_view(), name="admin-login"),
    re_path(r"^hospital/login/?$", views.HospitalLoginView.as_view(), name="hospital-login"),
    re_path(r"^refresh/?$", views.RefreshView.as_view(), name="refresh"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^profile/?$", views.ProfileView.as_view(), name="profile"),
    re_path(r"^change-password/?$", views.ChangePasswordView.as_view(), name="change-password"),
]

urlpatterns = router.urls
