import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import BloodGroup
from bloodbank import compatibility
from hms.db_fields import text_choices, transitions, user_reference
from hms.models import Timestamped
from hospitals.geo import coordinate_constraints, coordinate_fields

Component = text_choices(
    "Component",
    compatibility.COMPONENTS,
    labels={compatibility.WHOLE_BLOOD: "Whole blood", compatibility.PACKED_RED_CELLS: "Packed red cells"},
)


class BloodBank(Timestamped):
    name = models.CharField(max_length=200)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="blood_banks"
    )
    license_number = models.CharField(max_length=64, unique=True)
    address = models.CharField(max_length=500, blank=True, default="")
    city = models.CharField(max_length=100, blank=True, default="", db_index=True)
    latitude, longitude = coordinate_fields()
    phone = models.CharField(max_length=20, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    is_active = models.BooleanField(default=True, db_index=True)
    low_stock_threshold = models.PositiveIntegerField(
        default=5,
        validators=[MaxValueValidator(100000)],
        help_text="Its managers are notified when a group and component's usable units fall below this.",
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["latitude", "longitude"], name="bloodbank_lat_lng")]
        constraints = coordinate_constraints("bloodbank")

    def __str__(self):
        return self.name


class StockLotQuerySet(models.QuerySet):
    def usable(self, today: datetime.date | None = None):
        """Units that may be counted and allocated: available, not yet expired, not used up.

        Expiry is judged by date, not by the `expired` status, so a lot past its date is never
        counted even before `expire_blood_stock` has marked it.
        """
        today = today or timezone.localdate()
        return self.filter(status=StockLot.Status.AVAILABLE, expires_on__gt=today, units__gt=0)


class StockLot(models.Model):
    # What a lot holds, in the order the API, the admin and the benchmark generator list it.
    CONTENT_FIELDS = ("blood_group", "component", "units", "initial_units", "collected_on", "expires_on")

    Status = text_choices("Status", "available expired discarded")

    blood_bank = models.ForeignKey(BloodBank, on_delete=models.PROTECT, related_name="stock_lots")
    blood_group = models.CharField(max_length=3, choices=BloodGroup.choices)
    component = models.CharField(max_length=20, choices=Component.choices, default=Component.WHOLE_BLOOD)
    units = models.PositiveIntegerField(help_text="Units remaining in the lot.")
    initial_units = models.PositiveIntegerField(help_text="Units the lot was received with.")
    collected_on = models.DateField()
    expires_on = models.DateField()
    lot_number = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StockLotQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            # The backstop against over-allocation: a decrement that would go below zero fails.
            models.CheckConstraint(condition=Q(units__gte=0), name="stocklot_units_not_negative"),
            models.CheckConstraint(condition=Q(units__lte=F("initial_units")), name="stocklot_units_within_initial"),
            models.CheckConstraint(
                condition=Q(expires_on__gt=F("collected_on")), name="stocklot_expires_after_collected"
            ),
            models.UniqueConstraint(fields=["blood_bank", "lot_number"], name="stocklot_bank_lot_number_unique"),
        ]
        indexes = [
            # Usable-stock queries (summary, FEFO allocation, bank filter): one bank, group and
            # component, available lots only, by expiry.
            models.Index(
                fields=["blood_bank", "component", "blood_group", "expires_on"],
                condition=Q(status="available"),
                name="stocklot_usable",
            ),
            models.Index(fields=["status", "expires_on"], name="stocklot_status_expiry"),
        ]

    def __str__(self):
        return f"{self.lot_number} {self.blood_group} {self.component} ({self.units})"


class BloodRequest(Timestamped):
    Urgency = text_choices("Urgency", "routine urgent emergency")
    Status = text_choices("Status", "pending approved rejected fulfilled cancelled")

    # The lifecycle the services consult: any move not listed is a 409 (rejected, fulfilled and
    # cancelled are final).
    ALLOWED = transitions(
        Status,
        {
            Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
            Status.APPROVED: {Status.FULFILLED, Status.CANCELLED},
        },
    )

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="blood_requests")
    blood_bank = models.ForeignKey(BloodBank, on_delete=models.PROTECT, related_name="requests")
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="blood_requests"
    )
    patient_name = models.CharField(max_length=150)
    blood_group = models.CharField(max_length=3, choices=BloodGroup.choices, help_text="The recipient's group.")
    component = models.CharField(max_length=20, choices=Component.choices, default=Component.WHOLE_BLOOD)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    required_by = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=1000, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    rejection_reason = models.CharField(max_length=500, blank=True, default="")
    decided_by = user_reference()

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(units__gte=1), name="bloodrequest_units_positive")]
        indexes = [models.Index(fields=["blood_bank", "status"], name="bloodrequest_bank_status")]

    def __str__(self):
        return f"Request {self.pk}: {self.units} {self.blood_group} {self.component} ({self.status})"


class Allocation(models.Model):
    """Units of one lot reserved for one approved request. Kept after a cancel, marked returned."""

    request = models.ForeignKey(BloodRequest, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(StockLot, on_delete=models.PROTECT, related_name="allocations")
    units = models.PositiveIntegerField()
    returned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(units__gte=1), name="allocation_units_positive"),
            models.UniqueConstraint(fields=["request", "lot"], name="allocation_request_lot_unique"),
        ]

    def __str__(self):
        return f"{self.units} from lot {self.lot_id} for request {self.request_id}"


class Donation(models.Model):
    donor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="donations")
    blood_bank = models.ForeignKey(BloodBank, on_delete=models.PROTECT, related_name="donations")
    donated_on = models.DateField()
    blood_group = models.CharField(max_length=3, choices=BloodGroup.choices)
    component = models.CharField(max_length=20, choices=Component.choices, default=Component.WHOLE_BLOOD)
    units = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(10)])
    lot = models.OneToOneField(StockLot, on_delete=models.PROTECT, related_name="donation")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-donated_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(units__gte=1), name="donation_units_positive")]
        indexes = [models.Index(fields=["donor", "component", "donated_on"], name="donation_donor_component_date")]

    def __str__(self):
        return f"Donation {self.pk} by {self.donor_id} on {self.donated_on}"


# Import paths for the OpenAPI enum names (drf-spectacular cannot import nested classes).
StockLotStatus = StockLot.Status
BloodRequestStatus = BloodRequest.Status
BloodRequestUrgency = BloodRequest.Urgency
