-- Stats, digests and the monthly summary.

-- When a ticket was first accepted: accepted_at moves when a reopened ticket is accepted
-- again, but the response rate is about the first answer. Kept by triggers so every code
-- path that accepts a ticket fills it, and stats read one column instead of the events.
ALTER TABLE tickets ADD COLUMN first_accepted_at TEXT;
UPDATE tickets SET first_accepted_at = COALESCE(
    (SELECT MIN(e.at) FROM ticket_events e WHERE e.ticket_id = tickets.id AND e.kind = 'accepted'),
    accepted_at)
WHERE accepted_at IS NOT NULL;
CREATE TRIGGER tickets_first_accepted_on_update AFTER UPDATE OF accepted_at ON tickets
WHEN NEW.accepted_at IS NOT NULL AND NEW.first_accepted_at IS NULL
BEGIN
    UPDATE tickets SET first_accepted_at = NEW.accepted_at WHERE id = NEW.id;
END;
CREATE TRIGGER tickets_first_accepted_on_insert AFTER INSERT ON tickets
WHEN NEW.accepted_at IS NOT NULL AND NEW.first_accepted_at IS NULL
BEGIN
    UPDATE tickets SET first_accepted_at = NEW.accepted_at WHERE id = NEW.id;
END;

-- One row per digest or summary period once its messages are queued, so a restart (or the
-- job and a fast-forward racing) never sends the same week or month twice.
CREATE TABLE report_runs (
    kind TEXT NOT NULL,      -- weekly_digest, monthly_summary
    period TEXT NOT NULL,    -- 2026-W49, 2026-11
    at TEXT NOT NULL,
    PRIMARY KEY (kind, period)
);
