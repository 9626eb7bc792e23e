# Clientele's image: the web app (gunicorn), the Celery worker and beat all run from it.
# docker-compose.yml shows how; the default command serves the web app on $PORT (8000).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app

# Dependencies first, so a code change does not reinstall them. Every requirement ships a
# manylinux wheel (psycopg2-binary carries its own libpq), so no compiler is needed.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Hashed, compressed static files for whitenoise, built once into the image. Settings need a
# SECRET_KEY with DEBUG off; this throw-away one exists only during the build.
RUN DEBUG=0 SECRET_KEY=collectstatic-at-build-time-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput \
 && rm -f /tmp/build.sqlite3

# Uploaded files (MEDIA_ROOT): a volume mounted here takes this folder's owner, the app user.
RUN mkdir -p /app/media && chown app:app /app/media

USER app
EXPOSE 8000

CMD ["gunicorn", "crm_site.wsgi", "-c", "gunicorn.conf.py"]
