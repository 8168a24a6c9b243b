"""Admin plumbing the apps share: rows that change only through the API's rules are shown, not
edited; nothing that carries history is deleted by hand. Registers the plumbing's one model, the
scheduled jobs' runs (beat's schedules are django-celery-beat's own admin)."""

from django.contrib import admin

from hms.models import JobRun


class NoDeleteAdmin(admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


class NoAddAdmin(NoDeleteAdmin):
    """Rows that only the API creates (with the events and side effects of their creation): never added
    or deleted by hand; the fields a subclass leaves writable can be corrected."""

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(NoAddAdmin):
    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    """History rows: shown, never added, changed or deleted by hand."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "trigger", "started_at", "finished_at", "ok"]
    list_filter = ["name", "ok", "trigger"]
    date_hierarchy = "started_at"
    readonly_fields = ["name", "trigger", "started_at", "finished_at", "ok", "result", "error"]
