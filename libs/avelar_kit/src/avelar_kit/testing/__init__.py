"""Test support shared by every module: real PostgreSQL and Redis (the servers named by
TEST_DATABASE_URL / TEST_REDIS_URL, else embedded ones), a database per test run built by the
module's own migrations, and cleanup between tests."""
