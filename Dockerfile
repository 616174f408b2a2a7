# syntax=docker/dockerfile:1
# One image for every process: `docker run IMAGE web|socket|worker|explain ...`.
# Build: docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm -t kms-why .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: install the package and its dependencies into a self-contained venv ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python -m venv /opt/kms-why
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY handlers ./handlers
# Not editable, so the runtime stage needs only /opt/kms-why; pip compiles the .pyc files here, at
# build time, because the read-only root filesystem forbids writing them later. setup.py compiles the
# policy engine only where a C compiler is at hand, which this slim base lacks: the image runs the
# pure-Python engine, ample for a bot's few evaluations per analysis (BENCHMARKS.md has both figures).
RUN /opt/kms-why/bin/pip install --no-cache-dir --compile . \
    && /opt/kms-why/bin/kms-why --help > /dev/null

# --- runtime: the same base (the venv's python symlinks into it), no compilers, no source ----------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kms-why" \
      org.opencontainers.image.description="Slack bot that explains AWS KMS AccessDenied errors" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/kms-why/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONFAULTHANDLER=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN groupadd --system --gid 10001 kms-why \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin kms-why
COPY --from=build /opt/kms-why /opt/kms-why
WORKDIR /tmp
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 3000
# Exec form: kms-why is PID 1 and receives SIGTERM itself (see docs/operations.md, "Stopping").
ENTRYPOINT ["kms-why"]
CMD ["web"]
