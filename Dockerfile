# One image for every Python service of the stack: migrate, web, worker and monitor
# (docker-compose.yml picks the command). Runs as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.lock .
RUN pip install -r requirements.lock

COPY backend ./backend
COPY monitor ./monitor
# Streamlit reads its settings (server.address) from the directory it starts in, /app.
COPY .streamlit ./.streamlit
# The admin's styles and scripts, compressed and fingerprinted at build time, served by
# whitenoise from the web process (no separate static server). The key is a build-time
# placeholder: no request is ever served with it.
ENV DJANGO_STATIC_ROOT=/app/static
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only python backend/manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 demoseed
USER demoseed
EXPOSE 8000 8501
# gunicorn binds 0.0.0.0:$PORT; docker-compose.yml sets PORT. Its runtime control socket stays off:
# nothing here uses it, and it would be one more way into a running server.
CMD ["gunicorn", "--chdir", "backend", "config.wsgi", "--no-control-socket"]
