# leadpool: webhook receiver + worker. Build: docker build -t leadpool .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY connector ./connector
RUN pip install . && useradd --system --create-home --uid 10001 leadpool \
    && mkdir -p /app/var && chown leadpool /app/var
COPY config ./config

USER leadpool
EXPOSE 8000
# The worker runs in-process by default (connector.yaml worker.in_server); with several
# replicas on PostgreSQL, run `leadpool worker` as its own process instead.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", \
     "connector.wsgi:app"]
