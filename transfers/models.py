"""Referrals: a patient sent from one hospital to another, with a bed held and an ambulance (API.md section 19)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from hms.db_fields import text_choices, transitions, user_reference
from hms.models import Timestamped, TrailEntry
from hospitals.models import BedType

# Plain strings here because Meta (below) cannot see names of the class body.
OPEN_REFERRAL_STATUSES = ("requested", "accepted", "in_transit")
# Statuses in which the referral holds a bed at the destination (reserved on accept).
HOLDING_BED_STATUSES = ("accepted", "in_transit")

# How long an accepted referral holds the destination's bed: long enough for a transfer, short enough that
# a forgotten referral gives the bed back by itself (the reservation lapses whether or not anything runs).
BED_HOLD = timedelta(hours=24)


Urgency = text_choices("Urgency", "routine urgent emergency")


class Referral(Timestamped):
    Status = text_choices("Status", "requested accepted rejected in_transit completed cancelled")

    OPEN_STATUSES = OPEN_REFERRAL_STATUSES
    # Every move of the machine; the actions (accept, reject, dispatch, complete, cancel) consult it
    # (rejected, completed and cancelled are final).
    TRANSITIONS = transitions(
        Status,
        {
            Status.REQUESTED: {Status.ACCEPTED, Status.REJECTED, Status.CANCELLED},
            Status.ACCEPTED: {Status.IN_TRANSIT, Status.CANCELLED},
            Status.IN_TRANSIT: {Status.COMPLETED, Status.CANCELLED},
        },
    )

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals")
    from_hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="referrals_out")
    to_hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="referrals_in")
    reason = models.CharField(max_length=1000)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    bed_type = models.CharField(max_length=20, choices=BedType.choices, default=BedType.GENERAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    # Kept after the referral ends (completed, cancelled): which bed and ambulance served it.
    reserved_bed = models.ForeignKey(
        "hospitals.Bed", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    ambulance = models.ForeignKey(
        "emergency.Ambulance", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    requested_by = user_reference()
    # Timestamped's, indexed: the list is newest first.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["from_hospital", "status"], name="referral_from_status"),
            models.Index(fields=["to_hospital", "status"], name="referral_to_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(from_hospital=F("to_hospital")), name="referral_two_hospitals"),
            # The services check these under row locks; the database is the backstop.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status__in=OPEN_REFERRAL_STATUSES), name="referral_one_open_per_patient"
            ),
            models.UniqueConstraint(
                fields=["reserved_bed"],
                condition=Q(status__in=HOLDING_BED_STATUSES),
                name="referral_one_open_per_bed",
            ),
            models.UniqueConstraint(
                fields=["ambulance"], condition=Q(status="in_transit"), name="referral_one_in_transit_per_ambulance"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=HOLDING_BED_STATUSES) | Q(reserved_bed__isnull=False),
                name="referral_accepted_has_bed",
            ),
            models.CheckConstraint(
                condition=~Q(status="in_transit") | Q(ambulance__isnull=False),
                name="referral_in_transit_has_ambulance",
            ),
        ]

    def __str__(self):
        return f"Referral {self.pk} ({self.from_hospital_id} -> {self.to_hospital_id}, {self.status})"


class ReferralEvent(TrailEntry):
    """Append-only trail of a referral: its request and every step."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    status = models.CharField(max_length=20, choices=Referral.Status.choices)
    note = models.CharField(max_length=1000, blank=True, default="")

    def __str__(self):
        return f"{self.referral_id}: {self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


# Import path for the OpenAPI enum name (drf-spectacular cannot import nested classes).
ReferralStatus = Referral.Status
