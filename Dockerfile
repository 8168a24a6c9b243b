# HMS API image: slim Python 3.11, non-root, gunicorn behind the entrypoint that waits for the
# database and migrates. Build: docker build -t hms . ; run: see compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN groupadd --system hms && useradd --system --gid hms --home /app hms

# requirements.lock (`make lock`): every package pinned with its sha256, so the image gets the
# exact files the tests ran on, or fails to build.
COPY requirements.txt requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY --chown=hms:hms . .
# collectstatic needs a key only to import settings; the real one comes from the environment.
RUN SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput -v 0

USER hms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"
ENTRYPOINT ["deploy/entrypoint.sh"]
