"""Alembic runs inside the server's own connection: ``hearing-server db upgrade``."""

from alembic import context

from hearing_server.persistence.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with 'hearing-server db upgrade'")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
