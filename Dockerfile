# syncer: slim, non-root. Config is mounted read-only at /config; state lives in PostgreSQL
# (SYNCER_DATABASE_URL) or a volume at /data for SQLite.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncer ./syncer
COPY adapters ./adapters
COPY mappings ./mappings
RUN pip install --no-cache-dir --prefix=/install '.[postgres]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 syncer && mkdir -p /data /config && chown syncer /data
COPY --from=build /install /usr/local
USER syncer
WORKDIR /data
ENV SYNCER_CONFIG_DIR=/config \
    SYNCER_DATABASE_URL=sqlite:////data/syncer.db \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["syncer"]
CMD ["--help"]
