"""Piccolo Table classes, one module per area (schema only)."""
from app.tables.audit import AuditEvent
from app.tables.org import Agency, Bureau, Grid, Office, Place, Station
from app.tables.people import Person, PersonRole

ALL_TABLES = [Bureau, Station, Office, Grid, Place, Agency, Person, PersonRole, AuditEvent]
