"""HashLens desktop app (PySide6). The engine lives in `hashcore`; this package is only the GUI."""

__all__: list[str] = []
