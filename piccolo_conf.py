"""Piccolo's configuration: the engine comes from QIANMO_DATABASE_URL."""
from piccolo.conf.apps import AppRegistry

from app.db import engine_from_url
from app.settings import database_url, db_connect_timeout, replica_max_lag, replica_urls

DB = engine_from_url(
    database_url(), connect_timeout=db_connect_timeout(), replica_urls=replica_urls(), max_lag=replica_max_lag()
)

APP_REGISTRY = AppRegistry(apps=["app.piccolo_app"])
