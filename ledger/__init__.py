"""Orders, stock, money and everything that writes PostgreSQL."""
