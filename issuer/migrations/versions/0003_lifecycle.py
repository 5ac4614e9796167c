"""lifecycle: status lists, status entries, credential links, notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:13:35.398982
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('status_lists',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('issuer_id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_document', sa.JSON(), nullable=True),
    sa.Column('published_version', sa.Integer(), nullable=True),
    sa.Column('published_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_etag', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['issuer_id'], ['issuers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('issuer_id', 'purpose', 'sequence')
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_issuer_id'), ['issuer_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('credential_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_id', 'kind')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_credential_id'), ['credential_id'], unique=False)

    op.create_table('status_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('list_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('credential_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['credential_id'], ['credentials.id'], ),
    sa.ForeignKeyConstraint(['list_id'], ['status_lists.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credential_id', 'list_id'),
    sa.UniqueConstraint('list_id', 'position')
    )
    with op.batch_alter_table('status_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_entries_credential_id'), ['credential_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_status_entries_list_id'), ['list_id'], unique=False)

    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('earner', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('renews_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('renewed_by_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('supersedes_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('superseded_by_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_credentials_earner'), ['earner'], unique=False)
        batch_op.create_foreign_key('fk_credentials_superseded_by_id', 'credentials', ['superseded_by_id'], ['id'])
        batch_op.create_foreign_key('fk_credentials_supersedes_id', 'credentials', ['supersedes_id'], ['id'])
        batch_op.create_foreign_key('fk_credentials_renewed_by_id', 'credentials', ['renewed_by_id'], ['id'])
        batch_op.create_foreign_key('fk_credentials_renews_id', 'credentials', ['renews_id'], ['id'])

    # Credentials issued before this revision: their earner, from the result they were issued for.
    op.execute(
        "UPDATE credentials SET earner = (SELECT CASE WHEN r.recipient_did IS NOT NULL THEN r.recipient_did"
        " ELSE 'mailto:' || lower(trim(r.recipient_email)) END FROM assessment_results r"
        " WHERE r.id = credentials.result_id) WHERE result_id IS NOT NULL"
    )




def downgrade():
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_constraint('fk_credentials_superseded_by_id', type_='foreignkey')
        batch_op.drop_constraint('fk_credentials_supersedes_id', type_='foreignkey')
        batch_op.drop_constraint('fk_credentials_renewed_by_id', type_='foreignkey')
        batch_op.drop_constraint('fk_credentials_renews_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_credentials_earner'))
        batch_op.drop_column('superseded_by_id')
        batch_op.drop_column('supersedes_id')
        batch_op.drop_column('renewed_by_id')
        batch_op.drop_column('renews_id')
        batch_op.drop_column('earner')
        batch_op.drop_column('status_changed_at')
        batch_op.drop_column('status_reason')

    with op.batch_alter_table('status_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_entries_list_id'))
        batch_op.drop_index(batch_op.f('ix_status_entries_credential_id'))

    op.drop_table('status_entries')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_credential_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_issuer_id'))

    op.drop_table('status_lists')

