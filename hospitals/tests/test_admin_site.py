"""The Django admin for hospitals, floors, wards (beds inline), beds and read-only admissions."""

import pytest

from hospitals.models import Bed
from hospitals.tests.factories import AdmissionFactory, BedFactory, WardFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["hospital", "floor", "ward", "bed", "admission"])
def test_changelists_load(admin_site, model, hospital):
    AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    response = admin_site.get(f"/admin/hospitals/{model}/")
    assert response.status_code == 200


def test_admissions_are_read_only_in_admin(admin_site, hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    assert admin_site.get("/admin/hospitals/admission/add/").status_code == 403
    assert admin_site.get(f"/admin/hospitals/admission/{admission.pk}/delete/").status_code == 403
    view = admin_site.get(f"/admin/hospitals/admission/{admission.pk}/change/")
    assert view.status_code == 200 and b'name="_save"' not in view.content


def test_ward_page_adds_beds_inline_with_the_wards_hospital(admin_site, hospital):
    ward = WardFactory(hospital=hospital)
    form = {
        "hospital": hospital.pk,
        "floor": ward.floor_id,
        "name": ward.name,
        "ward_number": ward.ward_number,
        "ward_type": ward.ward_type,
        "beds-TOTAL_FORMS": "1",
        "beds-INITIAL_FORMS": "0",
        "beds-MIN_NUM_FORMS": "0",
        "beds-MAX_NUM_FORMS": "1000",
        "beds-0-bed_number": "INL-1",
        "beds-0-ward": ward.pk,
    }
    response = admin_site.post(f"/admin/hospitals/ward/{ward.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    bed = Bed.objects.get(bed_number="INL-1")
    assert bed.ward_id == ward.pk and bed.hospital_id == hospital.pk and bed.status == "available"


def test_ward_form_rejects_a_floor_of_another_hospital(admin_site, hospital, other_hospital):
    foreign_floor = WardFactory(hospital=other_hospital).floor
    response = admin_site.post(
        "/admin/hospitals/ward/add/",
        {
            "hospital": hospital.pk,
            "floor": foreign_floor.pk,
            "name": "Wrong floor",
            "ward_type": "general",
            "beds-TOTAL_FORMS": "0",
            "beds-INITIAL_FORMS": "0",
            "beds-MIN_NUM_FORMS": "0",
            "beds-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200 and b"another hospital" in response.content
