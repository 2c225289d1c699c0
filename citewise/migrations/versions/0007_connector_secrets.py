"""Connector credentials, encrypted, apart from the plain options; the version each document had at its
source (ETag, blob id, updated-at, UID), so unchanged items are listed, not fetched.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _tables() -> set[str]:
    return set(sa.inspect(op.get_bind()).get_table_names())


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("source_version", sa.Text, nullable=True))
    if "connectors" not in _tables():
        return  # a database adopted from before migrations, which had no connectors table (as in 0002)
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("secrets", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("source_version")
    if "connectors" not in _tables():
        return
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("secrets")
