import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms.settings")
# This process serves requests: its database statements have a time limit (DB_STATEMENT_TIMEOUT_MS).
os.environ.setdefault("HMS_SERVING_REQUESTS", "1")
application = get_wsgi_application()
