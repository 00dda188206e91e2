"""``<module> serve``: the production start command, the same one containers, Kubernetes and
``make bench`` use. uvicorn with N worker processes, sized by settings (``<PREFIX>_WORKERS``);
the access log can be turned off (``<PREFIX>_ACCESS_LOG=false`` or ``--no-access-log``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from avelar_kit.settings import ServiceSettings


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    access_log: bool
    reload: bool = False


def serve_options(settings: ServiceSettings, *, host: str | None = None, port: int | None = None,
                  workers: int | None = None, access_log: bool | None = None,
                  reload: bool = False) -> ServeOptions:
    """Command-line values win over settings (the environment)."""
    return ServeOptions(
        host=host or settings.host,
        port=port or settings.port,
        workers=1 if reload else (workers or settings.workers),
        access_log=settings.access_log if access_log is None else access_log,
        reload=reload,
    )


def export_to_workers(settings: ServiceSettings, options: ServeOptions) -> None:
    """The options the app factory reads from the environment, set there for the workers
    (``<PREFIX>_ACCESS_LOG``: the kit's access line, ``avelar_kit.logging``)."""
    prefix = str(type(settings).model_config.get("env_prefix") or "")
    os.environ[f"{prefix}ACCESS_LOG"] = "true" if options.access_log else "false"


def serve(app: str, settings: ServiceSettings, options: ServeOptions) -> None:
    """Run ``app`` (an import string of a ``create_app`` factory, e.g.
    ``"stocktech.main:create_app"``); each worker builds its app from the environment, so a
    command-line choice the settings do not have yet (``--no-access-log``) is put there."""
    import uvicorn

    from avelar_kit.metrics import prepare_multiprocess

    export_to_workers(settings, options)
    prepare_multiprocess(1 if options.reload else options.workers)  # /metrics over workers
    uvicorn.run(
        app,
        factory=True,
        host=options.host,
        port=options.port,
        workers=None if options.reload else options.workers,
        reload=options.reload,
        access_log=options.access_log,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        server_header=False,
    )
