"""schema: an issuer's own choice of suspension (status entries of its new credentials)

Revision ID: 0005_schema
Revises: 0005_formats
Create Date: 2026-12-04 17:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_schema'
down_revision = '0005_formats'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspension', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.drop_column('suspension')
