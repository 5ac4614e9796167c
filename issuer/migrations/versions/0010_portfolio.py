"""portfolio: earners' one-time sign-in links and published portfolio pages

Revision ID: 0010_portfolio
Revises: 0005_nodes
Create Date: 2026-12-04 17:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_portfolio'
down_revision = '0005_nodes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('earner_sign_in_links',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('earner', sa.String(length=2048), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index(op.f('ix_earner_sign_in_links_earner'), 'earner_sign_in_links', ['earner'], unique=False)
    op.create_table('portfolios',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('earner', sa.String(length=2048), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('credential_ids', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('earner'),
    sa.UniqueConstraint('slug')
    )


def downgrade():
    op.drop_table('portfolios')
    op.drop_index(op.f('ix_earner_sign_in_links_earner'), table_name='earner_sign_in_links')
    op.drop_table('earner_sign_in_links')
