"""Encounter (visits and admissions) and MedicationRequest (prescriptions)."""

from django.db.models.functions import Coalesce

from appointments.models import Prescription, Visit
from appointments.views import VisitViewSet
from hospitals.models import Admission
from hospitals.views import AdmissionViewSet

from .. import mapping
from .base import Part, ResourceType, SearchParam, date_filter, reference_filter, scoped

# --- Encounter, MedicationRequest ------------------------------------------------------------------------


def _visits(ctx):
    return scoped(VisitViewSet, ctx.request, Visit.objects.select_related("hospital").order_by("id"))


def _admissions(ctx):
    queryset = Admission.objects.select_related("hospital").alias(last_updated=Coalesce("discharged_at", "admitted_at"))
    return scoped(AdmissionViewSet, ctx.request, queryset.order_by("id"))


ENCOUNTER = ResourceType(
    "Encounter",
    [
        Part(
            "visit",
            _visits,
            lambda row, ctx: mapping.encounter_visit(row),
            "created_at",
            filters={
                "patient": reference_filter("Patient", "patient_id", parameter="patient"),
                "date": date_filter("date", "visited_at"),
            },
            audit_type="visit",
        ),
        Part(
            "admission",
            _admissions,
            lambda row, ctx: mapping.encounter_admission(row),
            "last_updated",  # as meta.lastUpdated: the discharge, else the admission
            filters={
                "patient": reference_filter("Patient", "patient_id", parameter="patient"),
                "date": date_filter("date", "admitted_at"),
            },
            audit_type="admission",
        ),
    ],
    params=[
        SearchParam("patient", "reference", "Patient/{id}."),
        SearchParam(
            "date", "date", "Start of the encounter (visit time, admission time); hospital-local without offset."
        ),
    ],
    clinical=True,
)


def _prescriptions(ctx):
    visits = _visits(ctx).values("pk")
    return Prescription.objects.select_related("visit__hospital").filter(visit__in=visits).order_by("id")


MEDICATION_REQUEST = ResourceType(
    "MedicationRequest",
    [
        Part(
            None,
            _prescriptions,
            lambda row, ctx: mapping.medication_request(row, ctx.now),
            "visit__created_at",
            zone_field="visit__hospital__timezone",
            filters={
                "patient": reference_filter("Patient", "visit__patient_id", parameter="patient"),
                "encounter": reference_filter("Encounter", "visit_id", "visit", "encounter"),
            },
            audit_type="prescription",
            audit_patient="visit__patient_id",
        )
    ],
    params=[
        SearchParam("patient", "reference", "Patient/{id}."),
        SearchParam("encounter", "reference", "Encounter/visit-{id}."),
    ],
    clinical=True,
)
