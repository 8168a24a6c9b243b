from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.permissions import IsAuthenticated

from accounts.activity import ClinicalReadAuditMixin, ExportMixin
from hms.api.actions import ReadBackMixin, create_action, step_action
from hms.api.permissions import has_role
from hms.api.roles import STAFF_ROLES, Role
from hms.api.scoping import ScopedQuerysetMixin
from hms.api.steps import StepMixin
from hms.api.viewsets import CreateListRetrieveViewSet
from transfers import serializers, services
from transfers.filters import ReferralFilter
from transfers.models import Referral, ReferralEvent

# Admins, and the hospital admins and doctors of a hospital, act on referrals; which hospital (origin or
# destination) each step needs is the service's rule (403, asked before the body is read).
ActsOnReferrals = has_role(Role.ADMIN, Role.HOSPITAL_ADMIN, Role.DOCTOR)
NOT_FOUND = OpenApiResponse(description="No such referral, or not visible to the caller.")
FORBIDDEN = OpenApiResponse(description="The caller's role or hospital may not take this step.")
CONFLICT = OpenApiResponse(description="The step is not legal now (see the codes in the description).")
# Every step (accept, reject, dispatch, complete, cancel) answers the referral, or one of these refusals.
STEP_RESPONSES = {200: serializers.ReferralOut, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}


@extend_schema_view(
    list=extend_schema(summary="Referrals the caller may see (both hospitals' staff, the patient, admin)"),
    retrieve=extend_schema(
        summary="One referral with its events", responses={200: serializers.ReferralOut, 404: NOT_FOUND}
    ),
)
@extend_schema(tags=["referrals"])
class ReferralViewSet(
    ExportMixin,
    ClinicalReadAuditMixin,
    ScopedQuerysetMixin,
    StepMixin,
    ReadBackMixin,
    CreateListRetrieveViewSet,
):
    """Inter-hospital referrals: requested by the origin, accepted (with a bed reserved) or rejected by the
    destination, carried by an ambulance, completed by admitting at the destination; cancellable while open.

    Visible to the staff of both hospitals, the patient and admins; anyone else gets 404. Never deleted.
    """

    queryset = Referral.objects.prefetch_related(
        Prefetch("events", queryset=ReferralEvent.objects.order_by("at", "id"))
    )
    serializer_class = serializers.ReferralOut
    owner_lookups = ("patient_id",)
    hospital_lookups = dict.fromkeys(STAFF_ROLES, ("from_hospital_id", "to_hospital_id"))
    filterset_class = ReferralFilter
    search_fields = ["reason"]
    ordering_fields = ["id", "created_at", "updated_at", "status", "urgency"]
    ordering = ["-created_at", "-id"]
    audit_object_type = "referral"
    export_name = "referrals"
    export_window = (("from",), ("to",))
    step_object = "referral"

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [IsAuthenticated()]
        return [ActsOnReferrals()]

    create = create_action(
        "referral-create",
        serializers.ReferralIn,
        summary="Refer a patient to another hospital (the origin's hospital admin or doctors, admin)",
        description=(
            "`from_hospital_id` defaults to the caller's hospital (an admin names it); staff of another "
            "hospital: 403. The destination is another active hospital (the same: 400 `same_hospital`). "
            "The patient need not be admitted at the origin (an outpatient can be referred), but one "
            "admitted at a third hospital cannot be (409 `admitted_elsewhere`); a patient with an open "
            "referral: 409 `referral_open`."
        ),
        responses={201: serializers.ReferralOut, 403: FORBIDDEN, 409: CONFLICT},
    )

    def create_row(self, values):
        return services.referral_request(by=self.request.user, **values)

    accept = step_action(
        "accept",
        services.referral_accept,
        serializers.AcceptIn,
        check=services.referral_require_destination_admin,
        summary="Accept, holding a bed at the destination (the destination's hospital admin, admin)",
        description=(
            "requested -> accepted. Reserves, in the same transaction, the given bed (unknown: 404; "
            "another hospital's: 400 `hospital_mismatch`; another bed type: 400 `bed_type_mismatch`; not "
            "free: 409 `bed_occupied`, `bed_reserved` or `bed_unavailable`) or the first free bed of the "
            "referral's `bed_type` at the destination (none: 409 `no_bed`) for the patient, for 24 hours. "
            "Any other status: 409 `illegal_transition`."
        ),
        responses=STEP_RESPONSES,
    )
    reject = step_action(
        "reject",
        services.referral_reject,
        serializers.ReasonIn,
        check=services.referral_require_destination_admin,
        summary="Decline a requested referral (the destination's hospital admin, admin)",
        description="requested -> rejected; any other status: 409 `illegal_transition`.",
        responses=STEP_RESPONSES,
    )
    dispatch_ambulance = step_action(
        "dispatch_ambulance",
        services.referral_dispatch,
        serializers.DispatchIn,
        check=services.referral_require_either_side,
        url_path="dispatch",
        summary="Send an ambulance (either hospital's admin or doctors, admin)",
        description=(
            "accepted -> in_transit. The given ambulance of either hospital (unknown: 404; another "
            "hospital's: 400 `hospital_mismatch`; not available: 409 `ambulance_busy` or "
            "`ambulance_unavailable`), or the available ambulance of either hospital nearest the origin "
            "(none: 409 `no_ambulance_available`). The ambulance is busy until the referral is completed "
            "or cancelled. Any other status: 409 `illegal_transition`."
        ),
        responses=STEP_RESPONSES,
    )
    complete = step_action(
        "complete",
        services.referral_complete,
        check=services.referral_require_destination_staff,
        summary="Admit the patient at the destination (the destination's hospital admin or doctors, admin)",
        description=(
            "in_transit -> completed, in one transaction: the patient's admission at the origin (if any) is "
            "discharged, the patient admitted on the reserved bed (the reservation is used), the ambulance "
            "freed. The bed taken meanwhile (the reservation lapsed): 409 `bed_occupied`, `bed_reserved` or "
            "`bed_unavailable`; the patient admitted elsewhere: 409 `already_admitted`. Any other status: "
            "409 `illegal_transition`."
        ),
        responses=STEP_RESPONSES,
    )
    cancel = step_action(
        "cancel",
        services.referral_cancel,
        serializers.ReasonIn,
        check=services.referral_require_either_side,
        summary="Cancel an open referral (either hospital's admin or doctors, admin)",
        description=(
            "requested, accepted or in_transit -> cancelled: the reserved bed is released and the "
            "ambulance freed. A rejected, completed or cancelled referral: 409 `illegal_transition`."
        ),
        responses=STEP_RESPONSES,
    )
