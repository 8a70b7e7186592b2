"""The ASGI application for servers: settings from the environment."""

from member_api.app import create_app

app = create_app()
