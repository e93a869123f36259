"""Domain errors carry a machine-readable code, the rule that refused, and bilingual text."""

from __future__ import annotations

from rooms.text import Text


class DomainError(Exception):
    """Base of every refusal the domain gives; edges map ``code`` to their own status."""

    code = "domain_error"

    def __init__(self, rule: str, message: Text) -> None:
        super().__init__(message.en)
        self.rule = rule
        self.message = message


class InvalidTransition(DomainError):
    code = "invalid_state"


class PermissionDenied(DomainError):
    code = "forbidden"


class PolicyViolation(DomainError):
    code = "policy_violation"


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid_input"
