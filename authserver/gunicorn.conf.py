"""gunicorn configuration used by `make run`, `make run-prod` and the benchmark.

Environment: HOST, PORT, ANNOUNCE (1: print the URLs and the setup link, ``when_ready``),
WEB_CONCURRENCY (default one per CPU, at least 2: ``core.workers``), GUNICORN_THREADS (4 per
worker), GUNICORN_TIMEOUT,
GUNICORN_MAX_REQUESTS, GUNICORN_ACCESS_LOG ("-" for stdout; JSON
lines), GUNICORN_CONTROL_SOCKET (a path of this instance's own for ``gunicornc``; none when
unset), TLS_CERTFILE and TLS_KEYFILE (terminate TLS here, TLS 1.3 only), TLS_CLIENT_CA_FILE
(ask for an optional client certificate, verified against these CAs: core/tls.py),
PROMETHEUS_MULTIPROC_DIR (metrics from every worker, see docs/monitoring.md), and the slow-client
bounds GUNICORN_HEADER_TIMEOUT, GUNICORN_BODY_TIMEOUT, GUNICORN_CONNECTIONS_PER_IP
(authserver/http_worker.py).
"""

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

from core.workers import web_concurrency

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = web_concurrency()
# Threads serve only requests the worker's poller has read in full: slow clients hold a socket,
# never a thread (authserver/http_worker.py).
worker_class = "authserver.http_worker.BufferedThreadWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_connections = 1000  # open connections per worker, kept-alive ones included
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 16384
# gunicorn's default control socket is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl), so a
# second instance on the host would take over the first one's: none unless a path is named.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
logger_class = "authserver.gunicorn_logging.JsonLogger"
# X-Forwarded-For/-Proto are honoured by the application, from TRUSTED_PROXIES only
# (authserver/proxy.py); gunicorn's own handling is switched off so there is one rule.
secure_scheme_headers: dict[str, str] = {}

# Metrics from every worker go to one directory (set before logger_class imports the app's
# package, which defines the metrics): a fresh private one when the operator names none. A
# named directory must be emptied by whoever starts the processes (make run-prod does).
_private_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _private_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="authserver-metrics-")
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

certfile = os.environ.get("TLS_CERTFILE") or None
keyfile = os.environ.get("TLS_KEYFILE") or None


def when_ready(server):  # noqa: ANN001, ANN201 - gunicorn hook
    """Once listening, print where the console, discovery and API docs are and, while no
    administrator exists, a one-time setup link as the last line (``bootstrap_admin
    --announce``, on stdout, never in the logs). It runs in a process of its own beside the
    workers' start (the master never loads Django, and serving is not delayed by it); the
    workers' "Booting worker" lines come first, the link last. The master reaps it with its
    workers (an unknown pid there is skipped). Only when ``ANNOUNCE=1`` (``make run`` and
    ``make run-prod`` set it; the benchmarks and tests' servers do not)."""
    if os.environ.get("ANNOUNCE") != "1":
        return
    manage = Path(__file__).resolve().parent.parent / "manage.py"
    subprocess.Popen([sys.executable, str(manage), "bootstrap_admin", "--announce"])  # noqa: S603


def on_exit(server):  # noqa: ANN001, ANN201 - gunicorn hook
    if _private_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn hook
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def ssl_context(config, default_ssl_context_factory):  # noqa: ANN001, ANN201 - gunicorn hook
    """TLS 1.3 only: older protocol versions are refused at the handshake. With
    ``TLS_CLIENT_CA_FILE`` a client may present a certificate (mutual TLS, RFC 8705), which
    must chain to those CAs; a client without one is served as before."""
    context = default_ssl_context_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    client_ca = os.environ.get("TLS_CLIENT_CA_FILE")
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn hook
    """Take what the worker has loaded (Django, the application: ~150,000 objects) out of the
    cyclic garbage collector's reach (``gc.freeze``). A full collection then scans only what
    requests create since; before, each one scanned everything and paused the worker for
    87 ms on the bench machine, which showed as p99 spikes."""
    import gc

    gc.collect()
    gc.freeze()
