from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self):
        import appointments.jobs  # noqa: F401 - registers the app's jobs (@jobs.job)
        from appointments.topics import register_topics

        register_topics()
        from appointments.services.waitlist import expire_offers
        from hms import jobs

        jobs.register(
            "appointments.waitlist_offers",
            expire_offers,
            every_seconds=60,
            description="Waitlist offers whose hold lapsed expire and pass to the next entry; seats freed "
            "by lapsed holds are offered to waiting entries.",
        )
