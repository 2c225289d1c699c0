"""Group memberships synced from sources: a user's groups follow the source.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_memberships",
        sa.Column("tenant", sa.String(200), primary_key=True),
        sa.Column("source_id", sa.String(1000), primary_key=True),
        sa.Column("user", sa.String(400), primary_key=True),
        sa.Column("group", sa.String(400), primary_key=True),
    )
    op.create_index("ix_group_memberships_user", "group_memberships", ["tenant", "user"])


def downgrade() -> None:
    op.drop_index("ix_group_memberships_user", "group_memberships")
    op.drop_table("group_memberships")
