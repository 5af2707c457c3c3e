"""The conversations people have with the bot: retailers, vendors, operators and admins."""
