from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle

from hms.api.client import client_ip
from hms.api.throttling import WindowCountThrottle


class EmergencyReportThrottle(AnonRateThrottle, WindowCountThrottle):
    """Anonymous emergency reports, per client address on the shared cache (`emergency_report` rate).

    Signed-in callers are not counted here (AnonRateThrottle skips them); they are accountable by name.
    Counted atomically in a window (hms.api.throttling).
    """

    scope = "emergency_report"

    def get_rate(self):
        # Read at request time: DRF binds THROTTLE_RATES when the module is imported, so a changed
        # setting (tests, a reloaded configuration) would otherwise be ignored.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request)
