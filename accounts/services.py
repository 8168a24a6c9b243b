"""Account rules that write: registration, sign-in, sign-out, password and staff accounts."""

from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled
from rest_framework_simplejwt.exceptions import InvalidToken

from accounts import throttling, tokens
from accounts.activity import Action, record
from accounts.models import User
from hms.api.client import client_ip_var
from hms.api.exceptions import Conflict


@transaction.atomic
def user_register(*, data: dict) -> tuple[User, dict]:
    password = data.pop("password")
    user = User(**data)
    user.set_password(password)
    user.save()
    record(action=Action.CREATE, actor=user, object_type="user", object_id=user.pk)
    return user, tokens.tokens_issue(user=user)


def _login_identity(identifier: str) -> str:
    """The account a login names, by username or email, so every spelling shares one failure counter."""
    username = (
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))
        .order_by(Case(When(username__iexact=identifier, then=Value(0)), default=Value(1)), "pk")
        .values_list("username", flat=True)
        .first()
    )
    return username or identifier


def user_login(*, username: str, password: str, required_role: str | None = None) -> tuple[User, dict]:
    """Check credentials under the failure throttle; a valid account of the wrong role gets 403."""
    ip = client_ip_var.get()
    identity = _login_identity(username)
    slots, wait = throttling.login_attempt_begin(username=identity, ip=ip)
    if wait is not None:
        record(action=Action.LOGIN_FAILED, actor=None, detail={"username": username[:150], "reason": "throttled"})
        raise Throttled(wait=wait, detail="Too many failed sign-in attempts; try again later.")
    user = authenticate(None, username=username, password=password)
    if user is None:
        record(action=Action.LOGIN_FAILED, actor=None, detail={"username": username[:150]})
        raise AuthenticationFailed("The username or password is wrong.", code="invalid_credentials")
    throttling.login_attempt_succeeded(slots=slots)
    if required_role is not None and user.role != required_role:
        record(action=Action.LOGIN_FAILED, actor=user, detail={"reason": f"not {required_role}"})
        raise PermissionDenied(f"This sign-in is only for the {required_role} role.")
    record(action=Action.LOGIN, actor=user, object_type="user", object_id=user.pk)
    return user, tokens.tokens_issue(user=user)


def user_logout(*, by: User, access, refresh: str | None) -> None:
    """Revoke the access token used (`access`) and, when given, the refresh token."""
    with transaction.atomic():
        tokens.access_revoke(token=access)
        if refresh:
            tokens.refresh_revoke(raw=refresh, user=by)
        record(action=Action.LOGOUT, actor=by, object_type="user", object_id=by.pk)


@transaction.atomic
def password_change(*, user: User, access, new_password: str) -> dict:
    """New password; every token issued before it stops working. `access`: the token the change came with."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active or (access is not None and access.get(tokens.VERSION_CLAIM) != user.auth_version):
        # Another change (or a deactivation) committed while this request waited for the lock:
        # the token it came with is no longer valid.
        raise InvalidToken("Token has been revoked.")
    user.set_password(new_password)
    user.save(update_fields=["password"])  # User.save bumps auth_version: older tokens stop working
    record(action=Action.PASSWORD_CHANGE, actor=user, object_type="user", object_id=user.pk)
    return tokens.tokens_issue(user=user)


@transaction.atomic
def profile_update(*, user: User, data: dict) -> User:
    for field, value in data.items():
        setattr(user, field, value)
    user.save(update_fields=list(data))
    record(action=Action.UPDATE, actor=user, object_type="user", object_id=user.pk)
    return user


def _check_staff_scope(*, by: User, role: str, hospital) -> None:
    if by.role == User.Role.ADMIN:
        return
    if role not in (User.Role.HOSPITAL_ADMIN, User.Role.AMBULANCE_DRIVER):
        raise PermissionDenied("A hospital admin creates only hospital admins and ambulance drivers.")
    if hospital is None or hospital.pk != by.hospital_id:
        raise PermissionDenied("A hospital admin manages staff of its own hospital only.")


@transaction.atomic
def user_create(*, by: User, data: dict) -> User:
    password = data.pop("password")
    if by.role == User.Role.HOSPITAL_ADMIN and "hospital" not in data:
        data["hospital"] = by.hospital
    role = data.get("role", User.Role.USER)
    _check_staff_scope(by=by, role=role, hospital=data.get("hospital"))
    user = User(**data)
    if role == User.Role.ADMIN:
        user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    record(action=Action.CREATE, actor=by, object_type="user", object_id=user.pk)
    return user


def staff_account_create(*, by: User, account: dict, role: str, hospital, detail: dict | None = None) -> User:
    """A staff account of `hospital` from the staff-account input (`StaffAccountIn`: a hospital's admin
    created with it, a doctor added with a new account), recorded; in the caller's transaction."""
    account = dict(account)
    password = account.pop("password")
    user = User(**account, role=role, hospital=hospital)
    user.set_password(password)
    user.save()
    record(action=Action.CREATE, actor=by, object_type="user", object_id=user.pk, detail=detail)
    return user


@transaction.atomic
def user_update(*, by: User, user: User, data: dict) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    role = data.get("role", user.role)
    if by.role != User.Role.ADMIN and role != user.role:
        _check_staff_scope(by=by, role=role, hospital=data.get("hospital", user.hospital))
    if by.role != User.Role.ADMIN and "hospital" in data and data["hospital"] != user.hospital:
        raise PermissionDenied("A hospital admin cannot move staff to another hospital.")
    if user.pk == by.pk and data.get("is_active") is False:
        raise Conflict("You cannot deactivate your own account.", code="self_deactivation")
    password = data.pop("password", None)
    for field, value in data.items():
        setattr(user, field, value)
    if "role" in data:
        user.is_staff = user.is_superuser = role == User.Role.ADMIN
    if password:
        user.set_password(password)  # User.save bumps auth_version
    elif data.get("is_active") is False:
        user.auth_version += 1
    user.save()
    record(action=Action.UPDATE, actor=by, object_type="user", object_id=user.pk)
    return user


@transaction.atomic
def user_deactivate(*, by: User, user: User) -> None:
    if user.pk == by.pk:
        raise Conflict("You cannot deactivate your own account.", code="self_deactivation")
    User.objects.filter(pk=user.pk).update(is_active=False, auth_version=F("auth_version") + 1)
    record(action=Action.DELETE, actor=by, object_type="user", object_id=user.pk)
