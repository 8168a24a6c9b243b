"""Reads across every app for dashboards and system status (nothing imports this app).

Every figure is one aggregate query (GROUP BY a bounded set of statuses or groups), so the number of
queries a dashboard costs does not grow with the data.
"""

import zoneinfo
from datetime import datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import BloodGroup, User
from appointments.models import Appointment
from bloodbank.models import BloodRequest, Donation, StockLot
from bloodbank.services import donor_eligibility
from dashboard import figures, personal
from emergency.models import Ambulance, Emergency
from hms import jobs
from hms.api import readcache
from hms.jobs import engine
from hms.jobs.schedules import default_schedule, schedule_of
from hospitals.models import Bed, Hospital, shown_status

# Tables whose size an operator wants to see.
COUNTED_MODELS = [
    "accounts.User",
    "accounts.Activity",
    "hospitals.Hospital",
    "hospitals.Bed",
    "hospitals.Admission",
    "appointments.Doctor",
    "appointments.Slot",
    "appointments.Appointment",
    "appointments.Visit",
    "bloodbank.BloodBank",
    "bloodbank.StockLot",
    "bloodbank.BloodRequest",
    "emergency.Ambulance",
    "emergency.Emergency",
]
OPEN_EMERGENCY = ~Q(status__in=[Emergency.Status.RESOLVED, Emergency.Status.CANCELLED])
UPCOMING_LIMIT = 10


def row_counts() -> dict[str, int]:
    return {label.split(".")[1].lower(): apps.get_model(label).objects.count() for label in COUNTED_MODELS}


def jobs_status() -> list[dict]:
    """Each registered job with its schedule (beat's periodic task when there is one, else the job's
    default interval) and its last run: one query for the tasks, one index lookup per job."""
    from django_celery_beat.models import PeriodicTask

    registered = jobs.jobs()
    tasks = {
        task.name: task
        for task in PeriodicTask.objects.filter(name__in=[job.name for job in registered]).select_related(
            "interval", "crontab"
        )
    }
    return [
        {
            "name": job.name,
            "description": job.description,
            "schedule": schedule_of(tasks[job.name]) if job.name in tasks else default_schedule(job),
            "last_run": engine.last_run(job.name),
        }
        for job in registered
    ]


def queue_status() -> dict:
    return {"name": engine.QUEUE_NAME, "broker": engine.broker_kind(), "depth": engine.queue_depth()}


def _counts(queryset, field: str, choices) -> dict[str, int]:
    """{choice: n} for every choice (zeros included) from one GROUP BY query."""
    found = {row[field]: row["n"] for row in queryset.values(field).annotate(n=Count("pk")).order_by()}
    return {value: found.get(value, 0) for value, _label in choices}


def _beds_shown(beds):
    """Beds with the status readers see (`available` once a reservation has lapsed, job or not)."""
    return beds.annotate(shown=shown_status(timezone.now()))


def _today_window(zone_name: str) -> tuple[datetime, datetime]:
    zone = zoneinfo.ZoneInfo(zone_name)
    today = timezone.now().astimezone(zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def _usable_units_by_group(lots) -> dict[str, int]:
    found = {
        row["blood_group"]: row["units"]
        for row in lots.usable().values("blood_group").annotate(units=Sum("units")).order_by()
    }
    return {group: found.get(group, 0) for group, _label in BloodGroup.choices}


CHOICES = {
    "users": User.Role.choices,
    "beds": Bed._meta.get_field("status").choices,
    "appointments": Appointment.Status.choices,
    "blood": BloodGroup.choices,
    "emergencies": Emergency.Severity.choices,
    "ambulances": Ambulance.Status.choices,
}


def _appointments_today(start: datetime, end: datetime, **scope) -> dict[str, int]:
    return _counts(
        Appointment.objects.filter(slot__start__gte=start, slot__start__lt=end, **scope),
        "status",
        Appointment.Status.choices,
    )


def admin_dashboard() -> dict:
    """The network's figures: from the maintained counters on PostgreSQL (flat with the data), counted
    from the tables elsewhere (SQLite: `make run`)."""
    if connection.vendor != "postgresql":
        return live_admin_dashboard()
    return counted_admin_dashboard()


def counted_admin_dashboard() -> dict:
    start, end = _today_window(settings.TIME_ZONE)
    return figures.admin_figures(start, end, CHOICES, lambda: _appointments_today(start, end))


def hospital_admin_dashboard(user: User) -> dict:
    if connection.vendor != "postgresql":
        return live_hospital_admin_dashboard(user.hospital)
    if user.hospital_id is None:
        return counted_hospital_admin_dashboard(user.hospital)
    return _counted_hospital(user.hospital_id, _expected_zone(user))


def counted_hospital_admin_dashboard(hospital: Hospital) -> dict:
    return _counted_hospital(hospital.pk, hospital.timezone)


def _counted_hospital(hospital_id: int, zone: str) -> dict:
    def read(start, end):
        found, name, read_zone = figures.hospital_admin_figures(
            hospital_id, start, end, CHOICES, lambda: _appointments_today(start, end, hospital_id=hospital_id)
        )
        return {"hospital_id": hospital_id, "hospital_name": name, **found}, read_zone

    counted = _today_in_zone(hospital_id, zone, read)
    return counted if counted is not None else live_hospital_admin_dashboard(Hospital.objects.get(pk=hospital_id))


# Each hospital's time zone as last read. A hospital admin's or a doctor's "today" is chosen with it
# (not with a query for the hospital first); the statement reads the zone again beside the figures,
# and a zone that has changed since is read once more with the new zone.
_ZONES: dict[int, str] = {}


def _expected_zone(user: User) -> str:
    if User._meta.get_field("hospital").is_cached(user):
        return user.hospital.timezone
    return _ZONES.get(user.hospital_id, settings.TIME_ZONE)


def _today_in_zone(hospital_id: int, zone: str, read):
    """`read(start, end)` -> (figures, the hospital's zone as read with them), for the hospital's today
    chosen with `zone`; read again with the zone read while the two differ (None after three tries)."""
    for _attempt in range(3):
        start, end = _today_window(zone)
        figures, read_zone = read(start, end)
        if read_zone is None or read_zone == zone:
            _ZONES[hospital_id] = zone
            return figures
        zone = read_zone
    return None


def live_admin_dashboard() -> dict:
    """The admin's figures counted from the tables (the reference the counters are tested against)."""
    start, end = _today_window(settings.TIME_ZONE)
    return {
        "users_by_role": _counts(User.objects.filter(is_active=True), "role", User.Role.choices),
        "hospitals": Hospital.objects.filter(is_active=True).count(),
        "beds_by_status": _counts(
            _beds_shown(Bed.objects.filter(hospital__is_active=True)), "shown", Bed._meta.get_field("status").choices
        ),
        "appointments_today_by_status": _appointments_today(start, end),
        "usable_blood_units_by_group": _usable_units_by_group(StockLot.objects.filter(blood_bank__is_active=True)),
        "open_emergencies_by_severity": _counts(
            Emergency.objects.filter(OPEN_EMERGENCY), "severity", Emergency.Severity.choices
        ),
        "ambulances_by_status": _counts(Ambulance.objects.all(), "status", Ambulance.Status.choices),
    }


def live_hospital_admin_dashboard(hospital: Hospital) -> dict:
    start, end = _today_window(hospital.timezone)
    return {
        "hospital_id": hospital.pk,
        "hospital_name": hospital.name,
        "staff_by_role": _counts(User.objects.filter(hospital=hospital, is_active=True), "role", User.Role.choices),
        "beds_by_status": _counts(
            _beds_shown(Bed.objects.filter(hospital=hospital)), "shown", Bed._meta.get_field("status").choices
        ),
        "appointments_today_by_status": _appointments_today(start, end, hospital=hospital),
        "usable_blood_units_by_group": _usable_units_by_group(
            StockLot.objects.filter(blood_bank__hospital=hospital, blood_bank__is_active=True)
        ),
        "open_emergencies_by_severity": _counts(
            Emergency.objects.filter(OPEN_EMERGENCY, hospital=hospital), "severity", Emergency.Severity.choices
        ),
        "ambulances_by_status": _counts(
            Ambulance.objects.filter(hospital=hospital), "status", Ambulance.Status.choices
        ),
    }


_APPOINTMENT_COLUMNS = ("id", "patient_id", "doctor_id", "hospital_id", "slot__start", "token_number", "status")


def _appointment_rows(appointments, *, patient: User | None = None) -> list[dict]:
    """Queue/upcoming rows straight from one narrow query (no model instances). With `patient` (the
    caller's own appointments) the patient's name is taken from it rather than joined."""
    names = ("doctor__user__fullname",) if patient else ("doctor__user__fullname", "patient__fullname")
    return [
        {
            "id": row["id"],
            "patient_id": row["patient_id"],
            "patient_name": patient.fullname if patient else row["patient__fullname"],
            "doctor_id": row["doctor_id"],
            "doctor_name": row["doctor__user__fullname"],
            "hospital_id": row["hospital_id"],
            "start": row["slot__start"],
            "token_number": row["token_number"],
            "status": row["status"],
        }
        for row in appointments.values(*_APPOINTMENT_COLUMNS, *names)
    ]


def doctor_dashboard(user: User) -> dict:
    """Today's appointments by status and the queue: one prepared statement on PostgreSQL (today in the
    hospital's zone as last read, checked by the statement), the ORM elsewhere."""
    if connection.vendor != "postgresql":
        return live_doctor_dashboard(user)
    if user.hospital_id is None:
        start, end = _today_window(settings.TIME_ZONE)
        return personal.doctor_figures(user, start, end)[0]
    counted = _today_in_zone(
        user.hospital_id, _expected_zone(user), lambda start, end: personal.doctor_figures(user, start, end)
    )
    return counted if counted is not None else live_doctor_dashboard(user)


def live_doctor_dashboard(user: User) -> dict:
    zone = user.hospital.timezone if user.hospital_id else settings.TIME_ZONE
    start, end = _today_window(zone)
    today = Appointment.objects.filter(doctor__user=user, slot__start__gte=start, slot__start__lt=end)
    queue = today.filter(status__in=[Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN]).order_by(
        "slot__start", "token_number"
    )[:50]
    return {
        "today_by_status": _counts(today, "status", Appointment.Status.choices),
        "queue": _appointment_rows(queue),
    }


def patient_dashboard(user: User) -> dict:
    """Upcoming appointments, blood requests by status and open emergencies: one prepared statement on
    PostgreSQL, the ORM elsewhere."""
    if connection.vendor != "postgresql":
        return live_patient_dashboard(user)
    return personal.patient_figures(user, timezone.now())


def live_patient_dashboard(user: User) -> dict:
    """The patient's figures through the ORM (the reference the statement is tested against)."""
    upcoming = Appointment.objects.filter(
        patient=user,
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN],
        slot__start__gte=timezone.now(),
    ).order_by("slot__start")[:UPCOMING_LIMIT]
    return {
        "upcoming_appointments": _appointment_rows(upcoming, patient=user),
        "blood_requests_by_status": _counts(
            BloodRequest.objects.filter(requester=user), "status", BloodRequest.Status.choices
        ),
        "open_emergencies": list(
            Emergency.objects.filter(OPEN_EMERGENCY, reporter=user)
            .order_by("-created_at")
            .values("id", "status", "severity", "hospital_id", "created_at")[:UPCOMING_LIMIT]
        ),
    }


def donor_dashboard(user: User) -> dict:
    if connection.vendor != "postgresql":
        figures = live_donor_figures(user)
    else:
        figures = personal.patient_figures(user, timezone.now(), donor=True)
    figures["eligibility"] = donor_eligibility(donor=user)
    return figures


def live_donor_figures(user: User) -> dict:
    figures = live_patient_dashboard(user)
    totals = Donation.objects.filter(donor=user).aggregate(donations=Count("pk"), units=Sum("units"))
    figures["donations"] = {"count": totals["donations"], "units": totals["units"] or 0}
    return figures


def driver_dashboard(user: User) -> dict:
    ambulances = list(Ambulance.objects.filter(driver=user).values("id", "vehicle_number", "status"))
    assignment = (
        Emergency.objects.filter(OPEN_EMERGENCY, ambulance__driver=user)
        .order_by("-updated_at")
        .values(
            "id",
            "status",
            "severity",
            "emergency_type",
            "patient_name",
            "contact_number",
            "address",
            "latitude",
            "longitude",
            "hospital_id",
            "ambulance_id",
        )
        .first()
    )
    return {"ambulances": ambulances, "current_assignment": assignment}


def _cached_until_next_write(key: str, build) -> dict:
    """The figures with the time they were computed (`as_of`), kept until the next committed write."""
    return readcache.cached(key, lambda: {"as_of": timezone.now(), **build()}, seconds=settings.DASHBOARD_CACHE_SECONDS)


def _upcoming_not_started(figures: dict) -> bool:
    upcoming = figures["upcoming_appointments"]
    return not upcoming or upcoming[0]["start"] >= timezone.now()


def dashboard_for(user: User) -> dict:
    # The two dashboards that aggregate whole tables are served from the read cache (the key names the
    # day their "today" means, so they never outlive it), and so is a patient's; the others are cheap
    # and computed each time.
    if user.role in (User.Role.ADMIN, User.Role.HOSPITAL_ADMIN) and settings.DASHBOARD_CACHE_SECONDS <= 0:
        # Computed on every request: no cache key to name (the hospital admin's would need its hospital).
        build = admin_dashboard if user.role == User.Role.ADMIN else lambda: hospital_admin_dashboard(user)
        figures = {"as_of": timezone.now(), **build()}
    elif user.role == User.Role.ADMIN:
        day = _today_window(settings.TIME_ZONE)[0].date()
        figures = _cached_until_next_write(f"dashboard:admin:{day}", admin_dashboard)
    elif user.role == User.Role.HOSPITAL_ADMIN:
        day = _today_window(user.hospital.timezone)[0].date()
        figures = _cached_until_next_write(
            f"dashboard:hospital:{user.hospital_id}:{day}", lambda: hospital_admin_dashboard(user)
        )
    elif user.role == User.Role.USER:
        # A patient's own figures, asked for on every app start: kept until the next committed write,
        # or until the first upcoming appointment starts (the only way time alone changes them).
        figures = readcache.cached(
            f"dashboard:patient:{user.pk}",
            lambda: {"as_of": timezone.now(), **patient_dashboard(user)},
            seconds=settings.READ_CACHE_SECONDS,
            still_valid=_upcoming_not_started,
        )
    else:
        builders = {
            User.Role.DOCTOR: doctor_dashboard,
            User.Role.DONOR: donor_dashboard,
            User.Role.AMBULANCE_DRIVER: driver_dashboard,
        }
        figures = {"as_of": timezone.now(), **builders[user.role](user)}
    return {"role": user.role, **figures}
