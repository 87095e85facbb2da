"""Piccolo Table classes, one module per area (schema only)."""

from piccolo.table import Table as PiccoloTable

import app.tables.foreign_keys  # noqa: F401  (before any select is built: see its docstring)
from app.tables.alerts import (
    AlertRecipient,
    AlertSetting,
    AlertStep,
    GridAlert,
    Notification,
    PushChoice,
    PushSubscription,
)
from app.tables.audit import AuditEvent
from app.tables.calls import (
    AddressMapping,
    Call,
    CallColumnAlias,
    CallImport,
    CallStep,
    CategoryFamily,
    DetectionSetting,
    NonPoliceCategory,
)
from app.tables.fieldwork import (
    AgreementCounter,
    AgreementTemplate,
    FieldLog,
    FieldLogLink,
    LogReview,
    MediationParty,
    Photo,
    Topic,
)
from app.tables.orders import WorkOrder, WorkOrderCall, WorkOrderStep
from app.tables.org import Agency, Bureau, Grid, Office, Place, Station
from app.tables.people import (
    ApiKey,
    AuthChallenge,
    Invitation,
    Passkey,
    Person,
    PersonRole,
    Qualification,
    RateLimitHit,
    UserSession,
)
from app.tables.reports import (
    Report,
    ReportCategory,
    ReportPhoto,
    ReportPoster,
    ReportReporter,
    ReportStep,
    ReportStepPhoto,
)
from app.tables.reviews import PreventionReview
from app.tables.routing import Holiday, RoutingRule, RoutingRuleChange
from app.tables.volunteers import (
    Observation,
    PatrolShift,
    ShiftSignup,
    VolunteerApplication,
    VolunteerCertificate,
    VolunteerProfile,
)

ALL_TABLES: list[type[PiccoloTable]] = [
    Bureau,
    Station,
    Office,
    Grid,
    Place,
    Agency,
    Person,
    PersonRole,
    Qualification,
    Passkey,
    Invitation,
    AuthChallenge,
    UserSession,
    RateLimitHit,
    ApiKey,
    AuditEvent,
    Topic,
    FieldLog,
    MediationParty,
    FieldLogLink,
    Photo,
    AgreementTemplate,
    AgreementCounter,
    LogReview,
    CallImport,
    Call,
    CallStep,
    AddressMapping,
    CallColumnAlias,
    CategoryFamily,
    NonPoliceCategory,
    DetectionSetting,
    WorkOrder,
    WorkOrderCall,
    WorkOrderStep,
    PreventionReview,
    Holiday,
    RoutingRule,
    RoutingRuleChange,
    ReportCategory,
    ReportPoster,
    Report,
    ReportReporter,
    ReportPhoto,
    ReportStep,
    ReportStepPhoto,
    VolunteerApplication,
    VolunteerProfile,
    PatrolShift,
    ShiftSignup,
    Observation,
    VolunteerCertificate,
    GridAlert,
    AlertRecipient,
    AlertStep,
    AlertSetting,
    Notification,
    PushSubscription,
    PushChoice,
]
