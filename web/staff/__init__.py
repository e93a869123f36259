"""Court staff pages: login, scheduling, today's and live sessions, live monitor, audit log."""
