"""Alembic environment of events's database."""

from datacommune.events.tables import Base
from datacommune.shared.process.migrations import run_env

run_env(Base.metadata)
