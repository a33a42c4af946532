"""Community desk: a Telegram bot for residential communities."""
