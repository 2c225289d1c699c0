"""Human review: feedback on answers and the review queue.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False, index=True),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=False, index=True),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_table(
        "review_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False, index=True),
        sa.Column("tenant", sa.String(200), nullable=False, index=True),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("question", sa.Text),
        sa.Column("answer", sa.Text),
        sa.Column("sources", sa.Text, nullable=False),
        sa.Column("flags", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expected_answer", sa.Text),
        sa.Column("should_refuse", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("resolved_at", TZ),
        sa.UniqueConstraint("tenant", "trace_id", name="uq_review_trace"),
    )


def downgrade() -> None:
    op.drop_table("review_items")
    op.drop_table("feedback")
