from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.activity import ClinicalReadAuditMixin, ExportMixin
from bloodbank import selectors, serializers, services
from bloodbank.filters import BloodBankFilter, BloodRequestFilter, DonationFilter, StockLotFilter
from bloodbank.models import Allocation, BloodBank, BloodRequest, Donation, StockLot
from bloodbank.permissions import IsBankManager
from hms.api.actions import ReadBackMixin, create_action, step_action
from hms.api.idempotency import idempotent
from hms.api.permissions import IsAdminRole, has_role
from hms.api.rawrows import page_response, plain_page
from hms.api.roles import Role
from hms.api.scoping import ScopedQuerysetMixin, sees_deactivated, visibility_scope
from hms.api.steps import StepMixin
from hms.api.viewsets import CreateListRetrieveViewSet, DeactivateMixin, ServiceWriteMixin


@extend_schema(tags=["blood bank"])
class BloodBankViewSet(
    ServiceWriteMixin,
    DeactivateMixin,
    ScopedQuerysetMixin,
    viewsets.ModelViewSet,
):
    """Blood banks. Public read (active banks; admin sees all); created and deactivated by admin;
    managed by admin and the admin of the bank's hospital. DELETE deactivates (204)."""

    queryset = BloodBank.objects.all()
    public_read, active_lookups = True, ("is_active",)
    filterset_class = BloodBankFilter
    search_fields = ["name", "city", "license_number"]
    ordering_fields = ["id", "name", "city"]
    input_serializer_class = serializers.BloodBankIn
    output_serializer_class = serializers.BloodBankOut
    row_object = "bank"
    row_services = {
        "create": services.blood_bank_create,
        "update": services.blood_bank_update,
        "deactivate": services.blood_bank_deactivate,
    }

    def get_permissions(self):
        if self.action in ("create", "destroy"):
            return [IsAdminRole()]
        if self.action in ("update", "partial_update") or (self.action == "stock" and self.request.method == "POST"):
            return [IsBankManager()]
        return [AllowAny()]

    def list(self, request, *args, **kwargs):
        # The list every client polls (and /bloodbank/all) asks for nothing but a page: one query for
        # the page and its count, rows written without a serializer per row. Anything else: the generic list.
        page = plain_page(self, request)
        if page is not None:
            number, size = page
            count, rows = selectors.bank_page(
                active_only=not sees_deactivated(request.user), limit=size, offset=(number - 1) * size
            )
            if count is not None or number == 1:
                return page_response(self, request, number=number, count=count or 0, results=rows)
        return super().list(request, *args, **kwargs)

    @extend_schema(
        methods=["GET"],
        summary="Usable stock per blood group and component",
        responses={200: serializers.StockSummaryOut},
    )
    @extend_schema(
        methods=["POST"],
        summary="Receive a stock lot (bank managers)",
        request=serializers.StockLotIn,
        responses={201: serializers.StockLotOut},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def stock(self, request, pk=None):
        """GET: usable units (available, expiring after today) per group and component. POST: add a lot."""
        if request.method == "GET":
            try:
                bank_id = int(pk)
            except ValueError:
                raise NotFound from None
            if not 0 < bank_id < 2**63:  # no row has it (and no 64-bit overflow in a driver)
                raise NotFound
            # This viewset's scope (active banks; every bank for administrators), checked by the
            # summary's own query.
            summary = selectors.stock_summary(
                bank_id=bank_id,
                active_only=not sees_deactivated(request.user),
                cache_scope=visibility_scope(request.user),
            )
            if summary is None:
                raise NotFound
            return Response(summary)
        bank = self.get_object()
        data = serializers.StockLotIn(data=request.data)
        data.is_valid(raise_exception=True)
        lot = services.stock_add(by=request.user, bank=bank, **data.validated_data)
        return Response(serializers.StockLotOut(lot).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["blood bank"])
@extend_schema_view(
    list=extend_schema(
        summary="Stock lots of a blood bank (its managers)",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The blood bank's id.")],
    )
)
class StockLotViewSet(ExportMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every lot of one blood bank, whatever its status (the stock summary counts usable units only):
    admin and the admin of the bank's hospital; other roles 403; a bank the caller cannot see 404."""

    queryset = StockLot.objects.all()
    serializer_class = serializers.StockLotOut
    permission_classes = [IsBankManager]
    filterset_class = StockLotFilter
    ordering_fields = ["id", "expires_on", "collected_on", "units"]
    export_name = "stock_lots"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StockLot.objects.none()
        # The route's `pk` is the bank's (blood-banks/{id}/lots): a bank hidden from the caller is 404,
        # another hospital's bank 403 (banks are public).
        banks = (
            BloodBank.objects.all() if sees_deactivated(self.request.user) else BloodBank.objects.filter(is_active=True)
        )
        pk = self.kwargs["pk"]
        bank = get_object_or_404(banks, pk=int(pk)) if pk.isascii() and pk.isdigit() and len(pk) <= 18 else None
        if bank is None:
            raise NotFound
        self.check_object_permissions(self.request, bank)
        return super().get_queryset().filter(blood_bank_id=bank.pk)


@extend_schema(tags=["blood bank"])
class BloodRequestViewSet(
    ClinicalReadAuditMixin,
    ScopedQuerysetMixin,
    StepMixin,
    ReadBackMixin,
    CreateListRetrieveViewSet,
):
    """Blood requests. Any signed-in user creates; visible to the requester, the bank's managers and
    admin (others 404). Approve, reject and fulfil: bank managers; cancel: the requester or managers."""

    queryset = BloodRequest.objects.select_related("blood_bank").prefetch_related(
        Prefetch("allocations", queryset=Allocation.objects.select_related("lot").order_by("id"))
    )
    serializer_class = serializers.BloodRequestOut
    permission_classes = [IsAuthenticated]
    filterset_class = BloodRequestFilter
    search_fields = ["patient_name"]
    ordering_fields = ["id", "created_at", "required_by", "units"]
    owner_lookups = ("requester",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "blood_bank__hospital_id"}
    audit_object_type = "blood_request"
    audit_patient_field = "requester_id"
    step_object = "blood_request"

    create = create_action(
        "blood-request-create",
        serializers.BloodRequestIn,
        responses={201: serializers.BloodRequestOut},
    )

    def create_row(self, values):
        return services.blood_request_create(by=self.request.user, data=dict(values))

    approve = step_action(
        "approve",
        services.blood_request_approve,
        check=services.blood_request_require_manager,
        responses={200: serializers.BloodRequestOut},
        description="Allocate all units from usable compatible lots (own group first, then FEFO), or 409 "
        "stating what is available, with nothing reserved.",
    )
    reject = step_action(
        "reject",
        services.blood_request_reject,
        serializers.RejectIn,
        check=services.blood_request_require_manager,
        responses={200: serializers.BloodRequestOut},
    )
    fulfil = step_action(
        "fulfil",
        services.blood_request_fulfil,
        check=services.blood_request_require_manager,
        responses={200: serializers.BloodRequestOut},
    )
    cancel = step_action(
        "cancel",
        services.blood_request_cancel,
        check=services.blood_request_require_canceller,
        responses={200: serializers.BloodRequestOut},
        description="Pending or approved only; an approved request returns its units to their lots.",
    )


@extend_schema(tags=["blood bank"])
class DonationViewSet(
    ScopedQuerysetMixin,
    CreateListRetrieveViewSet,
):
    """Donations. Recorded by a manager of the bank (creates the stock lot); a donor sees its own,
    a hospital admin those of its hospital's banks, admin all."""

    queryset = Donation.objects.all()
    serializer_class = serializers.DonationOut
    filterset_class = DonationFilter
    ordering_fields = ["id", "donated_on"]
    owner_lookups = ("donor",)
    hospital_lookups = {Role.HOSPITAL_ADMIN: "blood_bank__hospital_id"}

    def get_permissions(self):
        if self.action == "create":
            return [has_role(Role.ADMIN, Role.HOSPITAL_ADMIN)()]
        if self.action == "eligibility":
            return [has_role(Role.DONOR)()]
        return [IsAuthenticated()]

    @idempotent(
        "donation-create",
        request=serializers.DonationIn,
        responses={201: serializers.DonationOut},
    )
    def create(self, request, *args, **kwargs):
        data = serializers.DonationIn(data=request.data)
        data.is_valid(raise_exception=True)
        donation = services.donation_record(by=request.user, **data.validated_data)
        return Response(serializers.DonationOut(donation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: serializers.EligibilityOut},
        description="For the signed-in donor: whole blood needs 56 days between donations.",
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def eligibility(self, request):
        return Response(serializers.EligibilityOut(services.donor_eligibility(donor=request.user)).data)
