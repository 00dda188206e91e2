from partner_module.config import Settings
from partner_module.models import Base

from avelar_kit.db.migrations import run_migrations

run_migrations(Base.metadata, lambda: Settings().database_url)
