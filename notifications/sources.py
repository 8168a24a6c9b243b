"""Where notifications come from: committed change-feed events (`from_feed`), appointment reminders
(`reminders`) and donors eligible again (`donors_eligible`). Each is a job (see apps.py): idempotent,
safe to run twice or in two workers at once (the notification's unique key decides)."""

import logging
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, Max, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import User
from appointments.models import Appointment, Slot
from bloodbank.models import BloodBank, BloodRequest, Component, Donation
from bloodbank.services.donations import WHOLE_BLOOD_DONATION_INTERVAL_DAYS
from emergency.models import Emergency
from feed import reader
from feed.models import Event
from hms.api.roles import Role
from notifications.models import Category, FeedCursor, LowStockState, Notification
from notifications.services import Spec, notifications_create

logger = logging.getLogger(__name__)

CURSOR = "notifications.from_feed"
FEED_BATCH = 500
REMINDER_BATCH = 500
# A donor is told within this many days of becoming eligible (a job down for longer does not flood).
ELIGIBLE_NOTICE_DAYS = 7


def doctor_title(name: str) -> str:
    """The doctor's name with its title once ("Dr Asha Menon"), whether or not the account's name has it."""
    return name if re.match(r"(?i)^dr\b", name.strip()) else f"Dr {name}"


def local_time(moment, tz_name: str) -> str:
    """`Monday 9 March 2026, 09:00 EDT`: the hospital's wall clock, with the zone's abbreviation then."""
    local = moment.astimezone(ZoneInfo(tz_name or "UTC"))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M %Z}"


def _user_of(topic: str) -> int | None:
    prefix, _, rest = topic.partition(".")
    return int(rest) if prefix == "user" and rest.isdigit() else None


def _id_of(topic: str) -> int:
    return int(topic.split(".")[1])


# --- from the feed --------------------------------------------------------------------------


def _slot_context(slot_id) -> dict:
    slot = Slot.objects.select_related("hospital", "doctor__user").filter(pk=slot_id).first()
    if slot is None:
        return {}
    return {
        "slot": slot,
        "hospital_name": slot.hospital.name,
        "doctor_name": doctor_title(slot.doctor.user.fullname),
        "start_local": local_time(slot.start, slot.hospital.timezone),
    }


def _cancel_reason(event: Event) -> str:
    if event.type != "appointment.cancelled":
        return ""
    appointment_id = (event.data or {}).get("appointment_id")
    return Appointment.objects.filter(pk=appointment_id).values_list("cancel_reason", flat=True).first() or ""


def _event_spec(event: Event, user_id: int, category: str, *, context: dict, data: dict) -> list[Spec]:
    """The one notification of a feed event to the user on whose topic it was sent (`event:{id}`)."""
    return [Spec(key=f"event:{event.pk}", user_id=user_id, category=category, event=event.type, context=context,
                 data=data)]  # fmt: skip


def appointment_specs(event: Event) -> list[Spec]:
    user_id = _user_of(event.topic)
    data = event.data or {}
    context = _slot_context(data.get("slot_id"))
    if user_id is None or not context:
        return []
    slot = context["slot"]
    return _event_spec(
        event,
        user_id,
        Category.APPOINTMENTS,
        context={**context, "token_number": data.get("token_number"), "reason": _cancel_reason(event)},
        data={
            "appointment_id": data.get("appointment_id"),
            "hospital_id": slot.hospital_id,
            "doctor_id": slot.doctor_id,
            "start": slot.start.isoformat(),
            "token_number": data.get("token_number"),
        },
    )


def waitlist_specs(event: Event) -> list[Spec]:
    user_id = _user_of(event.topic)
    if user_id is None:
        return []
    data = event.data or {}
    context = _slot_context(data.get("slot_id")) if data.get("slot_id") else {}
    slot = context.pop("slot", None)
    expires_at = parse_datetime(data["expires_at"]) if isinstance(data.get("expires_at"), str) else None
    if expires_at is not None and slot is not None:
        context["expires_local"] = local_time(expires_at, slot.hospital.timezone)
    return _event_spec(
        event,
        user_id,
        Category.APPOINTMENTS,
        context={**context, "expires_at": data.get("expires_at")},
        data=data,
    )


def blood_request_specs(event: Event) -> list[Spec]:
    user_id = _user_of(event.topic)
    data = event.data or {}
    request = BloodRequest.objects.select_related("blood_bank").filter(pk=data.get("blood_request_id")).first()
    if user_id is None or request is None:
        return []
    return _event_spec(
        event,
        user_id,
        Category.BLOOD,
        context={"request": request, "bank_name": request.blood_bank.name},
        data={key: data.get(key) for key in ("blood_request_id", "blood_bank_id", "blood_group", "component", "units")},
    )


def bank_managers(bank: BloodBank) -> list[int]:
    """Who manages a bank: its hospital's admins; a bank of no hospital, the administrators."""
    users = User.objects.filter(is_active=True)
    if bank.hospital_id is None:
        users = users.filter(role=Role.ADMIN)
    else:
        users = users.filter(role=Role.HOSPITAL_ADMIN, hospital_id=bank.hospital_id)
    return list(users.order_by("pk").values_list("pk", flat=True))


def low_stock_specs(event: Event) -> list[Spec]:
    """A group and component whose usable units fall from at least the threshold to below it: one
    notice to each manager per crossing. A group never at the threshold is not announced."""
    bank = BloodBank.objects.filter(pk=_id_of(event.topic)).first()
    if bank is None:
        return []
    units = {(item["blood_group"], item["component"]): item["units"] for item in (event.data or {}).get("items", [])}
    states = {
        (state.blood_group, state.component): state
        for state in LowStockState.objects.select_for_update().filter(blood_bank_id=bank.pk)
    }
    crossed = []
    for pair in sorted(set(units) | set(states)):
        count, state = units.get(pair, 0), states.get(pair)
        if count >= bank.low_stock_threshold:
            if state is None:
                LowStockState.objects.create(blood_bank_id=bank.pk, blood_group=pair[0], component=pair[1])
            elif state.below:
                state.below = False
                state.save(update_fields=["below"])
        elif state is not None and not state.below:
            state.below, state.crossings = True, state.crossings + 1
            state.save(update_fields=["below", "crossings"])
            crossed.append((pair, count, state.crossings))
    specs = []
    managers = bank_managers(bank) if crossed else []
    for (group, component), count, crossing in crossed:
        data = {"blood_bank_id": bank.pk, "blood_group": group, "component": component, "units": count,
                "threshold": bank.low_stock_threshold}  # fmt: skip
        label = Component(component).label if component in Component.values else component
        context = {**data, "bank_name": bank.name, "component": label}
        for user_id in managers:
            key = f"low_stock:{bank.pk}:{group}:{component}:{crossing}"
            specs.append(
                Spec(key=key, user_id=user_id, category=Category.BLOOD, event="stock.low", context=context, data=data)
            )
    return specs


def emergency_specs(event: Event) -> list[Spec]:
    """Each status an emergency reaches after `reported`, once: to its reporter (signed in or not) by
    SMS to the contact number given with the report, and in the reporter's inbox when signed in."""
    status = (event.data or {}).get("status")
    if not status or status == Emergency.Status.REPORTED:
        return []
    emergency = Emergency.objects.select_related("hospital").filter(pk=_id_of(event.topic)).first()
    if emergency is None or (emergency.reporter_id is None and not emergency.contact_number):
        return []
    label = Emergency.Status(status).label if status in Emergency.Status.values else status
    return [
        Spec(
            key=f"emergency:{emergency.pk}:{status}",
            user_id=emergency.reporter_id,
            category=Category.EMERGENCY,
            event="emergency.status",
            context={
                "emergency": emergency,
                "status": label,
                "hospital_name": emergency.hospital.name if emergency.hospital_id else "",
            },
            data={"emergency_id": emergency.pk, "status": status, "hospital_id": emergency.hospital_id},
            sms_to=emergency.contact_number,
        )
    ]


def webhook_specs(event: Event) -> list[Spec]:
    """A webhook deactivated after days of failures: its owners (API.md section 16)."""
    user_id = _user_of(event.topic)
    data = event.data or {}
    if user_id is None:
        return []
    return _event_spec(
        event,
        user_id,
        Category.ACCOUNT,
        context={key: data.get(key) for key in ("webhook_id", "url", "last_error")},
        data={"webhook_id": data.get("webhook_id"), "url": data.get("url")},
    )


HANDLERS = {
    "appointment.booked": appointment_specs,
    "appointment.rescheduled": appointment_specs,
    "appointment.cancelled": appointment_specs,
    "appointment.no_show": appointment_specs,
    "waitlist.offered": waitlist_specs,
    "blood_request.approved": blood_request_specs,
    "blood_request.rejected": blood_request_specs,
    "blood_request.fulfilled": blood_request_specs,
    "stock.changed": low_stock_specs,
    "emergency.changed": emergency_specs,
    "webhook.deactivated": webhook_specs,
}


def _locked_cursor() -> FeedCursor | None:
    """The cursor row, locked; None while another worker holds it (this run has nothing to do)."""
    cursor = FeedCursor.objects.select_for_update(skip_locked=True).filter(name=CURSOR).first()
    if cursor is not None or FeedCursor.objects.filter(name=CURSOR).exists():
        return cursor
    try:
        with transaction.atomic():
            FeedCursor.objects.create(name=CURSOR, position=0)
    except IntegrityError:
        return None
    return FeedCursor.objects.select_for_update(skip_locked=True).filter(name=CURSOR).first()


def from_feed(*, limit: int = FEED_BATCH) -> dict:
    """Turn the committed events after the cursor into notifications, and move the cursor, in one
    transaction. The feed's own `notification.*` events are never read back."""
    for _ in range(20):  # number what has committed (no stream server may be running to do it)
        if not reader.publish():
            break
    with transaction.atomic():
        cursor = _locked_cursor()
        if cursor is None:
            return {"busy": True}
        events = list(Event.objects.filter(id__gt=cursor.position).order_by("id")[:limit])
        specs = []
        for event in events:
            handler = HANDLERS.get(event.type)
            if handler is not None and not event.type.startswith("notification."):
                specs += handler(event)
        created = notifications_create(specs)
        if events:
            cursor.position = events[-1].pk
            cursor.save(update_fields=["position", "updated_at"])
    return {"events": len(events), "created": len(created), "position": cursor.position}


# --- reminders ------------------------------------------------------------------------------


REMINDER_FIELDS = ("pk", "patient_id", "hospital_id", "doctor_id", "token_number", "slot__start", "hospital__name",
                   "hospital__timezone", "doctor__user__fullname")  # fmt: skip


def _reminder_specs(page: list[dict], hours: int) -> list[Spec]:
    doctors = {}
    specs = []
    for row in page:
        name = row["doctor__user__fullname"]
        doctor = doctors.get(name) or doctors.setdefault(name, doctor_title(name))
        start = row["slot__start"]
        specs.append(
            Spec(
                key=f"reminder:{row['pk']}:{hours}",
                user_id=row["patient_id"],
                category=Category.APPOINTMENTS,
                event="appointment.reminder",
                context={
                    "hours": hours,
                    "hospital_name": row["hospital__name"],
                    "doctor_name": doctor,
                    "start_local": local_time(start, row["hospital__timezone"]),
                    "token_number": row["token_number"],
                },
                data={
                    "appointment_id": row["pk"],
                    "hospital_id": row["hospital_id"],
                    "doctor_id": row["doctor_id"],
                    "start": start.isoformat(),
                    "token_number": row["token_number"],
                    "hours": hours,
                },
            )
        )
    return specs


def reminders(*, batch: int = REMINDER_BATCH) -> dict:
    """For each REMINDER_HOURS h (24, 2): booked appointments starting within h hours but not within
    the next smaller one (booked late, a patient gets only the nearest reminder) and not reminded of
    at h yet. Cancelled, completed or no-show appointments are never reminded of."""
    now = timezone.now()
    hours = sorted(settings.REMINDER_HOURS, reverse=True)
    created = 0
    for index, window in enumerate(hours):
        nearer = hours[index + 1] if index + 1 < len(hours) else 0
        reminded = Notification.objects.filter(
            key=Concat(Value("reminder:"), Cast(OuterRef("pk"), CharField()), Value(f":{window}"))
        )
        due = (
            Appointment.objects.filter(
                status=Appointment.Status.BOOKED,
                slot__start__gt=now + timedelta(hours=nearer),
                slot__start__lte=now + timedelta(hours=window),
            )
            .exclude(Exists(reminded))
            .order_by("pk")
        )
        after = 0
        while True:
            with transaction.atomic():
                # A page of rows no other worker is on (SKIP LOCKED): two workers share the work
                # instead of rendering the same reminders; the unique key still decides.
                locked = due.filter(pk__gt=after).select_for_update(skip_locked=True, of=("self",))
                page = list(locked.values(*REMINDER_FIELDS)[:batch])
                if not page:
                    break
                created += len(notifications_create(_reminder_specs(page, window)))
            after = page[-1]["pk"]
    return {"created": created}


# --- donors eligible again ------------------------------------------------------------------


def donors_eligible() -> dict:
    """Donors whose last whole-blood donation was WHOLE_BLOOD_DONATION_INTERVAL_DAYS ago (within the
    last ELIGIBLE_NOTICE_DAYS days): one notice per donor and last donation."""
    today = timezone.localdate()
    newest = today - timedelta(days=WHOLE_BLOOD_DONATION_INTERVAL_DAYS)
    oldest = newest - timedelta(days=ELIGIBLE_NOTICE_DAYS)
    last = (
        Donation.objects.filter(component=Component.WHOLE_BLOOD)
        .values("donor_id")
        .annotate(last=Max("donated_on"))
        .filter(last__gt=oldest, last__lte=newest)
        .order_by("donor_id")
    )
    specs = [
        Spec(
            key=f"donor_eligible:{row['last'].isoformat()}",
            user_id=row["donor_id"],
            category=Category.BLOOD,
            event="donor.eligible",
            context={"last_donation": row["last"]},
            data={"last_donation": row["last"].isoformat()},
        )
        for row in last
    ]
    created = 0
    for start in range(0, len(specs), REMINDER_BATCH):
        with transaction.atomic():
            created += len(notifications_create(specs[start : start + REMINDER_BATCH]))
    return {"created": created}
