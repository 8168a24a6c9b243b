"""The shared model declarations (hms.db_fields, hms.models.Timestamped) are what they replace."""

import pickle

import pytest
from django.conf import settings
from django.db import models

from appointments.models import Appointment
from hms.api.roles import Role
from hms.db_fields import text_choices, transitions, user_reference
from hms.models import SingleRow, Timestamped, TrailEntry
from hospitals.models import BedType, Hospital


class Declared:
    class Status(models.TextChoices):
        BOOKED = "booked"
        CHECKED_IN = "checked_in"
        NO_SHOW = "no_show", "No-show"


class OneLine:
    Status = text_choices("Status", "booked checked_in no_show", labels={"no_show": "No-show"})


def test_text_choices_is_the_class_statement_it_replaces():
    declared, one_line = Declared.Status, OneLine.Status
    assert (
        one_line.choices
        == declared.choices
        == [
            ("booked", "Booked"),
            ("checked_in", "Checked In"),
            ("no_show", "No-show"),
        ]
    )
    assert one_line.names == declared.names
    assert one_line.__qualname__ == "OneLine.Status"
    assert one_line.__module__ == __name__
    assert one_line.CHECKED_IN == "checked_in" and str(one_line.CHECKED_IN) == "checked_in"
    assert one_line.CHECKED_IN.label == "Checked In"
    assert isinstance(one_line.BOOKED, str) and issubclass(one_line, models.TextChoices)


def test_text_choices_pickle_and_read_as_where_they_are_declared():
    assert pickle.loads(pickle.dumps(Appointment.Status.NO_SHOW)) is Appointment.Status.NO_SHOW
    assert Appointment.Status.__qualname__ == "Appointment.Status"
    assert Appointment.Status.__module__ == "appointments.models"
    assert BedType.__qualname__ == "BedType" and BedType.__module__ == "hospitals.models"
    assert pickle.loads(pickle.dumps(Role.AMBULANCE_DRIVER)) is Role.AMBULANCE_DRIVER


def test_text_choices_keep_the_labels_given():
    assert Role.choices == [
        ("admin", "Administrator"),
        ("hospital_admin", "Hospital administrator"),
        ("doctor", "Doctor"),
        ("user", "Patient"),
        ("donor", "Donor"),
        ("ambulance_driver", "Ambulance driver"),
    ]
    assert BedType.ICU.label == "ICU" and BedType.OXYGEN.label == "Oxygen"


def test_text_choices_take_an_iterable_of_values():
    assert text_choices("Kind", ("a_b", "c")).choices == [("a_b", "A B"), ("c", "C")]


def test_text_choices_refuse_a_label_for_an_unknown_value():
    with pytest.raises(ValueError, match="nope"):
        text_choices("Kind", "a b", labels={"nope": "Nope"})


def test_user_reference_deconstructs_as_the_explicit_foreign_key():
    explicit = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    assert user_reference(db_index=False).deconstruct()[1:] == explicit.deconstruct()[1:]


def test_timestamped_gives_the_pair_and_an_override_keeps_the_other():
    assert Timestamped._meta.abstract
    created, updated = (Hospital._meta.get_field(name) for name in ("created_at", "updated_at"))
    assert created.auto_now_add and not created.auto_now and updated.auto_now
    assert Appointment._meta.get_field("updated_at").auto_now
    from emergency.models import Emergency

    assert Emergency._meta.get_field("created_at").db_index
    assert Emergency._meta.get_field("updated_at").auto_now


@pytest.mark.django_db
def test_timestamped_sets_created_at_on_insert_and_updated_at_on_save():
    hospital = Hospital.objects.create(name="H", registration_number="TS-1")
    assert hospital.created_at is not None and hospital.updated_at is not None
    created, first_update = hospital.created_at, hospital.updated_at
    hospital.name = "H2"
    hospital.save()
    hospital.refresh_from_db()
    assert hospital.created_at == created and hospital.updated_at >= first_update


def test_transitions_name_every_status_and_the_ones_left_out_are_final():
    table = transitions(OneLine.Status, {OneLine.Status.BOOKED: {OneLine.Status.CHECKED_IN}})
    assert table == {
        OneLine.Status.BOOKED: {OneLine.Status.CHECKED_IN},
        OneLine.Status.CHECKED_IN: set(),
        OneLine.Status.NO_SHOW: set(),
    }
    assert list(table) == list(OneLine.Status)


def test_transitions_refuse_moves_from_a_status_that_does_not_exist():
    with pytest.raises(ValueError, match="gone"):
        transitions(OneLine.Status, {"gone": {OneLine.Status.BOOKED}})


def test_the_status_tables_keep_their_terminal_statuses():
    from bloodbank.models import BloodRequest
    from emergency.models import Emergency
    from transfers.models import Referral

    assert Appointment.TRANSITIONS[Appointment.Status.NO_SHOW] == set()
    assert BloodRequest.ALLOWED[BloodRequest.Status.FULFILLED] == set()
    assert Emergency.TRANSITIONS[Emergency.Status.RESOLVED] == set()
    assert Referral.TRANSITIONS[Referral.Status.REJECTED] == set()


def test_trail_entries_are_oldest_first_with_when_and_who():
    from emergency.models import EmergencyEvent
    from transfers.models import ReferralEvent

    assert TrailEntry._meta.abstract
    for model in (EmergencyEvent, ReferralEvent):
        assert model._meta.ordering == ["at", "id"]
        assert model._meta.get_field("actor").null and model._meta.get_field("at").default is not None


def test_single_row_tables_keep_their_check():
    from feed.models import FeedState
    from webhooks.models import FanOutCursor

    assert SingleRow._meta.abstract
    for model, name in ((FeedState, "feed_state_single_row"), (FanOutCursor, "webhook_cursor_single_row")):
        assert model._meta.pk.name == "id" and model._meta.pk.default == 1
        assert [constraint.name for constraint in model._meta.constraints] == [name]
