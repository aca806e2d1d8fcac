"""diagnose: explain why WebSocket agent runs failed, from backend and client logs."""

__version__ = "0.1.0"
