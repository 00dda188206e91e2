from avelar_kit.db.migrations import run_migrations
from stocktech.config import Settings
from stocktech.models import Base

run_migrations(Base.metadata, lambda: Settings().database_url)
