"""Thin viewsets: permission, scoped queryset, input serializer, one service call, output serializer.

One module per sub-domain; every viewset is importable from here as before."""

from hospitals.views.beds import AdmissionViewSet, BedViewSet
from hospitals.views.hospitals import HospitalViewSet
from hospitals.views.structure import FloorViewSet, WardViewSet

__all__ = ["AdmissionViewSet", "BedViewSet", "FloorViewSet", "HospitalViewSet", "WardViewSet"]
