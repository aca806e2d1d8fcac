"""diagnose: explain why WebSocket agent runs failed, from backend and client logs.

    import diagnose
    report = diagnose.analyze(["logs/"])          # the same Report `diagnose analyze` renders
    print(report.verdict())
"""

__version__ = "0.1.0"
__all__ = ["analyze"]


def __getattr__(name: str):
    # Imported on first use, so `diagnose --help` does not pay for the whole pipeline.
    if name == "analyze":
        from .library import analyze

        return analyze
    raise AttributeError(f"module 'diagnose' has no attribute {name!r}")
