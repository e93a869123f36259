"""Short join links: each invitation's short code, and which link replaced a re-issued one.

Invitations issued before this revision get a code too, so every link still valid can be
handed out short.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here as it was at this revision (rooms/short_codes.py may change later).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LENGTH = 10


def upgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_code", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("replaced_by", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    invitations = sa.table("invitations", sa.column("id"), sa.column("short_code"))
    taken: set[str] = set()
    for (invitation_id,) in connection.execute(sa.select(invitations.c.id)).all():
        code = _fresh(taken)
        connection.execute(
            invitations.update().where(invitations.c.id == invitation_id).values(short_code=code)
        )
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.alter_column("short_code", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_invitations_short_code"), ["short_code"])


def downgrade() -> None:
    with op.batch_alter_table("invitations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_invitations_short_code"), type_="unique")
        batch_op.drop_column("replaced_by")
        batch_op.drop_column("short_code")


def _fresh(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        if code not in taken:
            taken.add(code)
            return code
