-- Operator alerts (dialogs/alerts.py): one row per alert that has ever been raised, so that an
-- incident is told once however many processes watch it. Raising is an insert, or an update of
-- a cleared row, that returns a row only to the one transaction that changed it; clearing sets
-- cleared_at once. A raised alert has cleared_at NULL.
CREATE TABLE operator_alerts (
    name        text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 60),
    raised_at   timestamptz NOT NULL,
    cleared_at  timestamptz CHECK (cleared_at IS NULL OR cleared_at >= raised_at),
    detail      text NOT NULL DEFAULT '' CHECK (length(detail) <= 500),
    incidents   integer NOT NULL DEFAULT 1 CHECK (incidents >= 1)
);
