"""gunicorn's settings for serving the app in production, read from the environment.

``gunicorn -c ipamui/gunicorn.conf.py`` (what ``make serve`` runs). Every value can still be
overridden on gunicorn's command line.

- ``HOST`` (default 127.0.0.1; 0.0.0.0 to take connections from a load balancer) and ``PORT``
  (default 8000);
- ``WEB_CONCURRENCY``: worker processes (default two per CPU plus one, at most 8);
- ``GUNICORN_THREADS``: threads per worker (default 1, gunicorn's sync workers);
- ``FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-Proto`` gunicorn believes (default
  127.0.0.1 and ::1; comma-separated addresses or networks, ``*`` for any);
- ``GUNICORN_LOG_LEVEL`` (default info).
"""

from __future__ import annotations

import os

wsgi_app = "ipamui.wsgi:application"

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1) + 1, 8))
threads = int(os.environ.get("GUNICORN_THREADS") or 1)

# A request makes at most one quick AWS call (connect 3 s, read 20 s by default): a worker
# silent for longer than this is stuck and is replaced.
timeout = 30
graceful_timeout = 30

forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access log to stdout, errors (and the app's own logging) to stderr: the process manager
# or container runtime collects both. The client's address as the proxy saw it goes first.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '%(h)s "%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s"'
)

# gunicorn's control socket has one default path per user ($XDG_RUNTIME_DIR or ~/.gunicorn),
# which a second server on the same machine would fight over; nothing here uses it.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# The workers' heartbeat files on a memory file system when there is one (containers often
# mount /tmp on overlay storage, where a slow write can make a busy worker look dead).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
