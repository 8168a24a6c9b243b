from django.apps import apps
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import check_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts.models import BloodGroup, User
from accounts.tokens import VERSION_CLAIM
from hms.api.serializers import ModelSerializer

USER_FIELDS = [
    "id",
    "username",
    "fullname",
    "email",
    "phone_num",
    "role",
    "hospital_id",
    "blood_group",
    "is_active",
    "date_joined",
]
PASSWORD_MAX_LENGTH = 1024


class UserOut(ModelSerializer):
    hospital_id = serializers.IntegerField(read_only=True, allow_null=True)
    blood_group = serializers.ChoiceField(choices=BloodGroup.choices, allow_blank=True, read_only=True)

    class Meta:
        model = User
        fields = USER_FIELDS
        read_only_fields = USER_FIELDS


def _validate_password(password: str, user: User | None = None, attr: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        # Keep Django's codes (password_too_short, password_too_common, ...) for the front-end.
        errors = [
            ErrorDetail(message, code=error.code or "password_too_weak")
            for error in exc.error_list
            for message in error.messages
        ]
        raise serializers.ValidationError({attr: errors}) from exc


def _others(exclude_pk: int | None):
    return User.objects.exclude(pk=exclude_pk) if exclude_pk is not None else User.objects.all()


def _unique_ci(field: str, value: str, exclude_pk: int | None = None) -> str:
    if value and _others(exclude_pk).filter(**{f"{field}__iexact": value}).exists():
        raise serializers.ValidationError(f"A user with this {field} already exists.", code="unique")
    return value


def _not_another_accounts(field: str, value: str, exclude_pk: int | None = None) -> str:
    """Sign-in takes a username or an email address: neither may name another account's other one,
    or which account a login opens would depend on which password matches."""
    if value and _others(exclude_pk).filter(**{f"{field}__iexact": value}).exists():
        raise serializers.ValidationError(f"This is another account's {field}; choose another.", code="unique")
    return value


class UsernameField(serializers.CharField):
    """A username as Django's own forms read it: NFKC-normalised (full-width `ａｄｍｉｎ` is `admin`)
    before the character rule, the length limit and the case-insensitive uniqueness check."""

    def to_internal_value(self, data):
        return User.normalize_username(super().to_internal_value(data))


def _username_field(**kwargs) -> UsernameField:
    model_field = User._meta.get_field("username")
    return UsernameField(
        max_length=model_field.max_length,
        help_text=model_field.help_text,
        # Case-insensitive uniqueness is checked in validate_username (-> 409); the character rule stays.
        validators=[UnicodeUsernameValidator()],
        **kwargs,
    )


def _password_field(**kwargs) -> serializers.CharField:
    # A password is used exactly as typed: surrounding spaces are part of it, never trimmed.
    return serializers.CharField(
        max_length=PASSWORD_MAX_LENGTH, trim_whitespace=False, style={"input_type": "password"}, **kwargs
    )


class _UserFieldsMixin(serializers.Serializer):
    """Length limits and case-insensitive uniqueness shared by every serializer that writes a user."""

    def validate_username(self, value):
        exclude_pk = getattr(self.instance, "pk", None)
        _unique_ci("username", value, exclude_pk)
        return _not_another_accounts("email", value, exclude_pk)

    def validate_email(self, value):
        exclude_pk = getattr(self.instance, "pk", None)
        _unique_ci("email", value, exclude_pk)
        return _not_another_accounts("username", value, exclude_pk)


class RegisterIn(_UserFieldsMixin, serializers.ModelSerializer):
    username = _username_field()
    password = _password_field(write_only=True)
    role = serializers.ChoiceField(choices=[User.Role.USER, User.Role.DONOR], default=User.Role.USER)
    email = serializers.EmailField(max_length=254)
    fullname = serializers.CharField(max_length=150)

    class Meta:
        model = User
        fields = ["username", "fullname", "email", "password", "phone_num", "role", "blood_group"]

    def validate(self, attrs):
        candidate = User(**{k: v for k, v in attrs.items() if k != "password"})
        _validate_password(attrs["password"], candidate)
        return attrs


class StaffAccountIn(_UserFieldsMixin, serializers.ModelSerializer):
    """A staff member's new login account, created together with what it serves: a doctor's profile
    (POST /doctors) or a hospital (POST /hospitals, its hospital admin). The caller's service sets the
    role and hospital."""

    username = _username_field()
    password = _password_field(write_only=True)
    email = serializers.EmailField(max_length=254)
    fullname = serializers.CharField(max_length=150)

    class Meta:
        model = User
        fields = ["username", "fullname", "email", "password", "phone_num"]

    def validate(self, attrs):
        _validate_password(attrs["password"], User(**{k: v for k, v in attrs.items() if k != "password"}))
        return attrs


class LoginIn(serializers.Serializer):
    # NFKC here, so the sign-in and its failure throttle see one spelling of each account.
    username = UsernameField(max_length=254, help_text="Username or email address.")
    password = _password_field()


class TokenPairOut(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LoginOut(TokenPairOut):
    user = UserOut()


class RegisterOut(LoginOut):
    pass


class RefreshIn(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutIn(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, required=False)


class DetailOut(serializers.Serializer):
    detail = serializers.CharField()


class ProfileIn(_UserFieldsMixin, serializers.ModelSerializer):
    """The caller's own profile: role, username and hospital are not writable here."""

    email = serializers.EmailField(max_length=254, required=False)
    fullname = serializers.CharField(max_length=150, required=False)

    class Meta:
        model = User
        fields = ["fullname", "email", "phone_num", "blood_group"]


class ChangePasswordIn(serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field()

    def validate(self, attrs):
        request = self.context["request"]
        user = request.user
        # The token's user is loaded without its password hash (accounts.authentication): read it now,
        # with the version, so that a token made stale by a change committed meanwhile is a 401 (as
        # the change itself would answer), not a "wrong current password".
        current = User.objects.filter(pk=user.pk, is_active=True).values_list("password", "auth_version").first()
        token = getattr(request, "auth", None)
        if current is None or (token is not None and token.get(VERSION_CLAIM) != current[1]):
            raise InvalidToken("Token has been revoked.")
        if not check_password(attrs["old_password"], current[0]):
            raise serializers.ValidationError({"old_password": ["The current password is wrong."]}, code="invalid")
        _validate_password(attrs["new_password"], user, attr="new_password")
        return attrs


class ChangePasswordOut(TokenPairOut):
    detail = serializers.CharField()


class UserIn(_UserFieldsMixin, serializers.ModelSerializer):
    """Accounts written by admins and hospital admins through /api/v1/users."""

    username = _username_field()
    password = _password_field(write_only=True, required=False)
    email = serializers.EmailField(max_length=254)
    fullname = serializers.CharField(max_length=150)
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=apps.get_model("hospitals", "Hospital").objects.all(),
        required=False,
        allow_null=True,
    )
    blood_group = serializers.ChoiceField(choices=BloodGroup.choices, required=False, allow_blank=True)

    class Meta:
        model = User
        fields = [*USER_FIELDS, "password"]
        read_only_fields = ["id", "date_joined"]

    def validate_role(self, value):
        if self.instance is not None and self.instance.role == value:
            return value  # unchanged (a PUT repeats it)
        if value == User.Role.DOCTOR:
            raise serializers.ValidationError("Doctors are created through /api/v1/doctors.", code="invalid")
        if self.instance is not None and self.instance.role == User.Role.DOCTOR and value != User.Role.DOCTOR:
            raise serializers.ValidationError("A doctor's role is managed through /api/v1/doctors.", code="invalid")
        return value

    def validate(self, attrs):
        if self.instance is None and not attrs.get("password"):
            raise serializers.ValidationError({"password": ["This field is required."]}, code="required")
        if attrs.get("password"):
            candidate = User(**{k: v for k, v in attrs.items() if k not in ("password", "hospital")})
            _validate_password(attrs["password"], candidate)
        role = attrs.get("role", getattr(self.instance, "role", User.Role.USER))
        request = self.context.get("request")
        caller = getattr(request, "user", None)
        if (
            self.instance is None
            and "hospital" not in attrs
            and role in User.STAFF_ROLES
            and getattr(caller, "role", None) == User.Role.HOSPITAL_ADMIN
        ):
            # A hospital admin's new staff belong to its own hospital unless it names one.
            attrs["hospital"] = caller.hospital
        hospital = attrs.get("hospital", getattr(self.instance, "hospital", None))
        if role in User.STAFF_ROLES and hospital is None:
            raise serializers.ValidationError(
                {"hospital_id": ["Staff accounts belong to a hospital."]}, code="required"
            )
        if role not in User.STAFF_ROLES and hospital is not None:
            raise serializers.ValidationError(
                {"hospital_id": ["Only staff accounts belong to a hospital."]}, code="invalid"
            )
        return attrs
