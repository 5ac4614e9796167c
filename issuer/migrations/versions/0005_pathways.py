"""pathways: achievements awarded for other achievements

Revision ID: 0005_pathways
Revises: 0004
Create Date: 2026-12-04 17:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_pathways'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pathways_open', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requirements', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('all_valid_at_once', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        'pathway_components',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('pathway_id', sa.String(length=36), nullable=False),
        sa.Column('achievement_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['achievement_id'], ['achievements.id']),
        sa.ForeignKeyConstraint(['pathway_id'], ['achievements.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pathway_id', 'achievement_id'),
    )
    with op.batch_alter_table('pathway_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pathway_components_achievement_id'), ['achievement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pathway_components_pathway_id'), ['pathway_id'], unique=False)

    op.create_table(
        'pathway_awards',
        sa.Column('credential_id', sa.String(length=36), nullable=False),
        sa.Column('pathway_id', sa.String(length=36), nullable=False),
        sa.Column('earner', sa.String(length=2048), nullable=False),
        sa.Column('award_key', sa.String(length=64), nullable=False),
        sa.Column('components', sa.JSON(), nullable=False),
        sa.Column('awarded_for', sa.String(length=36), nullable=True),
        sa.Column('suspended_for', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['credential_id'], ['credentials.id']),
        sa.ForeignKeyConstraint(['pathway_id'], ['achievements.id']),
        sa.PrimaryKeyConstraint('credential_id'),
        sa.UniqueConstraint('award_key'),
    )
    with op.batch_alter_table('pathway_awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pathway_awards_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pathway_awards_awarded_for'), ['awarded_for'], unique=False)


def downgrade():
    op.drop_table('pathway_awards')
    op.drop_table('pathway_components')
    with op.batch_alter_table('achievements', schema=None) as batch_op:
        batch_op.drop_column('all_valid_at_once')
        batch_op.drop_column('requirements')
    with op.batch_alter_table('issuers', schema=None) as batch_op:
        batch_op.drop_column('pathways_open')
