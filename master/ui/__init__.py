"""The web dashboard every master serves under ``/ui/`` (docs/dashboard.md)."""

from .app import PREFIX, UiApp

__all__ = ["PREFIX", "UiApp"]
