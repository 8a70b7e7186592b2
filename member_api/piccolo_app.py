"""The piccolo app: every area's tables and the top-level migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

APP_CONFIG = AppConfig(
    app_name="member_api",
    migrations_folder_path=Path(__file__).resolve().parent.parent / "piccolo_migrations",
    table_classes=table_finder(
        modules=[
            "member_api.core.tables",
            "member_api.members.tables",
            "member_api.facilities.tables",
            "member_api.auth.tables",
            "member_api.ledger.tables",
            "member_api.audit.tables",
            "member_api.referrals.tables",
            "member_api.family.tables",
            "member_api.notices.tables",
            "member_api.disputes.tables",
            "member_api.claims.tables",
            "member_api.agency.tables",
            "member_api.catalogue.tables",
            "member_api.fsi.tables",
        ],
        exclude_imported=True,
    ),
)
