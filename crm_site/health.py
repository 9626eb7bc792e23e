"""Status of the services the app depends on, for /healthz."""

from django.conf import settings


def broker_status() -> dict:
    """Ping the Celery broker; with no broker configured, tasks run eagerly in-process."""
    if not settings.REDIS_URL:
        return {"ok": True, "mode": "eager"}
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
        return {"ok": True, "mode": "redis"}
    except redis.RedisError as error:
        return {"ok": False, "mode": "redis", "error": str(error)[:200]}
