"""Portal Mitra PIJAR SEMAR: the Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config import BASE_DIR, INSTANCE_DIR, load_config
from portal import logs, register
from portal.security import PortalRequest


def create_app(config: Any = None) -> Flask:
    """Build the app: settings first, then each register_* step.

    `config` is a settings object, or an environment name ("testing"), or None for PORTAL_ENV.
    """
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    settings = config if config is not None and not isinstance(config, str) else load_config(config)
    app.config.from_object(settings)
    app.request_class = PortalRequest
    logs.install()
    register.extensions(app)
    register.blueprints(app)
    register.request_hooks(app)
    register.template_helpers(app)
    register.error_handlers(app)
    register.commands(app)
    return app
