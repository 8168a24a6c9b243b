from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Inter-hospital referrals"

    def ready(self):
        from emergency.ambulances import register_ambulance_job
        from transfers.models import Referral

        # An ambulance carrying a referral's patient is on a job: its manual status and hospital stay put.
        register_ambulance_job(
            lambda ambulance_id: Referral.objects.filter(
                ambulance_id=ambulance_id, status=Referral.Status.IN_TRANSIT
            ).exists()
        )
