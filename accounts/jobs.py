"""The accounts' scheduled job (API.md section 16), imported (so registered) by AccountsConfig.ready()."""

from accounts.throttling import forget_ended_windows
from accounts.tokens import tokens_flush_expired
from hms import jobs


@jobs.job(
    "accounts.flush_expired_tokens",
    every_seconds=86400,
    description=(
        "Records of expired refresh tokens (and blacklist entries), revoked access tokens and ended "
        "login-failure windows deleted."
    ),
)
def flush_expired_tokens() -> dict:
    return {**tokens_flush_expired(), "login_failure_windows": forget_ended_windows()}
