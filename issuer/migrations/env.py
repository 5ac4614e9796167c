"""Alembic environment: runs on the connection handed over by issuer.migrate."""

from alembic import context

from issuer import models  # noqa: F401  (registers the tables on Base.metadata)
from issuer.db import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
