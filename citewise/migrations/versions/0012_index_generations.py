"""Index generations: which physical collection and which dense encoder a logical collection answers from,
and the reindex that is building its next generation.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_generations",
        sa.Column("collection", sa.String(200), primary_key=True),
        sa.Column("physical", sa.String(300), nullable=False),
        sa.Column("encoder", sa.String(64), nullable=False),
        sa.Column("target_physical", sa.String(300), nullable=True),
        sa.Column("target_encoder", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("index_generations")
