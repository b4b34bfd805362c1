# syntax=docker/dockerfile:1
# One image for every IKM service; the first argument names the service:
#   docker run ikm-platform registry|subsidy|training|notify|insights|topics
# Settings come only from environment variables (docs/operations.md#configuration-reference).

# Base images are pinned by digest: the tag says what it is, the digest fixes the bytes.
# Renovate (renovate.json, pinDigests) proposes new tags with their digests; tests/deploy/
# test_images.py fails on an image without one. Where each digest was published:
#   python:3.13-slim-bookworm  checked by `docker pull` (2026-07-18) in a public repository's notes
#   ghcr.io/astral-sh/uv:0.13.0  pinned so in several public Dockerfiles; no public pin of
#     0.13.9 (the version the lock was written with) was found and no registry is reachable
#     here; uv 0.13.0 reads this uv.lock (`uv lock --check` passes with it).
ARG PYTHON_IMAGE=python:3.13-slim-bookworm@sha256:9d7f287598e1a5a978c015ee176d8216435aaf335ed69ac3c38dd1bbb10e8d64
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.0@sha256:cdc6093146eb3ff6a40107b38f008b789e050e77ad87865e381d9917da55a168

FROM ${UV_IMAGE} AS uv

# --- build: resolve the locked dependencies with uv into a virtualenv --------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
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
# ikmdev (the laptop's embedded stack behind `ikm dev`) is built into the wheel but no service
# imports it (tests/deploy/test_images.py): the image carries only what runs.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable \
 && rm -rf /opt/ikm/venv/lib/python3.*/site-packages/ikmdev

# --- runtime: the virtualenv, the entrypoint and an unprivileged user -----------------------
FROM ${PYTHON_IMAGE} AS runtime
# OCI image annotations; the build-specific ones come from build arguments:
#   docker build --build-arg VERSION=1.0.0 --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" --build-arg SOURCE=<repository URL> .
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="ikm-platform" \
      org.opencontainers.image.description="IKM platform services (registry, subsidy, training, notify, insights) and the topic job" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
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
