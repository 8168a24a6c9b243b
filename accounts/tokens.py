"""JWT issuing and checking: simplejwt tokens carrying the user's `auth_version`."""

from django.db import IntegrityError, transaction
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import RevokedAccessToken, User

VERSION_CLAIM = "ver"


def tokens_issue(*, user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    refresh[VERSION_CLAIM] = user.auth_version
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _check_user(token) -> User:
    user = User.objects.filter(pk=token.get("user_id")).first()
    if user is None or not user.is_active or token.get(VERSION_CLAIM) != user.auth_version:
        raise InvalidToken("Token is invalid or expired.")
    return user


def refresh_token_parse(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError as exc:
        raise InvalidToken("Token is invalid or expired.") from exc


def refresh_rotate(*, raw: str) -> dict:
    """Redeem a refresh token once: concurrent redeemers race on the blacklist's unique row."""
    token = refresh_token_parse(raw)
    user = _check_user(token)
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).first()
    if outstanding is None:
        raise InvalidToken("Token is invalid or expired.")
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError as exc:
        raise InvalidToken("Token is blacklisted.") from exc
    return tokens_issue(user=user)


def refresh_revoke(*, raw: str, user: User) -> None:
    """Blacklist a refresh token of this user; an already unusable one needs nothing."""
    try:
        token = RefreshToken(raw)
    except TokenError:
        return
    # simplejwt writes the user id claim as a string.
    if str(token.get("user_id")) != str(user.pk):
        return
    outstanding = OutstandingToken.objects.filter(jti=token["jti"]).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)


def access_revoke(*, token) -> None:
    from datetime import UTC, datetime

    RevokedAccessToken.objects.get_or_create(
        jti=token["jti"], defaults={"expires_at": datetime.fromtimestamp(token["exp"], UTC)}
    )


def tokens_flush_expired(*, now=None) -> dict:
    """Delete the records of tokens past their expiry (simplejwt's `flushexpiredtokens`, plus our revoked
    access tokens): an expired token is refused on its own, so its record keeps nothing out."""
    from django.utils import timezone

    now = now or timezone.now()
    # Deleting an OutstandingToken cascades to its BlacklistedToken.
    refresh, _ = OutstandingToken.objects.filter(expires_at__lte=now).delete()
    access, _ = RevokedAccessToken.objects.filter(expires_at__lte=now).delete()
    return {"refresh_records": refresh, "revoked_access": access}
