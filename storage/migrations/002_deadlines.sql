-- Service-level deadlines, fixed when a ticket is filed, so stats and reminders agree.
ALTER TABLE tickets ADD COLUMN ack_due_at TEXT;
ALTER TABLE tickets ADD COLUMN resolve_due_at TEXT;
CREATE INDEX tickets_created ON tickets(created_at);
