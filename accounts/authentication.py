import functools

from django.db import connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from accounts.models import RevokedAccessToken, User
from accounts.tokens import VERSION_CLAIM


@functools.cache
def _user_with_revocation_sql(vendor: str) -> str:
    """The user row plus `token_revoked` (is this access token's jti revoked?), in one statement."""
    quote = connection.ops.quote_name
    columns = ", ".join(f"u.{quote(field.column)}" for field in User._meta.concrete_fields)
    revoked = quote(RevokedAccessToken._meta.db_table)
    # Only quoted identifiers from the models go into the text; the jti and the user id are parameters.
    sql = (
        "SELECT {columns}, EXISTS(SELECT 1 FROM {revoked} r WHERE r.{jti} = %s) AS token_revoked "
        "FROM {users} u WHERE u.{pk} = %s"
    )
    return sql.format(
        columns=columns,
        revoked=revoked,
        jti=quote("jti"),
        users=quote(User._meta.db_table),
        pk=quote(User._meta.pk.column),
    )


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's check plus revocation (logout) and password-change invalidation, in one query."""

    def get_user(self, validated_token):
        try:
            user_id = int(validated_token.get("user_id"))
        except (TypeError, ValueError):
            raise InvalidToken("Token contained no recognizable user identification.") from None
        # Hand-written SQL: building the same query through the ORM cost more than the rest of a request.
        query = User.objects.raw(_user_with_revocation_sql(connection.vendor), [validated_token.get("jti"), user_id])
        user = next(iter(query), None)
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
