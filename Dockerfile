FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN useradd --create-home khaacho
COPY pyproject.toml README.md ./
COPY bot bot
COPY catalog catalog
COPY dialogs dialogs
COPY ledger ledger
COPY locales locales
# Compile the gettext catalogs where the installed package lives (cd / so "locales" is not
# imported from the source tree).
RUN pip install --no-cache-dir . && cd / && python -m locales.compile
USER khaacho
EXPOSE 8080
CMD ["khaacho", "serve", "--host", "0.0.0.0", "--port", "8080"]
