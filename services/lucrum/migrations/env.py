from avelar_kit.db.migrations import run_migrations
from lucrum.config import Settings
from lucrum.models import Base

run_migrations(Base.metadata, lambda: Settings().database_url)
