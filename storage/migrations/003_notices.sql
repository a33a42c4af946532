-- Scheduled notices: the schedule is data. Config-defined notices are upserted by their
-- stable config_id; notices made in chat (/notice) live only here.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    config_id TEXT UNIQUE,
    config_hash TEXT,                -- config definition last applied; chat edits survive until it changes
    kind TEXT NOT NULL,              -- announcement, lecture, vaccine
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    speaker TEXT,
    place TEXT,
    notes TEXT,
    eligible TEXT,
    bring TEXT,
    topics TEXT NOT NULL DEFAULT '{}', -- lecture series: {"YYYY-MM": {"title": ..., "speaker": ...}}
    topic TEXT,                      -- subscription topic for DM delivery
    rule TEXT NOT NULL,              -- bot/recurrence.py JSON, local to the community's zone
    announce_minutes INTEGER NOT NULL DEFAULT 0, -- post this long before each occurrence
    chats TEXT NOT NULL DEFAULT '[]',
    capacity INTEGER,                -- NULL: no sign-up
    state TEXT NOT NULL DEFAULT 'active', -- active, paused, cancelled, retired
    checked_until TEXT NOT NULL,     -- every occurrence posted at or before this is decided
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per (notice, occurrence): inserted in the same transaction as the outbox rows,
-- so an occurrence is posted exactly once across restarts.
CREATE TABLE notice_occurrences (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    occurs_at TEXT NOT NULL,
    post_at TEXT NOT NULL,
    outcome TEXT NOT NULL,           -- sent, late, skipped (missed beyond grace), no_topic
    decided_at TEXT NOT NULL,
    PRIMARY KEY (notice_id, occurs_at)
);
CREATE INDEX notice_occurrences_time ON notice_occurrences(occurs_at);

CREATE TABLE notice_rsvps (
    notice_id INTEGER NOT NULL REFERENCES notices(id),
    occurs_at TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    status TEXT NOT NULL,            -- going, waiting, cancelled
    seq INTEGER NOT NULL,            -- queue order; a new sign-up after cancelling goes last
    created_at TEXT NOT NULL,
    confirmed_at TEXT,               -- when the place was granted (reminders after this only)
    PRIMARY KEY (notice_id, occurs_at, user_id)
);
CREATE INDEX notice_rsvps_queue ON notice_rsvps(notice_id, occurs_at, status, seq);

CREATE TABLE notice_subscriptions (
    user_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, topic)
);

-- Every DM this feature owes, keyed like the outbox. Rows due in quiet hours wait here
-- (not in the outbox, where they would hold up the person's other messages).
CREATE TABLE notice_dms (
    idem_key TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    payload TEXT NOT NULL,
    deliver_after TEXT NOT NULL,
    expires_at TEXT,
    released_at TEXT,
    dropped INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notice_dms_waiting ON notice_dms(released_at, deliver_after);

-- The /notice conversation, persisted so a restart does not lose a half-written notice.
CREATE TABLE notice_drafts (
    user_id INTEGER PRIMARY KEY,
    step TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
