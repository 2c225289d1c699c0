"""Connector names are unique per tenant, not across tenants.

A global unique name let one tenant block another's name and told it that the name was taken elsewhere.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite reflects the old inline UNIQUE without a name; the convention names it so batch mode can drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _swap(drop_columns: list[str], create_name: str, create_columns: list[str]) -> None:
    inspector = sa.inspect(op.get_bind())
    if "connectors" not in inspector.get_table_names():
        return  # a database adopted from before migrations, which had no connectors table
    old = [u for u in inspector.get_unique_constraints("connectors") if u["column_names"] == drop_columns]
    with op.batch_alter_table("connectors", naming_convention=NAMING) as batch:
        for constraint in old:
            batch.drop_constraint(constraint["name"] or f"uq_connectors_{drop_columns[0]}", type_="unique")
        batch.create_unique_constraint(create_name, create_columns)


def upgrade() -> None:
    _swap(["name"], "uq_connectors_tenant_name", ["tenant", "name"])


def downgrade() -> None:
    _swap(["tenant", "name"], "uq_connectors_name", ["name"])
