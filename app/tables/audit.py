"""The append-only audit log: every write and every view of unmasked personal data."""

from piccolo.columns import JSON, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table


class AuditEvent(Table):
    at = Timestamptz(default=TimestamptzNow(), index=True)
    actor_id = Integer(null=True, default=None, index=True)
    actor_role = Varchar(length=32, default="")
    action = Varchar(length=64, index=True)
    object_type = Varchar(length=32, index=True)
    object_id = Varchar(length=64, default="")
    # {"field": [before, after]} for changed fields only.
    changes = JSON(default="{}")
    ip = Varchar(length=64, default="")
    request_id = Varchar(length=64, default="")
