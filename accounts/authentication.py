from django.db.models import Exists
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from accounts.models import RevokedAccessToken, User
from accounts.tokens import VERSION_CLAIM


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's check plus revocation (logout) and password-change invalidation, in one query."""

    def get_user(self, validated_token):
        jti = validated_token.get("jti")
        user = (
            User.objects.annotate(token_revoked=Exists(RevokedAccessToken.objects.filter(jti=jti).values("pk")[:1]))
            .filter(pk=validated_token.get("user_id"))
            .first()
        )
        if user is None:
            raise AuthenticationFailed("User not found.", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive.", code="user_inactive")
        if user.token_revoked or validated_token.get(VERSION_CLAIM) != user.auth_version:
            raise InvalidToken("Token has been revoked.")
        return user


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
