from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import serializers, services, tokens
from accounts.filters import UserFilter
from accounts.models import User
from accounts.permissions import CanManageUsers
from hms.api.schema import ErrorResponse401Serializer, ErrorResponse403Serializer, ErrorResponse429Serializer
from hms.api.throttling import ScopedRateThrottle
from hms.api.viewsets import DeactivateMixin, ServiceWriteMixin

LOGIN_RESPONSES = {
    200: serializers.LoginOut,
    401: ErrorResponse401Serializer,
    403: ErrorResponse403Serializer,
    429: ErrorResponse429Serializer,
}


class PublicAuthView(APIView):
    """Sign-in endpoints take no token; a credential failure still answers 401 with a Bearer challenge."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RegisterView(PublicAuthView):
    """Self-registration as a patient (`user`, the default) or a `donor`."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(tags=["auth"], request=serializers.RegisterIn, responses={201: serializers.RegisterOut}, auth=[])
    def post(self, request):
        data = serializers.RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_register(data=dict(data.validated_data))
        return Response({"user": serializers.UserOut(user).data, **pair}, status=status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    """Sign in with username (or email) and password; failures are throttled per username and address."""

    required_role: str | None = None

    @extend_schema(
        tags=["auth"],
        request=serializers.LoginIn,
        responses=LOGIN_RESPONSES,
        auth=[],
    )
    def post(self, request):
        data = serializers.LoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_login(
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            required_role=self.required_role,
        )
        return Response({**pair, "user": serializers.UserOut(user).data})


class AdminLoginView(LoginView):
    """Sign in for the `admin` role only; valid credentials of another role get 403."""

    required_role = User.Role.ADMIN


class HospitalLoginView(LoginView):
    """Sign in for the `hospital_admin` role only; valid credentials of another role get 403."""

    required_role = User.Role.HOSPITAL_ADMIN


class RefreshView(PublicAuthView):
    """Trade a refresh token for a new pair; the old refresh token is refused from then on."""

    @extend_schema(
        tags=["auth"],
        request=serializers.RefreshIn,
        responses={200: serializers.TokenPairOut, 401: ErrorResponse401Serializer},
        auth=[],
    )
    def post(self, request):
        data = serializers.RefreshIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(tokens.refresh_rotate(raw=data.validated_data["refresh"]))


class LogoutView(APIView):
    """Revoke the access token used and the refresh token given."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=serializers.LogoutIn, responses={200: serializers.DetailOut})
    def post(self, request):
        data = serializers.LogoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_logout(by=request.user, access=request.auth, refresh=data.validated_data.get("refresh"))
        return Response({"detail": "Signed out."})


class ProfileView(APIView):
    """The caller's own account. Role, username and hospital are not changeable here."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], responses={200: serializers.UserOut})
    def get(self, request):
        return Response(serializers.UserOut(request.user).data)

    @extend_schema(tags=["auth"], request=serializers.ProfileIn, responses={200: serializers.UserOut})
    def patch(self, request):
        data = serializers.ProfileIn(instance=request.user, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.profile_update(user=request.user, data=dict(data.validated_data))
        return Response(serializers.UserOut(user).data)


class ChangePasswordView(APIView):
    """Change the caller's password; tokens issued before are refused afterwards. Returns a fresh pair."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["auth"], request=serializers.ChangePasswordIn, responses={200: serializers.ChangePasswordOut})
    def post(self, request):
        data = serializers.ChangePasswordIn(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        pair = services.password_change(
            user=request.user, access=request.auth, new_password=data.validated_data["new_password"]
        )
        return Response({"detail": "Password changed.", **pair})


@extend_schema(tags=["users"])
class UserViewSet(
    ServiceWriteMixin,
    DeactivateMixin,
    viewsets.ModelViewSet,
):
    """Accounts. Admin: all. Hospital admin: staff of its hospital. DELETE deactivates (204)."""

    queryset = User.objects.all().order_by("id")
    permission_classes = [CanManageUsers]
    filterset_class = UserFilter
    search_fields = ["username", "fullname", "email"]
    input_serializer_class = serializers.UserIn
    output_serializer_class = serializers.UserOut
    ordering_fields = ["id", "username", "fullname", "date_joined"]
    row_object = "user"
    row_services = {
        "create": services.user_create,
        "update": services.user_update,
        "deactivate": services.user_deactivate,
    }

    def get_queryset(self):
        queryset = super().get_queryset()
        user = self.request.user
        if user.role == User.Role.ADMIN:
            return queryset
        return queryset.filter(Q(hospital_id=user.hospital_id) & Q(role__in=User.STAFF_ROLES))
