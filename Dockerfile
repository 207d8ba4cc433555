# One image for both processes:
#   API:    docker run IMAGE                       (uvicorn app.main:app)
#   worker: docker run IMAGE python -m app.worker   (health: python -m app.worker check)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 clinicsms
WORKDIR /srv
COPY --from=build /install /usr/local
COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
RUN mkdir -p /srv/data && chown clinicsms /srv/data
USER clinicsms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "python -m app.cli migrate && exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --no-access-log"]
