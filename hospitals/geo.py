"""Great-circle distance in SQL, with a bounding-box pre-filter so `near` never scans every row.

Used by hospitals, blood banks and emergencies (nearest hospital / ambulance). The functions
(ACos, Cos, Sin, Radians) exist on PostgreSQL and on Django's SQLite backend alike.
"""

import math

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import CheckConstraint, F, FloatField, Func, Q
from rest_framework import serializers

EARTH_RADIUS_KM = 6371.0088
DEFAULT_RADIUS_KM = 50.0


def parse_point(value: str) -> tuple[float, float]:
    """'18.52,73.85' -> (18.52, 73.85); raises serializers.ValidationError on bad input."""
    try:
        lat_text, lng_text = str(value).split(",")
        lat, lng = float(lat_text), float(lng_text)
    except (ValueError, TypeError) as exc:
        raise serializers.ValidationError("Expected '<latitude>,<longitude>'.", code="invalid") from exc
    if not (math.isfinite(lat) and math.isfinite(lng)) or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise serializers.ValidationError(
            "Latitude must be within -90..90 and longitude within -180..180.", code="invalid"
        )
    return lat, lng


def coordinate_fields() -> tuple[FloatField, FloatField]:
    """A place's optional latitude (-90..90) and longitude (-180..180), in that order: the form and
    serializer side of `coordinate_constraints`, which the place's Meta declares under its own prefix."""
    return (
        FloatField(null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]),
        FloatField(null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]),
    )


def coordinate_constraints(prefix: str, *, paired: bool = False) -> list[CheckConstraint]:
    """A row's latitude within -90..90 and longitude within -180..180 when given (`<prefix>_latitude_range`,
    `<prefix>_longitude_range`); `paired`: either both given or neither (`<prefix>_coordinates_paired`)."""
    constraints = [
        CheckConstraint(
            condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
            name=f"{prefix}_latitude_range",
        ),
        CheckConstraint(
            condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
            name=f"{prefix}_longitude_range",
        ),
    ]
    if paired:
        constraints.append(
            CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name=f"{prefix}_coordinates_paired",
            )
        )
    return constraints


def bounding_box(lat: float, lng: float, radius_km: float, lat_field="latitude", lng_field="longitude") -> Q:
    """Rows inside the box around the circle (cheap, index-friendly); exact distance is filtered after."""
    lat_delta = math.degrees(radius_km / EARTH_RADIUS_KM)
    condition = Q(**{f"{lat_field}__gte": lat - lat_delta, f"{lat_field}__lte": lat + lat_delta})
    cos_lat = math.cos(math.radians(lat))
    if cos_lat > 1e-6:
        lng_delta = math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat))
        if lng_delta < 180:
            low, high = lng - lng_delta, lng + lng_delta
            if low < -180:
                condition &= Q(**{f"{lng_field}__gte": low + 360}) | Q(**{f"{lng_field}__lte": high})
            elif high > 180:
                condition &= Q(**{f"{lng_field}__gte": low}) | Q(**{f"{lng_field}__lte": high - 360})
            else:
                condition &= Q(**{f"{lng_field}__gte": low, f"{lng_field}__lte": high})
    return condition


class GreatCircleKm(Func):
    """Distance in km from a fixed point to the row's (lat_field, lng_field): the spherical law of
    cosines, clamped to [-1, 1] so rounding never leaves acos' domain.

    One expression node whose constants are query parameters: Django resolves and compiles it twice
    per list (count and page), and a tree of ~15 nodes cost more than the rest of the query building.
    """

    output_field = FloatField()
    arity = 2

    def __init__(self, lat_field: str, lng_field: str, *, lat: float, lng: float):
        super().__init__(F(lat_field), F(lng_field))
        self.lat, self.lng = lat, lng

    def as_sql(self, compiler, connection, **extra_context):
        lat_sql, lat_params = compiler.compile(self.source_expressions[0])
        lng_sql, lng_params = compiler.compile(self.source_expressions[1])
        # SQLite's two-argument MAX/MIN are scalar functions (Django registers ACOS, SIN, ... there).
        greatest, least = ("MAX", "MIN") if connection.vendor == "sqlite" else ("GREATEST", "LEAST")
        sql = (
            f"(ACOS({greatest}(-1.0, {least}(1.0, %s * SIN(RADIANS({lat_sql})) + "
            f"%s * COS(RADIANS({lat_sql})) * COS(RADIANS({lng_sql}) - %s)))) * %s)"
        )
        lat_rad = math.radians(self.lat)
        params = [
            math.sin(lat_rad),
            *lat_params,
            math.cos(lat_rad),
            *lat_params,
            *lng_params,
            math.radians(self.lng),
            EARTH_RADIUS_KM,
        ]
        return sql, params


def distance_km_expression(lat: float, lng: float, lat_field="latitude", lng_field="longitude"):
    """Great-circle distance in km from (lat, lng) to the row's coordinates, as an SQL expression."""
    return GreatCircleKm(lat_field, lng_field, lat=lat, lng=lng)


def nearest(
    queryset, lat: float, lng: float, radius_km: float = DEFAULT_RADIUS_KM, lat_field="latitude", lng_field="longitude"
):
    """Rows within radius_km, annotated with `distance_km`, nearest first."""
    return (
        queryset.filter(bounding_box(lat, lng, radius_km, lat_field, lng_field))
        .annotate(distance_km=distance_km_expression(lat, lng, lat_field, lng_field))
        .filter(distance_km__lte=radius_km)
        .order_by("distance_km", "pk")
    )
