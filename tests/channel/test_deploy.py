"""What of the image can be tested without Docker (README: Deploying): the Dockerfile's command
and health check run as written against a real database, the settings they need exist, fly.toml
fits them, and a regular (non-editable) install carries every file the app reads at run time."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import aiohttp
import pytest

from bot.cli import parser
from bot.settings import Settings
from ledger import migrate
from tests.channel.test_crash_recovery import _free_port
from tests.conftest import ROOT, eventually

PACKAGES = ("bot", "catalog", "dialogs", "ledger", "locales", "web")


def _stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """Each build stage's instructions as (INSTRUCTION, arguments), continuations joined."""
    lines, pending = [], ""
    for raw in dockerfile.read_text().splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        instruction, _, rest = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), rest.strip()))
    return stages


def _env_names(args: str) -> set[str]:
    return {word.partition("=")[0] for word in shlex.split(args)}


FINAL = _stages(ROOT / "Dockerfile")[-1]


def _one(instruction: str) -> str:
    [args] = [a for i, a in FINAL if i == instruction]
    return args


def _env_example() -> set[str]:
    return {line.partition("=")[0] for line in (ROOT / ".env.example").read_text().splitlines()
            if line and not line.startswith("#")}


def _fields() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_the_final_stage_holds_the_virtualenv_only_and_runs_unprivileged():
    stages = _stages(ROOT / "Dockerfile")
    assert len(stages) >= 2
    assert FINAL[0] == ("FROM", "python:3.11-slim")
    assert [a for i, a in FINAL if i == "COPY"] == ["--from=builder /opt/venv /opt/venv"]
    runs = " ".join(a for i, a in FINAL if i == "RUN")
    assert "pip" not in runs and "apt-get" not in runs  # nothing is installed there
    user = _one("USER")
    assert user not in ("root", "0") and f"useradd --create-home --uid 10001 {user}" in runs
    builder = " ".join(a for i, a in stages[0] if i == "RUN")
    assert "python -m locales.compile" in builder  # the translations are compiled into the venv
    copied = {a.split()[0] for i, a in stages[0] if i == "COPY"}
    assert set(PACKAGES) <= copied and {"pyproject.toml"} <= copied


def test_the_image_settings_exist_and_are_documented():
    names = set().union(*(_env_names(a) for i, a in FINAL if i == "ENV"))
    app_settings = names - {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PATH"}
    assert {"HOST", "PORT", "KHAACHO_DATA_DIR"} <= app_settings
    assert app_settings <= _fields() and app_settings <= _env_example()
    # What `khaacho serve` refuses to start without is documented for the operator too.
    assert {"DATABASE_URL", "MIGRATE_DATABASE_URL", "WHATSAPP_VERIFY_TOKEN",
            "WHATSAPP_APP_SECRET", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID",
            "REPORT_SIGNING_KEY", "SHUTDOWN_TIMEOUT_SECONDS"} <= _env_example() & _fields()


def test_fly_runs_the_migration_first_and_waits_for_the_shutdown():
    fly = tomllib.loads((ROOT / "fly.toml").read_text())
    release = shlex.split(fly["deploy"]["release_command"])
    assert release == ["khaacho", "migrate"]
    assert parser().parse_args(release[1:]).command == "migrate"
    env = fly["env"]
    assert set(env) <= _fields() and set(env) <= _env_example()
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[call-arg]
    assert fly["http_service"]["internal_port"] == settings.port
    assert fly["kill_signal"] == "SIGTERM" == _one("STOPSIGNAL")
    # SIGKILL only after the server's own bound, which leaves room for a send in hand.
    assert fly["kill_timeout"] > settings.shutdown_timeout_seconds
    assert settings.shutdown_timeout_seconds > settings.outbox_send_timeout_seconds
    assert fly["http_service"]["checks"][0]["path"] == "/healthz"
    assert Settings.model_fields["shutdown_timeout_seconds"].default > (
        Settings.model_fields["outbox_send_timeout_seconds"].default)


async def test_the_image_command_and_health_check_run_as_written(database_url, owner_url,
                                                                 tmp_path):
    command = json.loads(_one("CMD"))
    health = json.loads(_one("HEALTHCHECK").split(" CMD ", 1)[1])
    assert command[0] == "khaacho" == next(iter(tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["project"]["scripts"]))
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": database_url,
           "MIGRATE_DATABASE_URL": owner_url, "KHAACHO_DATA_DIR": str(tmp_path),
           "LOG_LEVEL": "WARNING", "SHUTDOWN_TIMEOUT_SECONDS": "5"}

    def healthy() -> bool:
        return subprocess.run([sys.executable, *health[1:]], env=env, cwd=tmp_path,
                              capture_output=True, timeout=30).returncode == 0

    assert not healthy()  # nothing listens yet: the check fails
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        # The image's command as written (its `khaacho` is this interpreter's bot.cli).
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *command[1:], cwd=ROOT, env=env,
            stdout=out, stderr=out)
    try:
        async def up() -> bool:
            assert process.returncode is None, log.read_text()[-3000:]
            try:
                async with aiohttp.ClientSession() as session, session.get(
                        f"http://127.0.0.1:{port}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False
        await eventually(up, within=60, every=0.1)  # PORT from the environment, all migrated
        assert await asyncio.to_thread(healthy)
        os.kill(process.pid, signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not healthy()


def _tracked_data_files() -> set[str]:
    listed = subprocess.run(["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    return {name for name in listed if not name.endswith(".py")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built, as the image's builder does, from the tracked files alone (no local .mo
    files, no build output)."""
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(["git", "ls-files", "pyproject.toml", "README.md", *PACKAGES],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    # With this environment's setuptools and wheel (the test extras): no network needed.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                            "--no-build-isolation", "--quiet", "-w", str(out), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    [path] = out.glob("khaacho-*.whl")
    return path


def test_the_wheel_carries_every_file_the_app_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert _tracked_data_files() - names == set()
    for needed in ("ledger/migrations/001_foundation.sql", "locales/ne/LC_MESSAGES/messages.po",
                   "bot/fonts/OFL.txt", "web/__init__.py"):
        assert needed in names
    for folder in ("bot/templates/", "bot/static/", "web/templates/", "web/static/",
                   "bot/fonts/"):
        assert any(n.startswith(folder) for n in names), folder
    assert not any(n.endswith(".mo") for n in names)  # compiled in the image, from the .po


def test_an_installed_copy_compiles_its_translations_and_finds_its_files(wheel, tmp_path):
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                                "--no-index", "--quiet", "--target", str(target), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    # As in the Dockerfile: from /, so "locales" is the installed copy, not a source tree.
    subprocess.run([sys.executable, "-m", "locales.compile"], cwd="/", env=env, check=True,
                   capture_output=True, timeout=60)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.mo")) == [
        "locales/en/LC_MESSAGES/messages.mo", "locales/ne/LC_MESSAGES/messages.mo"]
    probe = ("import bot, web, locales.render as r\n"
             "from ledger import migrate\n"
             "print(bot.__file__)\n"
             "print(len(migrate.available()))\n"
             # Without its .mo file, gettext falls back to the English msgid.
             "print(r.Messages().gettext('ne', 'Confirm') != 'Confirm')\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd="/", env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    where, migrations, translated = done.stdout.split()
    assert where.startswith(str(target))
    assert int(migrations) == len(migrate.available())
    assert translated == "True"
