"""Identity links: a user's ids at sources that name users by their own ids, linked to the user's e-mail.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_links",
        sa.Column("tenant", sa.String(200), primary_key=True),
        sa.Column("external", sa.String(400), primary_key=True),
        sa.Column("user_id", sa.String(200), nullable=False),
    )
    op.create_index("ix_identity_links_user_id", "identity_links", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_identity_links_user_id", "identity_links")
    op.drop_table("identity_links")
