"""Alembic environment of validate's database."""

from datacommune.shared.process.migrations import run_env
from datacommune.validate.tables import Base

run_env(Base.metadata)
