"""Doctors: the public profile, creation with a new or an existing account, edits."""

from rest_framework import serializers

from accounts.models import User
from accounts.serializers import StaffAccountIn
from appointments.models import Doctor
from hms.api.permissions import role_of
from hms.api.rawrows import Representation
from hms.api.roles import Role
from hms.api.serializers import ModelSerializer, ReadOnlyModelSerializer
from hospitals.models import Hospital


class DoctorBriefOut(ReadOnlyModelSerializer):
    fullname = serializers.CharField(source="user.fullname", read_only=True)

    class Meta:
        model = Doctor
        fields = ["id", "fullname", "specialization", "department"]


def doctor_brief_row(row: dict) -> dict:
    """What DoctorBriefOut writes for the doctor of a `.values()` row with `doctor_id`,
    `doctor__user__fullname`, `doctor__specialization` and `doctor__department` (none of them null)."""
    return {
        "id": row["doctor_id"],
        "fullname": row["doctor__user__fullname"],
        "specialization": row["doctor__specialization"],
        "department": row["doctor__department"],
    }


DOCTOR_PROFILE_FIELDS = [
    "specialization",
    "department",
    "qualification",
    "license_number",
    "experience_years",
    "consultation_fee",
    "is_available",
]


class DoctorOut(ReadOnlyModelSerializer):
    fullname = serializers.CharField(source="user.fullname", read_only=True)

    class Meta:
        model = Doctor
        fields = ["id", "user_id", "hospital_id", "fullname", *DOCTOR_PROFILE_FIELDS]


# DoctorOut's list rows from these `.values()` columns (doctor_list_out), in DoctorOut's field order: a page
# without a model instance and a serializer per row.
DOCTOR_LIST_COLUMNS = ("id", "user_id", "hospital_id", "user__fullname", *DOCTOR_PROFILE_FIELDS)
_DOCTOR_OUT = Representation(DoctorOut, ["id", "user_id", "hospital_id", "fullname", *DOCTOR_PROFILE_FIELDS])


def doctor_list_row(row: dict) -> dict:
    """What DoctorOut writes for a doctor, from its DOCTOR_LIST_COLUMNS (each field's own `to_representation`)."""
    return _DOCTOR_OUT([row[name] for name in DOCTOR_LIST_COLUMNS])


class DoctorCreateIn(ModelSerializer):
    """Exactly one of `user` (a new account) or `user_id` (an existing patient, donor or doctor account)."""

    user = StaffAccountIn(required=False, help_text="A new login account for the doctor.")
    user_id = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, help_text="An existing account to make a doctor."
    )
    hospital_id = serializers.PrimaryKeyRelatedField(
        source="hospital",
        queryset=Hospital.objects.filter(is_active=True),
        required=False,
        help_text="Required for an administrator; a hospital admin's own hospital by default.",
    )

    class Meta:
        model = Doctor
        fields = ["user", "user_id", "hospital_id", *DOCTOR_PROFILE_FIELDS]

    def validate(self, attrs):
        if ("user" in attrs) == ("user_id" in attrs):
            raise serializers.ValidationError(
                {"user": ["Give either `user` (a new account) or `user_id` (an existing one)."]}, code="required"
            )
        if "hospital" not in attrs:
            by = self.context["request"].user
            if role_of(by) == Role.HOSPITAL_ADMIN and by.hospital is not None:
                attrs["hospital"] = by.hospital
            else:
                raise serializers.ValidationError({"hospital_id": ["This field is required."]}, code="required")
        return attrs


class DoctorUpdateIn(ModelSerializer):
    """Profile fields only; the account is edited through /users and the hospital never changes."""

    class Meta:
        model = Doctor
        fields = DOCTOR_PROFILE_FIELDS
