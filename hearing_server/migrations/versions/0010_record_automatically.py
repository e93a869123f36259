"""A hearing may record by itself from its start: a per-hearing setting made when scheduling.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sessions scheduled before the setting existed keep recording by hand only.
    op.add_column(
        "sessions",
        sa.Column("record_automatically", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of ``sessions`` would drop the old
    # table, and with foreign keys on, everything that cascades from it (invitations...).
    op.drop_column("sessions", "record_automatically")
