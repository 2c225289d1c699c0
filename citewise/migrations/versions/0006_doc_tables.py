"""Tables kept as rows for the agent's table_query tool.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "doc_tables",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(64), nullable=False, index=True),
        sa.Column("tenant", sa.String(200), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("rows", sa.Text, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("doc_tables")
