"""One call from the app frame wires what operating a module needs beyond ``/health``:
Prometheus at ``/metrics`` (``avelar_kit.metrics``) and OpenTelemetry (``avelar_kit.tracing``).

    install_observability(app, module, settings)

Call it once the app exists and before it serves (the frame does; modules need not)."""

from __future__ import annotations

from fastapi import FastAPI

from avelar_kit import metrics, tracing
from avelar_kit.settings import ServiceSettings


def install_observability(app: FastAPI, module: str, settings: ServiceSettings) -> None:
    if settings.metrics_enabled:
        metrics.install_metrics(app, module)
    tracing.configure_tracing(module, settings)
    tracing.instrument_app(app, settings)
