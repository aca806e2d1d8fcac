"""What the live sources (Logging API pull, BigQuery) share: caps, wording, entry → record."""

from __future__ import annotations

from pathlib import Path

from ..errors import PullError
from ..model import ParseStats, RawRecord, Unparsed
from .logentry import entry_to_record
from .retrying import short

DEFAULT_MAX_ENTRIES = 500_000  # ~0.5–1 GB of JSON: past that, narrow the window or raise it
UNPARSED_CAP = 200  # keep at most this many Unparsed details (the total is always counted)
LOGIN_HINT = "run `gcloud auth application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)"


def to_record(entry: object, source: str, stats: ParseStats) -> RawRecord | None:
    """Count the entry; its RawRecord, or None after counting it as unparsed (with why)."""
    stats.records_read += 1
    stats.by_source[source] = stats.by_source.get(source, 0) + 1
    try:
        record, _naive = entry_to_record(entry, source=source, line=0)
    except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:  # untrusted data
        where = entry.get("insertId") if isinstance(entry, dict) else None
        reason = f"insertId={short(where, 80)}: {exc}" if where else str(exc)
        stats.unparsed_total += 1
        if len(stats.unparsed) < UNPARSED_CAP:
            stats.unparsed.append(Unparsed(source=source, line=0, reason=reason))
        return None
    return record


def saved_hint(error: PullError, save_path: Path | None, entries: int) -> PullError:
    """Add to the hint what `--save` kept, so the user knows what a failed pull left."""
    if save_path is not None:
        kept = (
            f"the {entries} entries fetched before the failure are in {save_path}"
            if entries
            else f"nothing was fetched; {save_path} was left as it was"
        )
        error.hint = f"{error.hint}; {kept}" if error.hint else kept
    return error
