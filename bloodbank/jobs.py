"""The blood bank's scheduled job (API.md section 16), imported (so registered) by BloodbankConfig.ready()."""

from bloodbank.services import stock_expire
from hms import jobs


@jobs.job(
    "bloodbank.stock_expiry",
    every_seconds=3600,
    description="Available blood stock lots past their expiry date marked expired.",
)
def expire_stock() -> dict:
    """Available lots whose expiry date has come become expired (lots locked in pk order; a second run
    finds none left)."""
    return {"expired": stock_expire()}
