"""Where the shipped rule packs live: inside the package when installed, in the checkout otherwise.

The wheel force-includes `rules/` as `diagnose/_rules` (pyproject.toml), so an installed copy never
depends on a source tree; an editable install or a plain checkout reads `<checkout>/rules`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def builtin_rules_root() -> Path:
    """The directory holding the shipped packs (one sub-directory per pack)."""
    installed = _PACKAGE_DIR / "_rules"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "rules"


def builtin_pack_dirs() -> list[Path]:
    """Every shipped pack directory, sorted by name (hidden and `_`-prefixed folders skipped)."""
    root = builtin_rules_root()
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    )
