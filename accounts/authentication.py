import functools

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.utils import aware_utcnow

from accounts import signing_keys
from accounts.models import RevokedAccessToken, User
from accounts.tokens import VERSION_CLAIM
from hms.api import readcache
from hms.api.db import prepared_cursor

# Every column but the password hash: it is never needed to serve a request with a token (the
# password change reads it again under a row lock), and it never goes to the shared cache.
# Reading `user.password` on such an instance loads it from the database.
_LOADED_FIELDS = tuple(field.attname for field in User._meta.concrete_fields if field.attname != "password")


@functools.cache
def _user_with_revocation_sql(vendor: str) -> str:
    """The user row plus `token_revoked` (is this access token's jti revoked?), in one statement."""
    quote = connection.ops.quote_name
    columns = ", ".join(f"u.{quote(User._meta.get_field(name).column)}" for name in _LOADED_FIELDS)
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


def _token_user_row(jti, user_id: int) -> tuple | None:
    """The user's column values (converted to Python by the backend) and `token_revoked`, or None."""
    # Hand-written SQL: building the same query through the ORM cost more than the rest of a request.
    if not -(2**63) <= user_id < 2**63:
        return None  # no such row (and no 64-bit parameter to bind: SQLite would raise)
    sql = _user_with_revocation_sql(connection.vendor)
    if connection.vendor == "postgresql":
        # Prepared: planned once per connection, not on every request whose user is not kept. psycopg
        # hands back these columns as Python values already (the model has no converters for them).
        with prepared_cursor() as cursor:
            cursor.execute(sql, [jti, user_id])
            row = cursor.fetchone()
        return None if row is None else (*row[:-1], bool(row[-1]))
    query = User.objects.raw(sql, [jti, user_id])
    user = next(iter(query), None)
    if user is None:
        return None
    return (*(getattr(user, name) for name in _LOADED_FIELDS), bool(user.token_revoked))


@functools.lru_cache(maxsize=2048)
def _verified_token(raw_token: bytes, keys: tuple):
    """simplejwt's validation of an access token (signature, type, expiry at first sight), kept per
    token string and signing key: a string's signature stays valid, so later requests with it skip
    the decoding; its expiry is checked on every request (`JWTAuthentication.get_validated_token`).
    Invalid tokens raise and are not kept."""
    return authentication.JWTAuthentication().get_validated_token(raw_token)


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's check plus revocation (logout) and password-change invalidation, in one query.

    With READ_CACHE_SECONDS, the row is kept on the shared cache per token until the next committed
    write to an account (hms.api.readcache's users generation): a logout, password change, deactivation
    or role change is one, so the next request with an affected token reads the database again and is
    refused; bookings and other writes leave the kept rows alone.
    """

    def get_validated_token(self, raw_token):
        token = _verified_token(raw_token, signing_keys.fingerprint())
        try:
            token.check_exp(current_time=aware_utcnow())
        except TokenError:
            # Expired since it was kept: simplejwt's own answer for it (a 401 naming the expiry).
            return super().get_validated_token(raw_token)
        return token

    def get_user(self, validated_token):
        try:
            user_id = int(validated_token.get("user_id"))
        except (TypeError, ValueError):
            raise InvalidToken("Token contained no recognizable user identification.") from None
        jti = validated_token.get("jti")
        row = readcache.cached(
            f"hms:token-user:{user_id}:{jti}",
            lambda: _token_user_row(jti, user_id),
            seconds=settings.READ_CACHE_SECONDS,
            generation_key=readcache.USERS_GENERATION_KEY,
        )
        if row is None:
            raise AuthenticationFailed("User not found.", code="user_not_found")
        *values, token_revoked = row
        user = User.from_db(DEFAULT_DB_ALIAS, _LOADED_FIELDS, values)
        if not user.is_active:
            raise AuthenticationFailed("User is inactive.", code="user_inactive")
        if token_revoked or validated_token.get(VERSION_CLAIM) != user.auth_version:
            raise InvalidToken("Token has been revoked.")
        return user


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
