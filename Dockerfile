# syntax=docker/dockerfile:1
# syncer as a container: a wheel built in a builder stage, installed into a slim, non-root runtime.
#   config   mount read-only at /config (one YAML file per org; SYNCER_CONFIG_DIR)
#   secrets  environment variables or /run/secrets/<name> files, as each org config names them
#   state    PostgreSQL via SYNCER_DATABASE_URL (the SQLite default under /data suits one replica trying it out)
# The default command is the long-running scheduler with /healthz, /readyz and /metrics on port 8080;
# `syncer worker`, `syncer migrate`, `syncer backfill ...` run from the same image (see compose.yaml).

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncer ./syncer
COPY adapters ./adapters
COPY mappings ./mappings
# the project's wheel and the wheels of everything it needs (with the PostgreSQL driver), resolved together
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

FROM python:3.11.11-slim-bookworm
LABEL org.opencontainers.image.title="syncer" \
      org.opencontainers.image.description="CRM feedback -> tracker backlog items; tracker milestones -> CRM alerts" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# install exactly the wheels the builder resolved, offline; no compiler or build tool in this image
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl \
    && useradd --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin syncer \
    && mkdir -p /data /config \
    && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
ENV SYNCER_CONFIG_DIR=/config \
    SYNCER_DATABASE_URL=sqlite:////data/syncer.db
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]
ENTRYPOINT ["syncer"]
CMD ["schedule", "--config-dir", "/config", "--http-port", "8080", "--http-host", "0.0.0.0"]
