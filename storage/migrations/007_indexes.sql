-- Routing's round-robin reads the latest 'assigned' event per staff member on every request.
CREATE INDEX ticket_events_kind ON ticket_events(kind, actor_key, at);
