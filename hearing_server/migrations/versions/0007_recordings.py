"""The recordings catalogue: the hearing's court, case number and type, composition progress,
legal hold and deletion on each recording's row.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
# Asked to revise 0004; main already has 0008 on 0004, so this follows it to keep one head
# (the integrator re-chains).
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("court_id", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("case_number", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("case_type", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("progress", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.alter_column("case_number", server_default=None)
        batch_op.alter_column("case_type", server_default=None)
        batch_op.alter_column("legal_hold", server_default=None)
        batch_op.create_index(batch_op.f("ix_recordings_court_id"), ["court_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recordings_case_number"), ["case_number"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_case_number"))
        batch_op.drop_index(batch_op.f("ix_recordings_court_id"))
        for column in ("deleted_at", "legal_hold", "progress", "case_type", "case_number"):
            batch_op.drop_column(column)
        batch_op.drop_column("court_id")
