"""A bed's hospital is its ward's, a ward's is its floor's, an admission's is its bed's: the services keep
it, and on PostgreSQL composite foreign keys refuse any write that does not (migration 0004), raw SQL
included. The admin's bed and ward forms still save (they set the bed's hospital from its ward)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from hospitals.models import Admission, Bed, Ward
from hospitals.tests.factories import AdmissionFactory, BedFactory, FloorFactory, HospitalFactory, WardFactory

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the composite foreign keys are PostgreSQL's (migration 0004)"
)
CONSTRAINTS = {"ward_floor_of_its_hospital", "bed_ward_of_its_hospital", "admission_bed_of_its_hospital"}


def _refused(sql: str, params) -> None:
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _constraints() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conname = ANY(%s)", [list(CONSTRAINTS)])
        return {row[0] for row in cursor.fetchall()}


@postgresql_only
def test_raw_sql_moving_a_bed_to_another_hospitals_ward_is_refused(hospital, other_hospital):
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    foreign_ward = WardFactory(hospital=other_hospital)
    _refused("UPDATE hospitals_bed SET ward_id = %s WHERE id = %s", [foreign_ward.pk, bed.pk])
    _refused("UPDATE hospitals_bed SET hospital_id = %s WHERE id = %s", [other_hospital.pk, bed.pk])
    bed.refresh_from_db()
    assert (bed.ward.hospital_id, bed.hospital_id) == (hospital.pk, hospital.pk)


@postgresql_only
def test_moving_a_bed_with_its_hospital_to_another_hospitals_ward_is_allowed_by_the_database(hospital, other_hospital):
    """The rule is "the same hospital as the ward", not "never moves": both columns together pass."""
    bed = BedFactory(ward=WardFactory(hospital=hospital))
    foreign_ward = WardFactory(hospital=other_hospital)
    Bed.objects.filter(pk=bed.pk).update(ward=foreign_ward, hospital=other_hospital)
    bed.refresh_from_db()
    assert bed.hospital_id == other_hospital.pk


@postgresql_only
def test_the_orm_cannot_create_a_bed_in_another_hospital_than_its_wards(hospital, other_hospital):
    ward = WardFactory(hospital=hospital)
    with pytest.raises(IntegrityError), transaction.atomic():
        Bed.objects.create(ward=ward, hospital=other_hospital, bed_number="X-1")


@postgresql_only
def test_a_ward_holding_beds_or_on_a_floor_cannot_change_hospital(hospital, other_hospital):
    ward = BedFactory(ward=WardFactory(hospital=hospital)).ward
    assert ward.floor_id is not None  # a multi-level hospital's ward
    _refused("UPDATE hospitals_ward SET hospital_id = %s WHERE id = %s", [other_hospital.pk, ward.pk])
    empty_ward_on_floor = WardFactory(hospital=hospital)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ward.objects.filter(pk=empty_ward_on_floor.pk).update(hospital=other_hospital)


@postgresql_only
def test_a_ward_cannot_be_put_on_another_hospitals_floor(hospital, other_hospital):
    ward = WardFactory(hospital=hospital)
    foreign_floor = FloorFactory(hospital=other_hospital)
    _refused("UPDATE hospitals_ward SET floor_id = %s WHERE id = %s", [foreign_floor.pk, ward.pk])


@postgresql_only
def test_a_single_level_hospitals_ward_has_no_floor_to_check(db):
    hospital = HospitalFactory(is_multi_level=False)
    ward = WardFactory(hospital=hospital)
    assert ward.floor_id is None
    BedFactory(ward=ward)
    assert Bed.objects.filter(ward=ward, hospital=hospital).count() == 1


@postgresql_only
def test_an_admission_is_in_its_beds_hospital(hospital, other_hospital):
    admission = AdmissionFactory(bed=BedFactory(ward=WardFactory(hospital=hospital)))
    _refused("UPDATE hospitals_admission SET hospital_id = %s WHERE id = %s", [other_hospital.pk, admission.pk])
    foreign_bed = BedFactory(ward=WardFactory(hospital=other_hospital))
    with pytest.raises(IntegrityError), transaction.atomic():
        Admission.objects.filter(pk=admission.pk).update(bed=foreign_bed)


@postgresql_only
def test_the_migration_reverses_and_applies_again(db):
    assert _constraints() == CONSTRAINTS
    executor = MigrationExecutor(connection)
    executor.migrate([("hospitals", "0003_bed_type_and_reservation")])
    assert _constraints() == set()
    executor = MigrationExecutor(connection)
    executor.migrate([("hospitals", "0004_same_hospital_foreign_keys")])
    assert _constraints() == CONSTRAINTS


def test_the_admin_bed_form_sets_the_wards_hospital(admin_site, hospital):
    ward = WardFactory(hospital=hospital)
    form = {"ward": ward.pk, "bed_number": "ADM-1", "bed_type": "icu"}
    response = admin_site.post("/admin/hospitals/bed/add/", form)
    assert response.status_code == 302, response.content[:2000]
    bed = Bed.objects.get(bed_number="ADM-1")
    assert (bed.ward_id, bed.hospital_id, bed.bed_type) == (ward.pk, hospital.pk, "icu")
    assert admin_site.get(f"/admin/hospitals/bed/{bed.pk}/change/").status_code == 200
