"""Piccolo's configuration: the engine comes from QIANMO_DATABASE_URL."""
from piccolo.conf.apps import AppRegistry

from app.db import engine_from_url
from app.settings import database_url

DB = engine_from_url(database_url())

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
