"""The audit log's hash chains (accounts/audit_chain.py): every entry linked in its writing
transaction, whatever wrote it; an edit or deletion behind the application's back is found."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.activity import record
from accounts.audit_chain import CHAINS
from accounts.models import Activity, AuditChainHead
from accounts.tests.factories import UserFactory
from accounts.tests.utils import assert_error
from conftest import client_for, run_together

pytestmark = pytest.mark.django_db


def tamper(sql: str, params=()) -> None:
    """Change the audit table as someone with database access would: triggers off for this session."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def verify(client) -> dict:
    response = client.get("/api/v1/activity/verify")
    assert response.status_code == 200, response.content
    return response.json()


def make_entries(count: int) -> list[Activity]:
    return [
        record(action="action", actor=None, object_type="probe", object_id=n, detail={"n": n}) for n in range(count)
    ]


def test_every_entry_is_chained_and_the_log_verifies(admin_user):
    make_entries(5)
    entries = list(Activity.objects.order_by("id"))
    assert entries and all(entry.chain is not None and len(entry.hash) == 64 for entry in entries)
    body = verify(client_for(admin_user))
    assert body["ok"] is True and body["first_broken"] is None
    assert body["checked"] == Activity.objects.count()
    assert {head["position"] for head in body["heads"]} and all(len(head["hash"]) == 64 for head in body["heads"])


def test_entries_of_one_transaction_follow_each_other_on_one_chain():
    with transaction.atomic():
        entries = make_entries(3)
    chained = list(Activity.objects.filter(pk__in=[e.pk for e in entries]).order_by("id"))
    assert len({entry.chain for entry in chained}) == 1
    positions = [entry.chain_seq for entry in chained]
    assert positions == list(range(positions[0], positions[0] + 3))
    assert chained[1].prev_hash == chained[0].hash and chained[2].prev_hash == chained[1].hash


def test_an_edited_entry_is_the_first_broken_link(admin_user):
    entries = make_entries(6)
    target = entries[3]
    tamper("UPDATE accounts_activity SET detail = '{\"n\": 99}' WHERE id = %s", [target.pk])
    body = verify(client_for(admin_user))
    assert body["ok"] is False
    assert body["first_broken"]["id"] == target.pk and body["first_broken"]["problem"] == "altered"
    with pytest.raises(CommandError, match="altered"):
        call_command("verify_audit", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(admin_user):
    with transaction.atomic():
        entries = make_entries(4)
    target, following = entries[1], entries[2]
    tamper(
        "UPDATE accounts_activity SET detail = '{\"n\": 42}' WHERE id = %s;"
        "UPDATE accounts_activity a SET hash = accounts_activity_hash(a) WHERE id = %s",
        [target.pk, target.pk],
    )
    broken = verify(client_for(admin_user))["first_broken"]
    assert broken["id"] == following.pk and broken["problem"] == "relinked"


def test_a_deleted_entry_leaves_a_gap(admin_user):
    with transaction.atomic():
        entries = make_entries(4)
    tamper("DELETE FROM accounts_activity WHERE id = %s", [entries[1].pk])
    broken = verify(client_for(admin_user))["first_broken"]
    assert broken["id"] == entries[2].pk and broken["problem"] == "missing_before"


def test_a_deleted_last_entry_no_longer_ends_at_the_head(admin_user):
    with transaction.atomic():
        entries = make_entries(3)
    last = Activity.objects.get(pk=entries[-1].pk)  # chain and position are set by the database
    tamper("DELETE FROM accounts_activity WHERE id = %s", [last.pk])
    broken = verify(client_for(admin_user))["first_broken"]
    assert broken["problem"] == "missing_tail" and broken["chain"] == last.chain
    assert broken["position"] == last.chain_seq


def test_the_one_statement_booking_entries_are_chained_too(admin_user):
    """BOOK_SQL inserts its audit entry in SQL: the trigger links it all the same."""
    from appointments.tests.factories import SlotFactory  # noqa: PLC0415 - test of a cross-app path

    slot = SlotFactory()
    patient = UserFactory(role="user")
    response = client_for(patient).post("/api/v1/appointments", {"slot_id": slot.pk}, format="json")
    assert response.status_code == 201, response.content
    entry = Activity.objects.get(object_type="appointment", object_id=response.json()["id"], action="create")
    assert entry.chain is not None and len(entry.hash) == 64
    assert verify(client_for(admin_user))["ok"] is True


def test_only_admins_verify(patient, hospital_admin):
    assert APIClient().get("/api/v1/activity/verify").status_code == 401
    for user in (patient, hospital_admin):
        assert_error(client_for(user).get("/api/v1/activity/verify"), 403)


def test_every_chain_has_its_head_from_the_migrations():
    if connection.vendor != "postgresql":
        pytest.skip("hash chains are PostgreSQL's")
    assert set(AuditChainHead.objects.values_list("chain", flat=True)) >= set(range(CHAINS))


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_every_chain_whole(admin_user):
    """16 transactions writing at once: none waits on a global lock, every position taken once."""
    writers = 16

    def write(n: int):
        with transaction.atomic():
            for i in range(5):
                record(action="action", actor=None, object_type="race", object_id=n * 10 + i)

    run_together([lambda n=n: write(n) for n in range(writers)])
    entries = Activity.objects.filter(object_type="race")
    assert entries.count() == writers * 5
    assert len({(e.chain, e.chain_seq) for e in entries}) == writers * 5
    body = verify(client_for(admin_user))
    assert body["ok"] is True, body
