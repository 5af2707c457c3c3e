# Two stages: the builder installs the package and its dependencies into a virtualenv and
# compiles the translations there; the final image gets that virtualenv only (no pip cache, no
# source tree, no build tools) and runs as an unprivileged user. README: Deploying.

FROM python:3.11-slim AS builder
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY catalog catalog
COPY dialogs dialogs
COPY ledger ledger
COPY locales locales
COPY web web
# A regular (not editable) install: templates, static files, fonts, migrations and the .po
# catalogs come as package data (pyproject.toml). The .mo files are compiled where the installed
# package lives (from / so that "locales" is not imported from /src), then pip leaves the venv:
# the final image installs nothing.
RUN pip install . \
 && cd / && python -m locales.compile \
 && pip uninstall --yes pip setuptools

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 PORT=8080 KHAACHO_DATA_DIR=/home/khaacho/var
RUN useradd --create-home --uid 10001 khaacho
COPY --from=builder /opt/venv /opt/venv
USER khaacho
WORKDIR /home/khaacho
EXPOSE 8080
# The slim image has no curl: Python asks /healthz (any non-2xx or no answer raises: unhealthy).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]
# SIGTERM: stop taking webhooks, finish the message in hand, exit within
# SHUTDOWN_TIMEOUT_SECONDS (docs/operations.md: Deploys). Exec form, so the signal reaches it.
STOPSIGNAL SIGTERM
# The port comes from PORT (the platform's), read by the settings.
CMD ["khaacho", "serve", "--host", "0.0.0.0"]
