"""All models, imported here so ``Base.metadata`` knows every table (Alembic, tests)."""

from app.models.advisory import (
    Advisory,
    AdvisoryImport,
    AdvisoryPackage,
    DependencyInventory,
    InventoryDependency,
)
from app.models.audit import AuditEvent
from app.models.base import (
    ActorType,
    Base,
    Category,
    ExceptionScope,
    ExceptionState,
    FindingStatus,
    Role,
    RunOutcome,
    RunStatus,
    RunTrigger,
    Severity,
    utcnow,
)
from app.models.finding import Finding, FindingDetection, FindingStatusHistory
from app.models.inline_suppression import InlineSuppression
from app.models.notification import Notification
from app.models.project import Project, ProjectMember
from app.models.risk_exception import RiskException
from app.models.scan_run import ScanRun
from app.models.snapshot import CountSnapshot
from app.models.stored_report import StoredReport
from app.models.user import ApiKey, User, UserSession

__all__ = [
    "ActorType",
    "Advisory",
    "AdvisoryImport",
    "AdvisoryPackage",
    "ApiKey",
    "AuditEvent",
    "Base",
    "Category",
    "CountSnapshot",
    "DependencyInventory",
    "ExceptionScope",
    "ExceptionState",
    "Finding",
    "FindingDetection",
    "FindingStatus",
    "FindingStatusHistory",
    "InventoryDependency",
    "InlineSuppression",
    "Notification",
    "Project",
    "ProjectMember",
    "RiskException",
    "Role",
    "RunOutcome",
    "RunStatus",
    "RunTrigger",
    "ScanRun",
    "Severity",
    "StoredReport",
    "User",
    "UserSession",
    "utcnow",
]
