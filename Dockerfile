# One image for every process:
#   API:     docker run IMAGE                                  (uvicorn app.main:app)
#   worker:  docker run IMAGE python -m app.worker             (health: python -m app.worker check)
#   migrate: docker run IMAGE python -m app.cli migrate        (once per deploy, before the rest)
FROM python:3.11-slim AS build
WORKDIR /src
# Only the dependencies, from the hash-locked requirements: a code change reuses this layer.
COPY requirements/main.lock ./requirements/main.lock
RUN pip install --no-cache-dir --require-hashes --prefix=/install -r requirements/main.lock

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 clinicsms
WORKDIR /srv
COPY --from=build /install /usr/local
# The code runs from /srv (the working directory), beside alembic.ini and migrations/.
COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
RUN mkdir -p /srv/data /srv/metrics && chown 10001 /srv/data /srv/metrics
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
