"""piccolo's configuration module (PICCOLO_CONF=member_api.piccolo_conf): the engine from settings."""

from piccolo.conf.apps import AppRegistry

from member_api.db import make_engine
from member_api.settings import Settings

DB = make_engine(Settings.from_env().resolved_database_url)
APP_REGISTRY = AppRegistry(apps=["member_api.piccolo_app"])
