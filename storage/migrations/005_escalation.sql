-- Acknowledgement escalation, resolution kinds, followers and staff-opened tickets.
CREATE TABLE escalations (
    ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
    step INTEGER NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0,
    next_at TEXT NOT NULL
);
CREATE INDEX escalations_due ON escalations(next_at);

ALTER TABLE tickets ADD COLUMN resolution_kind TEXT;
ALTER TABLE tickets ADD COLUMN follow_up_at TEXT;
ALTER TABLE tickets ADD COLUMN on_behalf INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN deadline_reminded_at TEXT;
CREATE INDEX tickets_resolve_due ON tickets(resolve_due_at);

CREATE TABLE followers (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    user_id INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    message_id INTEGER,
    is_group INTEGER NOT NULL,
    text TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);

-- Once-a-day work (the overdue report) records its day so a restart does not repeat it.
CREATE TABLE daily_runs (
    name TEXT NOT NULL,
    local_date TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (name, local_date)
);
