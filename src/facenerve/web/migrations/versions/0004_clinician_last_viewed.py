"""when a clinician last opened a shared patient (what is new since)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shares") as batch_op:
        batch_op.add_column(sa.Column("last_viewed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shares") as batch_op:
        batch_op.drop_column("last_viewed_at")
