import os

from piccolo.conf.apps import AppConfig

from app.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="qianmo",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=ALL_TABLES,
    migration_dependencies=[],
    commands=[],
)
