"""feedback payloads in their own table: clearing `pending` and setting `written_key` no longer
rewrite each record's payload (SQLite rewrites the whole row to change one column)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_payloads",
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("system", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("org", "system", "record_id"),
    )
    op.execute(
        "INSERT INTO feedback_payloads (org, system, record_id, payload) "
        "SELECT org, system, record_id, payload FROM feedback_records"
    )
    with op.batch_alter_table("feedback_records") as batch:
        batch.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("feedback_records") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE feedback_records SET payload = (SELECT p.payload FROM feedback_payloads p WHERE "
        "p.org = feedback_records.org AND p.system = feedback_records.system "
        "AND p.record_id = feedback_records.record_id)"
    )
    with op.batch_alter_table("feedback_records") as batch:
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
    op.drop_table("feedback_payloads")
