"""Staff credentials: tokens revoked by logout, failed logins counted for back-off; and
staff accounts bound to the server's court where that is unambiguous.

Every staff account other than a system-wide administrator now belongs to a court (a
court-less one may act on no court). Accounts made before this, with no court, are bound to
the only court when the server has exactly one; with several courts an administrator must
choose.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revoked_staff_tokens",
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_revoked_staff_tokens")),
    )
    with op.batch_alter_table("revoked_staff_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_staff_tokens_expires_at"), ["expires_at"], unique=False
        )
    op.create_table(
        "login_failures",
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_failures_last_failure_at"), ["last_failure_at"], unique=False
        )
    op.execute(
        "UPDATE staff_users SET court_id = (SELECT id FROM courts) "
        "WHERE court_id IS NULL AND role <> 'admin' AND (SELECT COUNT(*) FROM courts) = 1"
    )


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_last_failure_at"))
    op.drop_table("login_failures")
    with op.batch_alter_table("revoked_staff_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_staff_tokens_expires_at"))
    op.drop_table("revoked_staff_tokens")
