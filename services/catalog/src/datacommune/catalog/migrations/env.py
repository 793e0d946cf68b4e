"""Alembic environment of catalog's database."""

from datacommune.catalog.tables import Base
from datacommune.shared.process.migrations import run_env

run_env(Base.metadata)
