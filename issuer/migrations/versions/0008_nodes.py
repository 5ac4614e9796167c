"""nodes: deployment settings every node shares (the origin identifiers are minted under)

Revision ID: 0005_nodes
Revises: 0005_pathways
Create Date: 2026-12-04 17:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_nodes'
down_revision = '0005_pathways'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deployment_settings',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade():
    op.drop_table('deployment_settings')
