"""docs/alerts.yml is a Prometheus rules file that loads: the rules schema (groups of rules with
alert, expr, for, a severity and a summary and runbook), durations Prometheus reads, every
metric an expression names served by the app's /metrics, and every runbook a section of
docs/operations.md. Where promtool is installed it checks the file too, and runs the rules'
unit tests (docs/alerts_test.yml: each alert fires on the series it is meant for, and not
before its `for`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT

RULES = ROOT / "docs" / "alerts.yml"
RULE_TESTS = ROOT / "docs" / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"
# Prometheus's duration syntax (model.ParseDuration): units largest first, each at most once.
DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
RULE_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
SEVERITIES = {"critical", "warning"}
METRIC = re.compile(r"\bkhaacho_[a-z0-9_]+\b")
# What the issue asks alerts for, by the alert's name.
EXPECTED = {"KhaachoErrorRateHigh", "KhaachoLatencyHigh", "KhaachoDatabasePoolBusy",
            "KhaachoOutboxStuck", "KhaachoInboxStuck", "KhaachoMessagesFailing",
            "KhaachoLedgerCheckFailed", "KhaachoLedgerCheckNotRun"}


def _rules() -> list[dict]:  # type: ignore[type-arg]
    loaded = yaml.safe_load(RULES.read_text("utf-8"))
    assert set(loaded) == {"groups"}
    names = [g["name"] for g in loaded["groups"]]
    assert len(names) == len(set(names)) and all(names)
    for group in loaded["groups"]:
        assert set(group) <= {"name", "interval", "limit", "rules"} and group["rules"]
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)}


def test_every_rule_follows_the_rules_schema():
    rules = _rules()
    assert {r["alert"] for r in rules} == EXPECTED
    assert len(rules) == len(EXPECTED)  # no alert twice
    anchors = _anchors(OPERATIONS.read_text("utf-8"))
    assert "seeing-trouble" in anchors
    for rule in rules:
        name = rule["alert"]
        assert set(rule) <= RULE_KEYS and {"alert", "expr", "for", "labels",
                                           "annotations"} <= set(rule), name
        assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name)
        assert isinstance(rule["expr"], str) and rule["expr"].strip(), name
        assert rule["expr"].count("(") == rule["expr"].count(")"), name
        assert DURATION.match(rule["for"]) and rule["for"] != "", name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["annotations"]["summary"].strip(), name
        runbook = rule["annotations"]["runbook"]
        assert runbook.startswith("docs/operations.md#"), name
        assert runbook.split("#", 1)[1] in anchors, f"{name}: no section {runbook}"
        for window in re.findall(r"\[([^\]]+)\]", rule["expr"]):
            assert DURATION.match(window), f"{name}: range {window}"


async def test_every_metric_an_alert_reads_is_served_on_metrics(client):
    assert (await client.get("/healthz")).status == 200  # the request metrics have a sample
    text = await (await client.get("/metrics")).text()
    served = {s.name for family in text_string_to_metric_families(text)
              for s in family.samples}
    used = {m for rule in _rules() for m in METRIC.findall(rule["expr"])}
    assert used, "the rules read no khaacho metric"
    assert used <= served, used - served
    # The list, each in some alert.
    for needed in ("khaacho_http_requests_total", "khaacho_http_request_duration_seconds_bucket",
                   "khaacho_db_pool_in_use", "khaacho_outbox_oldest_unsent_seconds",
                   "khaacho_inbox_oldest_unhandled_seconds", "khaacho_outbox_failed",
                   "khaacho_ledger_check_problems",
                   "khaacho_ledger_check_last_run_timestamp_seconds"):
        assert needed in used, needed


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus): the rules "
                    "file was checked against the schema above only")
    return found


def test_promtool_loads_the_rules():
    result = subprocess.run([_promtool(), "check", "rules", str(RULES)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(EXPECTED)} rules found" in result.stdout


def test_promtool_unit_tests_fire_each_alert():
    tested = {a["alertname"] for t in yaml.safe_load(RULE_TESTS.read_text("utf-8"))["tests"]
              for a in t.get("alert_rule_test", [])}
    assert tested == EXPECTED
    result = subprocess.run([_promtool(), "test", "rules", str(RULE_TESTS)],
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=Path(RULE_TESTS).parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr
