"""Wiring of the hearing server: settings, persistence, services, CLI and the app factory."""

__version__ = "0.1.0"
