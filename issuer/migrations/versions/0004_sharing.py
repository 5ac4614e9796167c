"""sharing: achievement images, earner privacy choices, LinkedIn organization

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 21:22:05.042704
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_data', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('image_media_type', sa.String(length=32), nullable=True))

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('display_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('manage_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_credentials_manage_token_hash', ['manage_token_hash'])

    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credentials_public', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('linkedin_organization_id', sa.String(length=32), nullable=True))




def downgrade():
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.drop_column('linkedin_organization_id')
        batch_op.drop_column('credentials_public')

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint('uq_credentials_manage_token_hash', type_='unique')
        batch_op.drop_column('manage_token_hash')
        batch_op.drop_column('display_name')
        batch_op.drop_column('public')

    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.drop_column('image_media_type')
        batch_op.drop_column('image_data')


