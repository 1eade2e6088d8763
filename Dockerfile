# One image for every Python service of the stack: web, worker and monitor.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY backend ./backend
COPY monitor ./monitor
EXPOSE 8000 8501
CMD ["python", "backend/manage.py", "runserver", "0.0.0.0:8000"]
