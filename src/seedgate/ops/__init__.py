"""What operators watch: Prometheus metrics, readiness, the access log."""

# Where the server processes of one machine keep their metrics (prometheus_client reads it
# when imported, so it is set before).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
