"""One Cloud Logging LogEntry (API JSON shape) or Cloud Run structured line → RawRecord.

Files (gcloud arrays, sink JSONL) and the live pull both end here, so an entry read from a file
and the same entry pulled from the API become the same record.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from ..model import RawRecord
from ..timeutil import TimestampError, parse_timestamp
from .textclean import clean, split_head

# Keys that mark a dict as a LogEntry rather than an application's own JSON line.
_ENTRY_KEYS = ("textPayload", "jsonPayload", "protoPayload", "httpRequest", "insertId", "logName")
_MESSAGE_KEYS = ("message", "msg", "textPayload", "event", "log")


class EntryError(ValueError):
    """The dict is JSON but not a log entry we can use; the reason is shown with its location."""


def is_log_entry(obj: dict) -> bool:
    return any(k in obj for k in _ENTRY_KEYS)


def entry_to_record(
    obj: object, source: str, line: int, default_tz: tzinfo = UTC
) -> tuple[RawRecord, bool]:
    """Convert one decoded JSON object; returns (record, timestamp_was_naive).

    Raises EntryError (a ValueError) for non-objects and unreadable time stamps.
    """
    if not isinstance(obj, dict):
        raise EntryError(f"expected a JSON object, got {type(obj).__name__}")
    if is_log_entry(obj):
        text, payload = _entry_text(obj)
        stamp = obj.get("timestamp") or (payload or {}).get("timestamp")
        severity = obj.get("severity") or (payload or {}).get("severity")
        fields = _entry_fields(obj, payload)
        insert_id = obj.get("insertId")
    else:  # Cloud Run structured stdout line, or any app JSON line
        payload = obj
        text = _payload_message(obj)
        stamp = obj.get("timestamp") or obj.get("time") or obj.get("ts")
        if stamp is None and "timestampSeconds" in obj:
            stamp = {"seconds": obj["timestampSeconds"], "nanos": obj.get("timestampNanos", 0)}
        severity = obj.get("severity") or obj.get("level") or obj.get("levelname")
        fields = _payload_fields(obj)
        insert_id = obj.get("logging.googleapis.com/insertId")
    ts, naive = (None, False)
    if stamp is not None:
        try:
            ts, naive = parse_timestamp(stamp, default_tz)
        except TimestampError as exc:
            raise EntryError(str(exc)) from exc
    sev = str(severity).upper() if severity else None
    if sev == "WARN":
        sev = "WARNING"
    text, sev, fields = _text_era(text, sev, fields)
    record = RawRecord(
        source=source,
        line=line,
        timestamp=ts,
        severity=sev,
        text=text,
        fields=fields,
        insert_id=str(insert_id) if insert_id else None,
    )
    if record.insert_id:
        record.fields["insert_id"] = record.insert_id
    return record, naive


def _entry_text(obj: dict) -> tuple[str, dict | None]:
    if "textPayload" in obj:
        return _as_text(obj["textPayload"]), None
    payload = obj.get("jsonPayload")
    if isinstance(payload, dict):
        return _payload_message(payload), payload
    proto = obj.get("protoPayload")
    if isinstance(proto, dict):
        status = proto.get("status", {}) if isinstance(proto.get("status"), dict) else {}
        parts = [proto.get("methodName"), proto.get("resourceName"), status.get("message")]
        return " ".join(str(p) for p in parts if p), None
    req = obj.get("httpRequest")
    if isinstance(req, dict):
        parts = [req.get("requestMethod"), req.get("requestUrl"), req.get("status")]
        return " ".join(str(p) for p in parts if p is not None), None
    return "", None


def _payload_message(payload: dict) -> str:
    for key in _MESSAGE_KEYS:
        value = payload.get(key)
        if isinstance(value, str):
            text = value
            break
    else:
        return ""
    err = payload.get("error")
    # The SSOT logging shape carries a bogus `error` on every entry; ignore it when
    # `validation` is set.
    if isinstance(err, dict) and "validation" not in payload and err.get("traceback"):
        text = f"{text}\n{err['traceback']}"
    return text


def _entry_fields(obj: dict, payload: dict | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    if obj.get("logName"):
        fields["log_name"] = str(obj["logName"])
    resource = obj.get("resource")
    if isinstance(resource, dict):
        if resource.get("type"):
            fields["resource_type"] = str(resource["type"])
        labels = resource.get("labels")
        if isinstance(labels, dict):
            for src, dst in (("revision_name", "revision"), ("service_name", "service")):
                if labels.get(src):
                    fields[dst] = str(labels[src])
    labels = obj.get("labels")
    if isinstance(labels, dict) and labels.get("instanceId"):
        fields["instance_id"] = str(labels["instanceId"])
    if payload:
        fields.update(_payload_fields(payload))
    return fields


def _payload_fields(payload: dict) -> dict[str, str]:
    fields: dict[str, str] = {}
    labels = payload.get("labels")
    if isinstance(labels, dict) and labels.get("module"):
        fields["module"] = str(labels["module"])
    for key in ("logger", "name"):
        if isinstance(payload.get(key), str):
            fields["logger"] = payload[key]
            break
    ctx = payload.get("context")
    if "logger" not in fields and isinstance(ctx, dict) and isinstance(ctx.get("name"), str):
        fields["logger"] = ctx["name"]
    glabels = payload.get("logging.googleapis.com/labels")
    if isinstance(glabels, dict) and glabels.get("instanceId"):
        fields["instance_id"] = str(glabels["instanceId"])
    return fields


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _text_era(text: str, sev: str | None, fields: dict[str, str]):
    """Staging logged whole loguru lines as textPayload until 2025-09-03, with no severity.

    Strip colour, and when the text is such a line, take the level (if the entry has none)
    and the logger from it and keep only the message, so rules see the same text as for
    a plain-text file.
    """
    text = clean(text)
    head = split_head(text) if text[:1].isdigit() else None
    if head is None:
        return text, sev, fields
    severity, logger, message = head.split()
    if logger is None:
        return text, sev, fields
    if sev in (None, "DEFAULT"):
        sev = severity
    fields.setdefault("logger", logger)
    fields.setdefault("module", logger)
    return message, sev, fields
