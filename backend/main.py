"""The ASGI app for uvicorn: settings from the environment."""

from backend.app import create_app

app = create_app()
