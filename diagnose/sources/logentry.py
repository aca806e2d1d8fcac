"""One Cloud Logging LogEntry (API JSON shape) or Cloud Run structured line → RawRecord.

Files (gcloud arrays, sink JSONL) and the live pull both end here, so an entry read from a file
and the same entry pulled from the API become the same record.
"""

from __future__ import annotations

import re
from datetime import UTC, tzinfo
from urllib.parse import urlsplit

from ..model import RawRecord
from ..timeutil import TimestampError, parse_timestamp
from .textclean import clean, split_head

# Keys that mark a dict as a LogEntry rather than an application's own JSON line (the API's
# camelCase, and the snake_case of the Python client's LogEntry objects written out as dicts).
_ENTRY_KEYS = ("textPayload", "jsonPayload", "protoPayload", "httpRequest", "insertId", "logName")
_SNAKE_ENTRY_KEYS = ("text_payload", "json_payload", "proto_payload", "http_request", "insert_id",
                     "log_name")  # not span_id & co: OpenTelemetry app lines carry those
_SNAKE_KEYS = {
    "text_payload": "textPayload", "json_payload": "jsonPayload", "proto_payload": "protoPayload",
    "http_request": "httpRequest", "insert_id": "insertId", "log_name": "logName",
    "receive_timestamp": "receiveTimestamp", "received_timestamp": "receiveTimestamp",
    "span_id": "spanId", "trace_sampled": "traceSampled", "source_location": "sourceLocation",
}
_SNAKE_HTTP = {
    "request_method": "requestMethod", "request_url": "requestUrl", "user_agent": "userAgent",
    "remote_ip": "remoteIp", "server_ip": "serverIp", "request_size": "requestSize",
    "response_size": "responseSize",
}
_ENTRY_KEY_SET = frozenset(_ENTRY_KEYS + _SNAKE_ENTRY_KEYS)
_SNAKE_MARKS = frozenset((*_SNAKE_ENTRY_KEYS, "payload"))
_MESSAGE_KEYS = ("message", "msg", "textPayload", "event", "log")
_LATENCY = re.compile(r"\s*(\d+(?:\.\d*)?)s\s*$")


class EntryError(ValueError):
    """The dict is JSON but not a log entry we can use; the reason is shown with its location."""


def is_log_entry(obj: dict) -> bool:
    return not _ENTRY_KEY_SET.isdisjoint(obj)


def camel_entry(obj: dict) -> dict:
    """A snake_case LogEntry (`insert_id`, `json_payload`, `http_request`…) in the API's shape.

    The Python client names the payload `payload` (text or dict). Keys set to null (a script's
    dump of every field) are dropped: `"textPayload": null` is no text. A camelCase entry
    without nulls comes back unchanged (no copy).
    """
    snake = not _SNAKE_MARKS.isdisjoint(obj)
    if not snake and None not in obj.values():
        return obj
    out = {_SNAKE_KEYS.get(k, k): v for k, v in obj.items() if v is not None}
    payload = out.pop("payload", None)
    if payload is not None and not any(k in out for k in ("textPayload", "jsonPayload")):
        out["jsonPayload" if isinstance(payload, dict) else "textPayload"] = payload
    req = out.get("httpRequest")
    if isinstance(req, dict):
        out["httpRequest"] = {_SNAKE_HTTP.get(k, k): v for k, v in req.items()}
    return out


def entry_to_record(
    obj: object, source: str, line: int, default_tz: tzinfo = UTC
) -> tuple[RawRecord, bool]:
    """Convert one decoded JSON object; returns (record, timestamp_was_naive).

    Raises EntryError (a ValueError) for non-objects and unreadable time stamps.
    """
    if not isinstance(obj, dict):
        raise EntryError(f"expected a JSON object, got {type(obj).__name__}")
    if is_log_entry(obj):
        obj = camel_entry(obj)
        text, payload = _entry_text(obj)
        stamp = obj.get("timestamp") or (payload or {}).get("timestamp")
        severity = obj.get("severity") or (payload or {}).get("severity")
        fields = _entry_fields(obj, payload)
        insert_id = obj.get("insertId")
    else:  # Cloud Run structured stdout line, or any app JSON line
        payload = obj
        text = _payload_message(obj)
        inner = obj.get("payload")  # a script's own dump of a client entry: {timestamp, payload}
        if not text and isinstance(inner, str):
            text = inner
        elif not text and isinstance(inner, dict):
            text, payload = _payload_message(inner), inner
        stamp = obj.get("timestamp") or obj.get("time") or obj.get("ts")
        if stamp is None and "timestampSeconds" in obj:
            stamp = {"seconds": obj["timestampSeconds"], "nanos": obj.get("timestampNanos", 0)}
        severity = obj.get("severity") or obj.get("level") or obj.get("levelname")
        if not text and stamp is None and not severity:
            keys = ", ".join(str(k)[:30] for k in list(obj)[:6])
            raise EntryError(f"not a log entry: a JSON object without message, time or severity "
                             f"(keys: {keys or 'none'})")
        fields = _payload_fields(payload)
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
        message = _payload_message(payload)
        if not message and "methodName" in payload:  # an audit log carried as jsonPayload
            message = _audit_text(payload)
        return message, payload
    proto = obj.get("protoPayload")
    if isinstance(proto, dict):
        return _audit_text(proto), None
    message = _payload_message(obj)
    if message:  # Cloud Run structured stdout with special fields (httpRequest…) beside it
        return message, obj
    req = obj.get("httpRequest")
    if isinstance(req, dict):
        parts = [req.get("requestMethod"), req.get("requestUrl"), req.get("status")]
        return " ".join(str(p) for p in parts if p is not None), None
    return "", None


def _audit_text(audit: dict) -> str:
    """An audit log's method, resource and status message (e.g. a Cloud Run deploy)."""
    status = audit.get("status") if isinstance(audit.get("status"), dict) else {}
    parts = [audit.get("methodName"), audit.get("resourceName"), status.get("message")]
    return " ".join(str(p) for p in parts if p)


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
    req = obj.get("httpRequest")
    if isinstance(req, dict):
        fields.update(request_fields(req))
    if payload:
        fields.update(_payload_fields(payload))
    return fields


def request_fields(req: dict) -> dict[str, str]:
    """Cloud Run request-log fields for rules: method, URL, path, status, user agent, latency."""
    fields: dict[str, str] = {}
    for key, name in (("requestMethod", "http_method"), ("requestUrl", "http_url"),
                      ("userAgent", "http_user_agent")):
        if isinstance(req.get(key), str) and req[key]:
            fields[name] = req[key]
    url = fields.get("http_url")
    if url:
        path = _url_path(url)
        if path is not None:
            fields["http_path"] = path
    status = req.get("status")
    if isinstance(status, int | str) and not isinstance(status, bool) and str(status).isdigit():
        fields["http_status"] = str(int(status))
    latency = _latency(req.get("latency"))
    if latency is not None:
        fields["http_latency"] = latency
    return fields


_PATHS: dict[str, str | None] = {}  # url -> its path: a service's requests hit few URLs
_PATHS_KEPT = 4096


def _url_path(url: str) -> str | None:
    """The URL's path ("/" when empty), None when it cannot be split; remembered, since
    urlsplit was a fifth of making a record of a request log entry."""
    path = _PATHS.get(url, _PATHS)
    if path is not _PATHS:
        return path  # type: ignore[return-value]
    try:
        path = urlsplit(url).path or "/"
    except ValueError:
        path = None
    if len(_PATHS) >= _PATHS_KEPT:
        _PATHS.clear()
    _PATHS[url] = path
    return path


def _latency(value: object) -> str | None:
    """"2.212449s", {"seconds": 2, "nanos": 212449000} or a number → "2.212449" (seconds)."""
    if isinstance(value, str):
        m = _LATENCY.match(value)
        return m.group(1) if m else None
    if isinstance(value, dict):
        try:
            secs = int(value.get("seconds", 0)) + int(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
        return f"{secs:.9f}".rstrip("0").rstrip(".")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.9f}".rstrip("0").rstrip(".")
    return None


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


def unescape_newlines(text: str) -> str:
    """Literal `\\n` → newline in a one-line message (the 09-03 era escaped its tracebacks).

    Only when the text has no real newline, so the last traceback line (the exception) becomes
    a line of its own that rules can anchor on.
    """
    if "\\n" in text and "\n" not in text:
        return text.replace("\\r\\n", "\n").replace("\\n", "\n")
    return text


def _text_era(text: str, sev: str | None, fields: dict[str, str]):
    """Staging logged whole loguru lines as textPayload until 2025-09-03, with no severity.

    Strip colour, and when the text is such a line, take the level (if the entry has none)
    and the logger from it and keep only the message, so rules see the same text as for
    a plain-text file.
    """
    text = unescape_newlines(clean(text))
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
