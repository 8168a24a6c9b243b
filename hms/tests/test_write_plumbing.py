"""Plumbing written once in hms.api (issue 15): answer serializers (ReadOnlyModelSerializer) and the
POST/PUT/PATCH/DELETE flow of the viewsets whose writes are one service call (ServiceWriteMixin,
DeactivateMixin)."""

import pytest
from rest_framework import serializers

from bloodbank.models import BloodRequest
from bloodbank.serializers import BloodRequestOut
from bloodbank.views import BloodBankViewSet
from hms.api.viewsets import DeactivateMixin, OutputSchema, ServiceWriteMixin
from hospitals.models import Admission
from hospitals.serializers import AdmissionOut
from hospitals.views.beds import BedViewSet
from hospitals.views.hospitals import HospitalViewSet
from hospitals.views.structure import FloorViewSet, WardViewSet


def test_answer_fields_are_all_read_only():
    for serializer_class in (BloodRequestOut, AdmissionOut):
        fields = serializer_class().fields
        assert list(fields) == list(serializer_class.Meta.fields)
        assert all(field.read_only for field in fields.values())


@pytest.mark.parametrize(
    ("serializer_class", "column", "nullable"),
    [
        (BloodRequestOut, "requester_id", False),
        (BloodRequestOut, "blood_bank_id", False),
        (BloodRequestOut, "hospital_id", True),
        (AdmissionOut, "bed_id", False),
        (AdmissionOut, "patient_id", True),
    ],
)
def test_a_foreign_key_listed_by_its_column_is_an_integer_null_where_the_key_may_be(serializer_class, column, nullable):
    field = serializer_class().fields[column]
    assert type(field) is serializers.IntegerField
    assert field.read_only and field.allow_null is nullable
    model = serializer_class.Meta.model
    assert model in (BloodRequest, Admission)
    assert next(f for f in model._meta.concrete_fields if f.attname == column).null is nullable


def test_the_write_viewsets_share_one_flow_and_one_schema_rule():
    for viewset in (FloorViewSet, WardViewSet, BedViewSet, HospitalViewSet):
        assert issubclass(viewset, ServiceWriteMixin)
        assert isinstance(viewset.schema, OutputSchema)
        assert viewset.output_serializer_class is not None
        # One PUT/PATCH: nobody writes its own again.
        assert "update" not in vars(viewset) and "partial_update" not in vars(viewset)
    # DELETE that deactivates, written once.
    assert issubclass(BloodBankViewSet, DeactivateMixin) and "destroy" not in vars(BloodBankViewSet)
