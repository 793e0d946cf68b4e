"""Alembic environment of ingest's database."""

from datacommune.ingest.tables import Base
from datacommune.shared.process.migrations import run_env

run_env(Base.metadata)
