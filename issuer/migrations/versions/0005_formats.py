"""formats: issuer key types (Ed25519, P-256, P-384), VC-JWT credentials

Revision ID: 0005_formats
Revises: 0004
Create Date: 2026-12-04 17:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_formats'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_type', sa.String(length=8), server_default='Ed25519', nullable=False))

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_type', sa.String(length=8), server_default='Ed25519', nullable=False))

    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_format', sa.String(length=8), server_default='ldp', nullable=False))

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_format', sa.String(length=8), server_default='ldp', nullable=False))
        batch_op.add_column(sa.Column('jwt', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_column('jwt')
        batch_op.drop_column('credential_format')

    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.drop_column('credential_format')

    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_column('key_type')

    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.drop_column('key_type')
