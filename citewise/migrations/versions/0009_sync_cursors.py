"""Change-feed cursors (a Graph delta link, a Drive page token) per source and tenant.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_cursors",
        sa.Column("source_id", sa.String(1000), primary_key=True),
        sa.Column("tenant", sa.String(200), primary_key=True),
        sa.Column("cursor", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sync_cursors")
