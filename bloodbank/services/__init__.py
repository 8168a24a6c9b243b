"""Blood bank rules that write, one transaction each: banks, stock lots, requests, donations."""

from bloodbank.services.banks import blood_bank_create, blood_bank_deactivate, blood_bank_update
from bloodbank.services.donations import (
    WHOLE_BLOOD_DONATION_INTERVAL_DAYS,
    donation_record,
    donor_eligibility,
    last_whole_blood_donation,
)
from bloodbank.services.requests import (
    blood_request_approve,
    blood_request_cancel,
    blood_request_create,
    blood_request_fulfil,
    blood_request_reject,
    blood_request_require_canceller,
    blood_request_require_manager,
)
from bloodbank.services.stock import MAX_LOT_AGE, lot_create, lot_dates, stock_add, stock_expire

__all__ = [
    "MAX_LOT_AGE",
    "WHOLE_BLOOD_DONATION_INTERVAL_DAYS",
    "blood_bank_create",
    "blood_bank_deactivate",
    "blood_bank_update",
    "blood_request_approve",
    "blood_request_cancel",
    "blood_request_create",
    "blood_request_fulfil",
    "blood_request_reject",
    "blood_request_require_canceller",
    "blood_request_require_manager",
    "donation_record",
    "donor_eligibility",
    "last_whole_blood_donation",
    "lot_create",
    "lot_dates",
    "stock_add",
    "stock_expire",
]
