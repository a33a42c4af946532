-- Updates as fetched, stored before Telegram is told they arrived (the next getUpdates
-- offset confirms them), so a crash between fetching and handling loses nothing.
CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL
);
