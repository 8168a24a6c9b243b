import pytest

from bloodbank.tests.factories import BloodRequestFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/admin/bloodbank/bloodbank/",
        "/admin/bloodbank/stocklot/",
        "/admin/bloodbank/stocklot/?blood_group__exact=A%2B&component__exact=plasma&status__exact=available",
        "/admin/bloodbank/stocklot/?expiry=expired",
        "/admin/bloodbank/stocklot/?expiry=7days",
        "/admin/bloodbank/stocklot/add/",
        "/admin/bloodbank/bloodrequest/",
        "/admin/bloodbank/bloodrequest/?status__exact=pending",
        "/admin/bloodbank/donation/",
    ],
)
def test_admin_pages_render(admin_site, bank, lot, path):
    lot(bank, "A+", 3)
    BloodRequestFactory(blood_bank=bank)
    assert admin_site.get(path).status_code == 200


def test_admin_request_detail_shows_allocations_read_only(admin_site, bank):
    request = BloodRequestFactory(blood_bank=bank)
    response = admin_site.get(f"/admin/bloodbank/bloodrequest/{request.pk}/change/")
    assert response.status_code == 200
    assert admin_site.post(f"/admin/bloodbank/bloodrequest/{request.pk}/delete/").status_code == 403
