"""Uploads too big to ingest inside the request are queued: their state lives in `uploads`.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(200), nullable=False, index=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("acl", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("doc_id", sa.String(64)),
        sa.Column("chunks", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
    )


def downgrade() -> None:
    op.drop_table("uploads")
