from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from accounts.models import BloodGroup, User
from bloodbank.models import Allocation, BloodBank, BloodRequest, Component, Donation, StockLot
from hms.api.serializers import (
    PlaceModelSerializer,
    ReadOnlyModelSerializer,
)
from hospitals.models import Hospital

LOT_NUMBER_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
    "Use letters, digits and . _ / - only, starting with a letter or digit.",
    code="invalid",
)

# --- Blood banks -----------------------------------------------------------------------------

BLOOD_BANK_FIELDS = [
    "id",
    "name",
    "hospital_id",
    "license_number",
    "address",
    "city",
    "latitude",
    "longitude",
    "phone",
    "email",
    "is_active",
    "low_stock_threshold",
    "created_at",
    "updated_at",
]


class BloodBankOut(ReadOnlyModelSerializer):
    distance_km = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Distance from `near`; null without it."
    )

    class Meta:
        model = BloodBank
        fields = [*BLOOD_BANK_FIELDS, "distance_km"]


class BloodBankIn(PlaceModelSerializer):
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=Hospital.objects.filter(is_active=True),
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": "No active hospital with id {pk_value}."},
    )
    license_number = serializers.CharField(
        max_length=64,
        validators=[
            UniqueValidator(queryset=BloodBank.objects.all(), message="A blood bank with this licence exists.")
        ],
    )
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)

    class Meta:
        model = BloodBank
        fields = [field for field in BLOOD_BANK_FIELDS if field not in ("id", "created_at", "updated_at")]


# --- Stock -----------------------------------------------------------------------------------


class StockLotIn(serializers.Serializer):
    blood_group = serializers.ChoiceField(choices=BloodGroup.choices)
    component = serializers.ChoiceField(choices=Component.choices, default=Component.WHOLE_BLOOD)
    units = serializers.IntegerField(min_value=1, max_value=10000)
    collected_on = serializers.DateField(required=False, help_text="Defaults to today; not in the future.")
    expires_on = serializers.DateField(
        required=False, help_text="Defaults to collected_on + the component's shelf life; must be after today."
    )
    lot_number = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        validators=[LOT_NUMBER_VALIDATOR],
        help_text="Unique within the bank; generated when left out.",
    )


class StockLotOut(ReadOnlyModelSerializer):
    class Meta:
        model = StockLot
        fields = ["id", "blood_bank_id", *StockLot.CONTENT_FIELDS, "lot_number", "status", "created_at"]


class StockSummaryItemOut(serializers.Serializer):
    blood_group = serializers.ChoiceField(choices=BloodGroup.choices)
    component = serializers.ChoiceField(choices=Component.choices)
    units = serializers.IntegerField(help_text="Usable units (available, expiring after today).")
    lots = serializers.IntegerField(help_text="Usable lots holding them.")
    next_expiry = serializers.DateField(help_text="The earliest expiry among them.")


class StockSummaryOut(serializers.Serializer):
    blood_bank_id = serializers.IntegerField()
    as_of = serializers.DateTimeField()
    items = StockSummaryItemOut(many=True)


# --- Blood requests --------------------------------------------------------------------------


class AllocationOut(ReadOnlyModelSerializer):
    lot_number = serializers.CharField(source="lot.lot_number", read_only=True)
    blood_group = serializers.ChoiceField(source="lot.blood_group", choices=BloodGroup.choices, read_only=True)
    expires_on = serializers.DateField(source="lot.expires_on", read_only=True)

    class Meta:
        model = Allocation
        fields = ["lot_id", "lot_number", "blood_group", "units", "expires_on", "returned"]


class BloodRequestOut(ReadOnlyModelSerializer):
    allocations = AllocationOut(many=True, read_only=True)

    class Meta:
        model = BloodRequest
        fields = [
            "id",
            "requester_id",
            "blood_bank_id",
            "hospital_id",
            "patient_name",
            "blood_group",
            "component",
            "units",
            "urgency",
            "required_by",
            "reason",
            "status",
            "rejection_reason",
            "allocations",
            "created_at",
            "updated_at",
        ]


class BloodRequestIn(serializers.Serializer):
    blood_bank_id = serializers.PrimaryKeyRelatedField(
        source="blood_bank",
        queryset=BloodBank.objects.all(),
        error_messages={"does_not_exist": "No blood bank with id {pk_value}."},
    )
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=Hospital.objects.all(),
        allow_null=True,
        required=False,
        error_messages={"does_not_exist": "No hospital with id {pk_value}."},
    )
    patient_name = serializers.CharField(max_length=150)
    blood_group = serializers.ChoiceField(choices=BloodGroup.choices, help_text="The recipient's blood group.")
    component = serializers.ChoiceField(choices=Component.choices, default=Component.WHOLE_BLOOD)
    units = serializers.IntegerField(min_value=1, max_value=100)
    urgency = serializers.ChoiceField(choices=BloodRequest.Urgency.choices, default=BloodRequest.Urgency.ROUTINE)
    required_by = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    def validate_required_by(self, value):
        if value is not None and value < timezone.now():
            raise serializers.ValidationError("required_by cannot be in the past.")
        return value


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


# --- Donations -------------------------------------------------------------------------------


class DonationIn(serializers.Serializer):
    donor_id = serializers.PrimaryKeyRelatedField(
        source="donor",
        queryset=User.objects.filter(role=User.Role.DONOR, is_active=True),
        error_messages={"does_not_exist": "No active donor account with id {pk_value}."},
    )
    blood_bank_id = serializers.PrimaryKeyRelatedField(
        source="bank",
        queryset=BloodBank.objects.all(),
        error_messages={"does_not_exist": "No blood bank with id {pk_value}."},
    )
    donated_on = serializers.DateField(required=False, help_text="Defaults to today; not in the future.")
    blood_group = serializers.ChoiceField(
        choices=BloodGroup.choices, required=False, help_text="Defaults to the donor's recorded blood group."
    )
    component = serializers.ChoiceField(choices=Component.choices, default=Component.WHOLE_BLOOD)
    units = serializers.IntegerField(min_value=1, max_value=10, default=1)
    expires_on = serializers.DateField(required=False, help_text="Defaults to donated_on + shelf life.")
    lot_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, validators=[LOT_NUMBER_VALIDATOR]
    )


class DonationOut(ReadOnlyModelSerializer):
    class Meta:
        model = Donation
        fields = [
            "id",
            "donor_id",
            "blood_bank_id",
            "donated_on",
            "blood_group",
            "component",
            "units",
            "lot_id",
            "created_at",
        ]


class EligibilityOut(serializers.Serializer):
    eligible = serializers.BooleanField(help_text="May give whole blood today.")
    last_donation = serializers.DateField(allow_null=True, help_text="Date of the last whole-blood donation.")
    next_eligible_on = serializers.DateField(help_text="First day a whole-blood donation is allowed (56-day gap).")
