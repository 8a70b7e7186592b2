"""The ASGI application for servers: settings from the environment."""

import gc

from member_api.app import create_app

app = create_app()
# Everything loaded so far (modules, routes, schemas) lives as long as the worker: moved out of the collector's
# generations, a full collection no longer walks it in the middle of someone's request (p99).
gc.freeze()
