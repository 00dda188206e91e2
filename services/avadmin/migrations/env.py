from avadmin.config import Settings
from avadmin.models import Base
from avelar_kit.db.migrations import run_migrations

run_migrations(Base.metadata, lambda: Settings().database_url)
