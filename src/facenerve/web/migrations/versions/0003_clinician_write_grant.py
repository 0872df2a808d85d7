"""clinicians read only unless the patient grants write access; invitation codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 15:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shares") as batch_op:
        batch_op.add_column(sa.Column("can_write", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shares") as batch_op:
        batch_op.drop_column("code_hash")
        batch_op.drop_column("can_write")
