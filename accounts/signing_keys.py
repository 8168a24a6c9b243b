"""JWT signing-key rotation without signing everyone out.

Tokens are signed with the current key (JWT_SECRET_KEY) and name it in their `kid` header
(JWT_KEY_ID). Keys retired by a rotation stay in JWT_PREVIOUS_KEYS (`kid:secret,...`) for as long as
tokens signed with them live (the refresh lifetime): a token is verified with exactly the key its
`kid` names, and a `kid` no configured key has is refused. Tokens from before key ids existed carry
none: they are checked against the configured keys in turn.

simplejwt reads its one backend from `rest_framework_simplejwt.state.token_backend`; `install()`
replaces it (AccountsConfig.ready) with this one, which reads the keys from settings on each use.
"""

import jwt
from django.conf import settings
from rest_framework_simplejwt import state
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken


def current_key() -> tuple[str, str]:
    return settings.JWT_KEY_ID, settings.SIMPLE_JWT["SIGNING_KEY"]


def verifying_keys() -> dict[str, str]:
    kid, secret = current_key()
    return {**settings.JWT_PREVIOUS_KEYS, kid: secret}


def fingerprint() -> tuple:
    """The keys in force, as a cache key: a token verified under other keys is verified again."""
    return (settings.JWT_KEY_ID, settings.SIMPLE_JWT["SIGNING_KEY"], tuple(sorted(settings.JWT_PREVIOUS_KEYS.items())))


class RotatingTokenBackend(TokenBackend):
    def encode(self, payload: dict) -> str:
        kid, secret = current_key()
        return jwt.encode(
            payload, secret, algorithm=self.algorithm, headers={"kid": kid}, json_encoder=self.json_encoder
        )

    def decode(self, token, verify: bool = True) -> dict:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc
        keys = verifying_keys()
        if kid is not None:
            if not isinstance(kid, str) or kid not in keys:
                raise TokenBackendError("Token is invalid")
            return self._decode_with(token, keys[kid], verify)
        error = TokenBackendError("Token is invalid")
        for secret in keys.values():
            try:
                return self._decode_with(token, secret, verify)
            except TokenBackendExpiredToken:  # the right key, past its expiry: that is the answer
                raise
            except TokenBackendError as exc:
                error = exc
        raise error

    def _decode_with(self, token, secret: str, verify: bool) -> dict:
        """simplejwt's own decode (same claims, leeway and error messages), with this key."""
        try:
            return jwt.decode(
                token,
                secret,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.get_leeway(),
                options={"verify_aud": self.audience is not None, "verify_signature": verify},
            )
        except jwt.InvalidAlgorithmError as exc:
            raise TokenBackendError("Invalid algorithm specified") from exc
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken("Token is expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenBackendError("Token is invalid") from exc


def install() -> None:
    jwt_settings = settings.SIMPLE_JWT
    backend = RotatingTokenBackend(
        jwt_settings["ALGORITHM"], jwt_settings["SIGNING_KEY"], leeway=jwt_settings.get("LEEWAY", 0)
    )
    # simplejwt's tokens read the backend from `state` when first used; any built before now kept none.
    state.token_backend = backend
