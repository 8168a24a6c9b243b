import datetime

import pytest

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from bloodbank.models import Donation, StockLot
from conftest import client_for

pytestmark = pytest.mark.django_db

DONATIONS = "/api/v1/donations"
ELIGIBILITY = "/api/v1/donations/eligibility"
DAY_0 = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)


def error(response):
    return response.json()["errors"][0]


def at(day: int) -> datetime.datetime:
    return DAY_0 + datetime.timedelta(days=day)


# --- recording ---------------------------------------------------------------------------------


@pytest.mark.time_machine(DAY_0, tick=False)
def test_manager_records_a_donation_which_creates_the_stock_lot(hospital_admin_client, bank, donor):
    response = hospital_admin_client.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["donor_id"] == donor.pk and body["blood_bank_id"] == bank.pk
    assert body["donated_on"] == "2026-03-10" and body["blood_group"] == donor.blood_group
    assert body["component"] == "whole_blood" and body["units"] == 1
    lot = StockLot.objects.get(pk=body["lot_id"])
    assert (lot.blood_bank_id, lot.blood_group, lot.component, lot.units) == (bank.pk, "O+", "whole_blood", 1)
    assert lot.collected_on == datetime.date(2026, 3, 10) and lot.expires_on == datetime.date(2026, 4, 14)
    assert Activity.objects.filter(action="create", object_type="donation", patient_id=donor.pk).exists()


def test_typed_blood_group_and_component_are_kept(admin_client, independent_bank, donor):
    body = {
        "donor_id": donor.pk,
        "blood_bank_id": independent_bank.pk,
        "blood_group": "O-",
        "component": "platelets",
        "units": 2,
        "lot_number": "APH-1",
    }
    response = admin_client.post(DONATIONS, body)
    assert response.status_code == 201
    lot = StockLot.objects.get(pk=response.json()["lot_id"])
    assert (lot.blood_group, lot.component, lot.units, lot.lot_number) == ("O-", "platelets", 2, "APH-1")


@pytest.mark.parametrize("who", ["patient", "hospital_admin", "missing"])
def test_donor_id_must_be_a_donor_account(hospital_admin_client, bank, request, who):
    donor_id = 999999 if who == "missing" else request.getfixturevalue(who).pk
    response = hospital_admin_client.post(DONATIONS, {"donor_id": donor_id, "blood_bank_id": bank.pk})
    assert response.status_code == 400
    assert error(response)["attr"] == "donor_id"
    assert not Donation.objects.exists() and not StockLot.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "attr"),
    [
        ({"blood_bank_id": 999999}, "blood_bank_id"),
        ({"units": 0}, "units"),
        ({"units": 11}, "units"),
        ({"component": "serum"}, "component"),
        ({"blood_group": "Z"}, "blood_group"),
        ({"donated_on": "2999-01-01"}, "donated_on"),
        ({"donated_on": "2000-01-01"}, "donated_on"),  # over 10 years ago
        ({"donated_on": "0001-01-01"}, "donated_on"),
    ],
)
def test_invalid_donation_is_400_naming_the_field(hospital_admin_client, bank, donor, overrides, attr):
    response = hospital_admin_client.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk, **overrides})
    assert response.status_code == 400, response.content
    assert error(response)["attr"] == attr
    assert not Donation.objects.exists() and not StockLot.objects.exists()


@pytest.mark.time_machine(DAY_0, tick=False)
def test_whole_blood_donation_too_old_to_be_stock_is_400_on_donated_on(hospital_admin_client, bank, donor):
    response = hospital_admin_client.post(
        DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk, "donated_on": "2026-02-03"}
    )  # + 35 days = today: already expired
    assert response.status_code == 400 and error(response)["attr"] == "donated_on"
    assert not Donation.objects.exists()


def test_donor_without_a_blood_group_needs_a_typed_one(hospital_admin_client, bank):
    untyped = UserFactory(role="donor", blood_group="")
    response = hospital_admin_client.post(DONATIONS, {"donor_id": untyped.pk, "blood_bank_id": bank.pk})
    assert response.status_code == 400 and error(response)["attr"] == "blood_group"


def test_only_managers_of_the_bank_record_donations(request, bank, other_bank, donor):
    attempts = [
        ("hospital_admin_client", other_bank),
        ("doctor_client", bank),
        ("patient_client", bank),
        ("donor_client", bank),
    ]
    for fixture, target in attempts:
        response = request.getfixturevalue(fixture).post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": target.pk})
        assert response.status_code == 403, fixture
    assert not Donation.objects.exists() and not StockLot.objects.exists()


def test_donations_cannot_be_changed_or_deleted(hospital_admin_client, bank, donor):
    donation_id = hospital_admin_client.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk}).json()["id"]
    assert hospital_admin_client.patch(f"{DONATIONS}/{donation_id}", {"units": 3}).status_code == 405
    assert hospital_admin_client.delete(f"{DONATIONS}/{donation_id}").status_code == 405


# --- the 56-day rule ---------------------------------------------------------------------------


@pytest.mark.time_machine(at(55), tick=False)
def test_whole_blood_donation_55_days_after_the_last_is_409(hospital_admin_client, bank, donor):
    Donation.objects.create(
        donor=donor,
        blood_bank=bank,
        donated_on=at(0).date(),
        blood_group="O+",
        units=1,
        lot=StockLot.objects.create(
            blood_bank=bank,
            blood_group="O+",
            units=1,
            initial_units=1,
            collected_on=at(0).date(),
            expires_on=at(35).date(),
            lot_number="OLD",
        ),
        recorded_by=donor,
    )
    response = hospital_admin_client.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk})
    assert response.status_code == 409
    assert error(response)["code"] == "donation_too_soon"
    assert Donation.objects.count() == 1 and StockLot.objects.count() == 1
    # Other components are not limited by the whole-blood interval.
    platelets = hospital_admin_client.post(
        DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk, "component": "platelets"}
    )
    assert platelets.status_code == 201


def test_whole_blood_donation_day_56_is_accepted_and_backdating_into_the_gap_is_409(
    hospital_admin_client, bank, donor, time_machine
):
    time_machine.move_to(at(0), tick=False)
    manager = client_for(bank.hospital.staff.get(role="hospital_admin"))
    assert manager.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk}).status_code == 201
    time_machine.move_to(at(56), tick=False)
    manager = client_for(bank.hospital.staff.get(role="hospital_admin"))
    assert manager.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk}).status_code == 201
    backdated = manager.post(
        DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk, "donated_on": at(28).date().isoformat()}
    )
    assert backdated.status_code == 409 and error(backdated)["code"] == "donation_too_soon"
    assert Donation.objects.count() == 2


def test_eligibility_boundary_day_55_versus_56(hospital_admin_client, bank, donor, time_machine):
    time_machine.move_to(at(0), tick=False)
    never = client_for(donor).get(ELIGIBILITY).json()
    assert never == {"eligible": True, "last_donation": None, "next_eligible_on": "2026-03-10"}
    assert (
        client_for(bank.hospital.staff.get(role="hospital_admin"))
        .post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk})
        .status_code
        == 201
    )

    time_machine.move_to(at(55), tick=False)
    day_55 = client_for(donor).get(ELIGIBILITY)
    assert day_55.status_code == 200
    assert day_55.json() == {"eligible": False, "last_donation": "2026-03-10", "next_eligible_on": "2026-05-05"}

    time_machine.move_to(at(56), tick=False)
    day_56 = client_for(donor).get(ELIGIBILITY).json()
    assert day_56 == {"eligible": True, "last_donation": "2026-03-10", "next_eligible_on": "2026-05-05"}


@pytest.mark.parametrize("client_fixture", ["patient_client", "hospital_admin_client", "admin_client"])
def test_eligibility_is_for_donors_only(request, client_fixture):
    assert request.getfixturevalue(client_fixture).get(ELIGIBILITY).status_code == 403


def test_eligibility_needs_sign_in(api):
    assert api.get(ELIGIBILITY).status_code == 401


# --- visibility --------------------------------------------------------------------------------


def test_donor_sees_its_own_donations_only(hospital_admin_client, bank, donor, donor_client):
    other_donor = UserFactory(role="donor", blood_group="B+")
    mine = hospital_admin_client.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk}).json()["id"]
    theirs = hospital_admin_client.post(DONATIONS, {"donor_id": other_donor.pk, "blood_bank_id": bank.pk}).json()["id"]
    listed = donor_client.get(DONATIONS).json()
    assert [row["id"] for row in listed["results"]] == [mine]
    assert donor_client.get(f"{DONATIONS}/{mine}").status_code == 200
    assert donor_client.get(f"{DONATIONS}/{theirs}").status_code == 404


def test_managers_see_donations_of_their_banks_with_no_query_per_row(
    admin_client, hospital_admin_client, patient_client, bank, other_bank, django_assert_max_num_queries
):
    for index in range(6):
        donor = UserFactory(role="donor", blood_group="A+")
        assert admin_client.post(DONATIONS, {"donor_id": donor.pk, "blood_bank_id": bank.pk}).status_code == 201
        other_donor = UserFactory(role="donor", blood_group="B+")
        admin_client.post(DONATIONS, {"donor_id": other_donor.pk, "blood_bank_id": other_bank.pk, "units": index + 1})
    with django_assert_max_num_queries(4):
        response = hospital_admin_client.get(DONATIONS, {"page_size": 50})
    assert response.json()["count"] == 6
    assert {row["blood_bank_id"] for row in response.json()["results"]} == {bank.pk}
    assert admin_client.get(DONATIONS).json()["count"] == 12
    assert patient_client.get(DONATIONS).json()["count"] == 0
