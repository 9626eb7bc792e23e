"""Gunicorn settings for Clientele: `gunicorn crm_site.wsgi -c gunicorn.conf.py`.

Environment:
  PORT              port to listen on, on every interface (default 8000)
  WEB_CONCURRENCY   worker processes (default 2 x usable cores + 1)
  GUNICORN_TIMEOUT  seconds before a silent worker is restarted (default 30)

Access and error logs go to stdout/stderr for the container runtime to collect. Behind a TLS
proxy, set BEHIND_TLS_PROXY=1 (Django then trusts X-Forwarded-Proto) and, when the proxy is not
on 127.0.0.1, FORWARDED_ALLOW_IPS to its address.
"""

import os


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning (containers, taskset)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


bind = f"0.0.0.0:{int(os.environ.get('PORT', '8000'))}"  # every interface: a container's port
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * _cores() + 1))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Heartbeat files in memory, not on a container's (possibly slow, overlay) disk.
_SHM = "/dev/shm"  # noqa: S108 (gunicorn's heartbeat files, not data)
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM


def post_worker_init(worker):
    """Load what every request needs, then move it out of the garbage collector's way.

    A full collection walks every tracked object, and once Django, the URLs and the templates
    are loaded there are about 180,000 of them: 100-180 ms on the benchmark machine, about once
    every 40 requests of the customer list, stalling that request and those queued behind it.
    gc.freeze() puts the objects that exist now in a permanent generation that collections
    skip; what requests allocate is still collected as usual (docs/performance.md).
    """
    from crm_site.warmup import warm_up

    warm_up()
