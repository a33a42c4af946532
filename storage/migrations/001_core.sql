-- Core loop: people, staff links, tickets, events, drafts, outbox, processed updates.
CREATE TABLE people (
    user_id INTEGER PRIMARY KEY,
    display_name TEXT NOT NULL,
    username TEXT,
    locale TEXT NOT NULL DEFAULT 'zh',
    started_at TEXT,
    unreachable_since TEXT
);

CREATE TABLE staff_links (
    staff_key TEXT PRIMARY KEY,
    user_id INTEGER UNIQUE,
    invite_token TEXT UNIQUE,
    linked_at TEXT
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id INTEGER NOT NULL,
    reporter_name TEXT NOT NULL,
    origin_chat_id INTEGER NOT NULL,
    origin_message_id INTEGER,
    origin_is_group INTEGER NOT NULL,
    text TEXT NOT NULL,
    category TEXT NOT NULL,
    building TEXT,
    unit TEXT,
    room TEXT,
    urgent INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    assignee_key TEXT,
    created_at TEXT NOT NULL,
    assigned_at TEXT,
    accepted_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    resolution_note TEXT,
    rating INTEGER,
    rated_at TEXT,
    rating_comment TEXT,
    parent_id INTEGER REFERENCES tickets(id)
);
CREATE INDEX tickets_state ON tickets(state);
CREATE INDEX tickets_reporter ON tickets(reporter_id, created_at);
CREATE INDEX tickets_assignee ON tickets(assignee_key, state);

CREATE TABLE ticket_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at TEXT NOT NULL,
    actor_id INTEGER,
    actor_key TEXT,
    kind TEXT NOT NULL,
    note TEXT
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, id);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER REFERENCES tickets(id),
    draft_id INTEGER REFERENCES drafts(id),
    kind TEXT NOT NULL,
    file_id TEXT,
    latitude REAL,
    longitude REAL,
    added_by INTEGER,
    added_at TEXT NOT NULL
);
CREATE INDEX attachments_ticket ON attachments(ticket_id);
CREATE INDEX attachments_draft ON attachments(draft_id);

CREATE TABLE drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reporter_id INTEGER NOT NULL,
    reporter_name TEXT NOT NULL,
    chat_id INTEGER NOT NULL,
    message_id INTEGER,
    is_group INTEGER NOT NULL,
    text TEXT NOT NULL,
    category TEXT NOT NULL,
    building TEXT,
    unit TEXT,
    room TEXT,
    urgent INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    ticket_id INTEGER REFERENCES tickets(id)
);
CREATE INDEX drafts_reporter ON drafts(reporter_id, state);

CREATE TABLE declines (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    staff_key TEXT NOT NULL,
    PRIMARY KEY (ticket_id, staff_key)
);

CREATE TABLE duty_overrides (
    staff_key TEXT NOT NULL,
    local_date TEXT NOT NULL,
    on_duty INTEGER NOT NULL,
    PRIMARY KEY (staff_key, local_date)
);

-- What a user is in the middle of typing for: a resolution note, a rating comment.
CREATE TABLE pending_inputs (
    user_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    created_at TEXT NOT NULL
);

-- Messages the bot posted about a ticket, so cards can be edited later.
CREATE TABLE ticket_messages (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key TEXT NOT NULL UNIQUE,
    chat_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    sent_message_id INTEGER,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(state, next_try_at, id);

CREATE TABLE processed_updates (
    update_id INTEGER PRIMARY KEY,
    at TEXT NOT NULL
);

CREATE TABLE known_chats (
    chat_id INTEGER PRIMARY KEY,
    title TEXT,
    bot_removed_at TEXT
);

-- Per-user intake rate limiting: recent accepted requests.
CREATE TABLE intake_log (
    user_id INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX intake_log_user ON intake_log(user_id, at);
