"""The dashboard figures' version moves with writes that can change a figure, not with sign-ins."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services import audit
from app.services.actor import Actor
from app.services.figure_cache import data_version


def test_sign_ins_and_downloads_keep_the_version_scans_and_unknown_objects_move_it(
    session: Session,
) -> None:
    system = Actor.system("test")
    before = data_version(session)
    for object_type, action in (
        ("user", "authn_login_success"),
        ("session", "session_end"),
        ("report", "report_export"),
        ("scan_health", "scan_health_flag"),
        ("route", "authz_fail"),
        ("api_key", "apikey_create"),
    ):
        audit.record(session, system, action, object_type=object_type, object_id="1")
        session.flush()
        assert data_version(session) == before, object_type
    for object_type in ("scan_run", "finding", "exception", "advisory_store", None, "something_new"):
        audit.record(session, system, "change", object_type=object_type, object_id="1")
        session.flush()
        after = data_version(session)
        assert after != before, object_type
        before = after
