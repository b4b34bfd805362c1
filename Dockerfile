# syntax=docker/dockerfile:1
# One image for every IKM service; the first argument names the service:
#   docker run ikm-platform registry|subsidy|training|notify|insights|topics
# Settings come only from environment variables (docs/operations.md#configuration-reference).

ARG PYTHON_IMAGE=python:3.13-slim-bookworm

# --- build: resolve the locked dependencies with uv into a virtualenv --------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/ikm/venv
WORKDIR /src
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY contracts ./contracts
COPY ikmkit ./ikmkit
COPY ikmdev ./ikmdev
COPY services ./services
COPY ikm_cli ./ikm_cli
# --no-editable: the project is installed into the venv, so the runtime stage needs no sources.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --- runtime: the virtualenv, the entrypoint and an unprivileged user -----------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 ikm \
 && useradd --system --uid 10001 --gid ikm --home-dir /nonexistent --shell /usr/sbin/nologin ikm \
 && mkdir -p /data && chown ikm:ikm /data
COPY --from=build /opt/ikm/venv /opt/ikm/venv
COPY deploy/docker/entrypoint.sh /usr/local/bin/ikm-service
COPY deploy/docker/create_topics.py deploy/docker/uvicorn-logging.json /opt/ikm/
# IKM_ENV=production: a service refuses to start with the development JWT secret, without a
# token key or without its event-signing key (docs/operations.md). Only laptops run development.
ENV PATH=/opt/ikm/venv/bin:$PATH \
    IKM_ENV=production \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IKM_DATA_DIR=/data
USER 10001:10001
WORKDIR /data
EXPOSE 8001 8002 8003 8004 8005
ENTRYPOINT ["/usr/local/bin/ikm-service"]
CMD ["registry"]
