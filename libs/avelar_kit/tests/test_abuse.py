

def test_limits_storage_uri_for_every_redis_url_the_stack_uses() -> None:
    """make run's embedded Redis listens on a unix socket: its URL must reach limits' redis
    storage too (an unknown scheme made every module fail at startup)."""
    from limits.aio.storage import RedisStorage

    from avelar_kit.abuse import _limits_uri

    for url, expected in [("unix:///tmp/r/redis.sock?db=0", "async+redis+unix:///tmp/r/redis.sock?db=0"),
                          ("redis://127.0.0.1:6379/0", "async+redis://127.0.0.1:6379/0"),
                          ("rediss://cache:6380/1", "async+rediss://cache:6380/1")]:
        assert _limits_uri(url) == expected
        assert isinstance(RedisStorage(expected, implementation="redispy"), RedisStorage)
