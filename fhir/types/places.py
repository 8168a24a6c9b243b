"""Organization (hospitals, blood banks) and Location (hospitals, wards, beds)."""

from bloodbank.models import BloodBank
from bloodbank.views import BloodBankViewSet
from hospitals.geo import DEFAULT_RADIUS_KM, nearest
from hospitals.models import Bed, Hospital, Ward
from hospitals.views import BedViewSet, HospitalViewSet, WardViewSet

from .. import mapping
from ..params import invalid
from .base import Part, ResourceType, SearchParam, reference_filter, scoped

# --- Organization ------------------------------------------------------------------------------------------


def _hospitals(ctx):
    return scoped(HospitalViewSet, ctx.request, Hospital.objects.order_by("id"))


def _hospital_part(render, filters=None) -> Part:
    """The hospitals as rows of a type: Organization and Location `hospital-{id}` differ in rendering only."""
    return Part(
        "hospital", _hospitals, lambda row, ctx: render(row), "updated_at", zone_field="timezone", filters=filters or {}
    )


ORGANIZATION = ResourceType(
    "Organization",
    [
        _hospital_part(mapping.organization_hospital),
        Part(
            "bloodbank",
            lambda ctx: scoped(
                BloodBankViewSet, ctx.request, BloodBank.objects.select_related("hospital").order_by("id")
            ),
            lambda row, ctx: mapping.organization_bloodbank(row),
            "updated_at",
            zone_field=None,  # a bank may belong to no hospital: server time
        ),
    ],
)


# --- Location ----------------------------------------------------------------------------------------------


def _near(values: list[str]) -> tuple[float, float, float]:
    text = values[-1]
    parts = text.split("|")
    message = "near is latitude|longitude|distance|km (distance and unit optional; default 50 km)."
    if len(parts) < 2 or len(parts) > 4:
        raise invalid("near", message)
    try:
        lat, lng = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else DEFAULT_RADIUS_KM
    except ValueError as exc:
        raise invalid("near", message) from exc
    unit = parts[3] if len(parts) > 3 and parts[3] else "km"
    if unit not in ("km", "[km]"):
        raise invalid("near", "near distances are in km.")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or not (0 < distance <= 20_000):
        raise invalid("near", "Latitude -90..90, longitude -180..180, distance above 0 and at most 20000 km.")
    return lat, lng, distance


def _hospital_near(queryset, values, ctx):
    lat, lng, distance = _near(values)
    return nearest(queryset, lat, lng, distance).order_by("id")


def _not_positioned(queryset, values, ctx):
    _near(values)  # validated all the same
    return queryset.none()


# The filters of the rows inside a hospital (wards, beds): their hospital's organization; no position.
WITHIN_HOSPITAL_FILTERS = {
    "organization": reference_filter("Organization", "hospital_id", "hospital", "organization"),
    "near": _not_positioned,
}


LOCATION = ResourceType(
    "Location",
    [
        _hospital_part(
            mapping.location_hospital,
            filters={
                "organization": reference_filter("Organization", "pk", "hospital", "organization"),
                "near": _hospital_near,
            },
        ),
        Part(
            "ward",
            lambda ctx: scoped(WardViewSet, ctx.request, Ward.objects.select_related("hospital").order_by("id")),
            lambda row, ctx: mapping.location_ward(row),
            "updated_at",
            filters=WITHIN_HOSPITAL_FILTERS,
        ),
        Part(
            "bed",
            lambda ctx: scoped(BedViewSet, ctx.request, Bed.objects.select_related("ward", "hospital").order_by("id")),
            lambda row, ctx: mapping.location_bed(row, ctx.now),
            "updated_at",
            filters=WITHIN_HOSPITAL_FILTERS,
        ),
    ],
    params=[
        SearchParam("organization", "reference", "The managing Organization (hospital-{id})."),
        SearchParam(
            "near",
            "special",
            "latitude|longitude|distance|km (default 50 km): hospitals within the distance (wards and beds "
            "carry no position).",
        ),
    ],
)
