"""CI outputs (Markdown step summary, GitHub annotations, JUnit XML, HTML) as a user sees them.

Reports are built by hand (`make_report`) so each format can be checked exactly; the hostile
fixture (tests/data/hostile.txt) is pushed through every log-derived field of every format.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.text import Text

from diagnose.model import Event, Finding, ParseStats, Unparsed
from diagnose.render.escape import clean, gh_data, md_code, md_fenced, rich_text, xml_text
from diagnose.render.github import github_annotations
from diagnose.render.html import CSP, render_html
from diagnose.render.junit import render_junit
from diagnose.render.markdown import render_markdown
from diagnose.report import ConnectionOutcome, Provenance, Report

HOSTILE = (Path(__file__).parent / "data" / "hostile.txt").read_bytes().decode("utf-8")
T0 = datetime(2025, 9, 8, 23, 49, 24, 508000, tzinfo=UTC)


def ev(kind: str, seconds: float, text: str, line: int, conn: str = "e2e-staging-49066fc8"):
    return Event(kind=kind, ts=T0 + timedelta(seconds=seconds), ids={"connection": conn},
                 attrs={}, provenance=f"logs/backend.log:{line}", rule_id=kind, text=text)


def routing_finding(key: str = "execute_agent", conns=("e2e-staging-49066fc8",
                                                       "e2e-staging-7a1b")) -> Finding:
    return Finding(
        rule_id="routing-unknown-type", cls="routing_failure", role="cause",
        severity="critical",
        title=f"Unknown message type '{key}' acked and dropped by the MessageRouter",
        connections=list(conns), first_seen=T0, last_seen=T0 + timedelta(seconds=75),
        evidence=[
            ev("router.unknown_type", 0, f"MessageRouter detected unknown message type: {key}",
               12),
            ev("router.unknown_ack", 0.002,
               f"Sending ack for unknown message type '{key}' from e2e-staging-49066fc8", 13),
        ],
        cause=f"The client sent '{key}', which the MessageRouter does not know.",
        critical_failure="The router sent a bare ack and started no agent.",
        symptom="The client waited for agent_started and timed out on recv().",
        fix=f"Send 'start_agent' instead of '{key}'.", key=key,
        symptoms=[ev("client.timeout", 60, "TimeoutError: recv() timed out", 3)],
    )


def unexplained_finding() -> Finding:
    return Finding(
        rule_id="client-timeout-unexplained", cls="client_timeout_unexplained", role="symptom",
        severity="medium", title="Client timed out with no server evidence",
        connections=["staging-e2e-user-003"], first_seen=T0 + timedelta(seconds=30),
        last_seen=T0 + timedelta(seconds=90),
        evidence=[ev("client.timeout", 90, "TimeoutError", 7, "staging-e2e-user-003")],
        cause="No server log line explains this timeout.", critical_failure="Unknown.",
        symptom="recv() timed out.", fix="Pull the backend logs for this window.",
    )


def outcome(conn: str, cls: str, start: float, timeouts: int = 0, types=("start_agent",)):
    return ConnectionOutcome(
        connection=conn, outcome=cls, first_seen=T0 + timedelta(seconds=start),
        last_seen=T0 + timedelta(seconds=start + 60), events=5, message_types=list(types),
        lifecycle=["agent_started", "agent_completed"] if cls == "healthy" else [],
        client_timeouts=timeouts, instance="00a1b2",
    )


def make_report(findings=None, outcomes=None) -> Report:
    findings = [routing_finding(), unexplained_finding()] if findings is None else findings
    outcomes = outcomes if outcomes is not None else [
        outcome("e2e-staging-49066fc8", "routing_failure", 0, 1, ("execute_agent",)),
        outcome("e2e-staging-7a1b", "routing_failure", 20, 1, ("execute_agent",)),
        outcome("staging-e2e-user-003", "client_timeout_unexplained", 30, 1),
        outcome("staging-e2e-user-004", "healthy", 600),
        outcome("staging-e2e-user-005", "healthy", 1500),
    ]
    stats = ParseStats(records_read=120, events=40, ignored=78, duplicates=1, unparsed_total=1,
                       unparsed=[Unparsed("logs/backend.log", 99, "bad JSON")])
    prov = Provenance(
        command="diagnose analyze logs/ --format markdown", inputs=["logs/backend.log"],
        window_start=T0, window_end=T0 + timedelta(minutes=30), rule_packs=["core@1.0.0"],
        elapsed_seconds=0.25,
    )
    return Report(findings=findings, outcomes=outcomes, stats=stats, provenance=prov,
                  known_types=["start_agent", "user_message", "chat"])


def hostile_report() -> Report:
    """Every log-derived field carries the hostile text."""
    f = routing_finding(key=HOSTILE, conns=(HOSTILE, "plain"))
    f.evidence.append(ev("router.unknown_ack", 1, HOSTILE, 14, HOSTILE))
    f.evidence = [f.evidence[-1], *f.evidence]
    for attr in ("title", "cause", "critical_failure", "symptom", "fix"):
        setattr(f, attr, HOSTILE)
    rows = [outcome(HOSTILE, "routing_failure", 0, 1, (HOSTILE,))]
    report = make_report([f, unexplained_finding()], rows)
    report.provenance.inputs = [HOSTILE]
    report.provenance.command = HOSTILE
    report.stats.unparsed = [Unparsed(HOSTILE, 3, HOSTILE)]
    report.stats.warnings = [HOSTILE]
    return report


# ---------------------------------------------------------------- Markdown

GOLDEN_MD_HEAD = """\
# diagnose: agent run report

**ROOT CAUSE\\: Unknown message type 'execute\\_agent' acked and dropped by the MessageRouter — \
2 connection\\(s\\).**

5 connection(s): 2 routing failure · 1 client timeout, no server evidence · 2 healthy

## Findings

| # | Class | Role | Finding | Connections | First seen | Last seen | Fix |
|---|---|---|---|---|---|---|---|
| 1 | Routing failure | cause | Unknown message type 'execute\\_agent' acked and dropped by the \
MessageRouter | 2 | 2025-09-08 23:49:24.508Z | 2025-09-08 23:50:39.508Z | Send 'start\\_agent' \
instead of 'execute\\_agent'. |
| 2 | Client timeout, no server evidence | symptom | Client timed out with no server evidence | 1 \
| 2025-09-08 23:49:54.508Z | 2025-09-08 23:50:54.508Z | Pull the backend logs for this window. |

## Surface vs real

1 root-cause finding\\(s\\) and 1 unexplained symptom\\(s\\); 2 connection\\(s\\) with a real cause.

| What the client saw | Connections | Real cause |
|---|---:|---|
| `1 recv() timeout(s)` | 2 | `Unknown message type 'execute_agent' acked and dropped by the MessageRouter` |
| `client timeout` | 1 | `unknown: no server evidence (logs missing?)` |

## Top unknown message types

Types the router did not know, by connections that sent them.

| Message type | Connections |
|---|---:|
| `execute_agent` | 2 |

## Findings in detail

### 1. Routing failure: Unknown message type 'execute\\_agent' acked and dropped by the \
MessageRouter

**Cause:** The client sent 'execute\\_agent', which the MessageRouter does not know. → \
**Critical failure:** The router sent a bare ack and started no agent. → **Symptom:** The client \
waited for agent\\_started and timed out on recv\\(\\).

- Fingerprint: `routing-unknown-type:execute_agent`
- Severity: critical, role: cause
- Connections (2): `e2e-staging-49066fc8`, `e2e-staging-7a1b`
- Seen: 2025-09-08 23:49:24.508Z → 2025-09-08 23:50:39.508Z
- Client timeouts explained by this cause: 1
- Fix: Send 'start\\_agent' instead of 'execute\\_agent'.

Evidence:

```text
logs/backend.log:12  2025-09-08 23:49:24.508Z  router.unknown_type  MessageRouter detected unknown \
message type: execute_agent
logs/backend.log:13  2025-09-08 23:49:24.510Z  router.unknown_ack  Sending ack for unknown message \
type 'execute_agent' from e2e-staging-49066fc8
```
"""

GOLDEN_MD_TAIL = """\
## Connection outcomes

| Outcome | Connections | Share |
|---|---|---|
| Routing failure | 2 | 40% |
| Client timeout, no server evidence | 1 | 20% |
| Healthy | 2 | 40% |

| Connection | Outcome | First seen | Last seen | Events | Sent types | Lifecycle | Timeouts |
|---|---|---|---|---|---|---|---|
| `e2e-staging-49066fc8` | Routing failure | 2025-09-08 23:49:24.508Z | 2025-09-08 23:50:24.508Z \
| 5 | `execute_agent` | – | 1 |
| `e2e-staging-7a1b` | Routing failure | 2025-09-08 23:49:44.508Z | 2025-09-08 23:50:44.508Z | 5 \
| `execute_agent` | – | 1 |
| `staging-e2e-user-003` | Client timeout, no server evidence | 2025-09-08 23:49:54.508Z | \
2025-09-08 23:50:54.508Z | 5 | `start_agent` | – | 1 |
| `staging-e2e-user-004` | Healthy | 2025-09-08 23:59:24.508Z | 2025-09-09 00:00:24.508Z | 5 | \
`start_agent` | agent\\_started, agent\\_completed | 0 |
| `staging-e2e-user-005` | Healthy | 2025-09-09 00:14:24.508Z | 2025-09-09 00:15:24.508Z | 5 | \
`start_agent` | agent\\_started, agent\\_completed | 0 |

## Parse accounting

| Records read | Events | Ignored | Duplicates | Unparsed |
|---|---|---|---|---|
| 120 | 40 | 78 | 1 | 1 |

First unparsed locations (1 of 1):

- `logs/backend.log:99` bad JSON

## Provenance

- Command: `diagnose analyze logs/ --format markdown`
- Inputs: `logs/backend.log`
- Window: 2025-09-08 23:49:24.508Z → 2025-09-09 00:19:24.508Z
- Rule packs: `core@1.0.0`
- Default time zone: UTC; elapsed 0.25 s
"""


def test_markdown_golden():
    text = render_markdown(make_report())
    assert text.startswith(GOLDEN_MD_HEAD)
    assert text.endswith(GOLDEN_MD_TAIL)
    assert "### 2. Client timeout, no server evidence" in text
    assert "Truncated" not in text


def _html_of_markdown(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


def test_markdown_tables_keep_their_shape():
    html = _html_of_markdown(render_markdown(make_report()))
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {len(re.findall(r"<t[hd]", row)) for row in re.findall(r"<tr>.*?</tr>", table,
                                                                           re.S)}
        assert len(widths) == 1, table


def test_markdown_cap_drops_details_then_rows_and_says_so():
    findings = [routing_finding(key=f"type_{i:05d}") for i in range(3000)]
    outcomes = [outcome(f"conn-{i:06d}", "healthy", i) for i in range(20000)]
    text = render_markdown(make_report(findings, outcomes))
    size = len(text.encode("utf-8"))
    assert size <= 1_048_576
    last = text.rstrip("\n").splitlines()[-1]
    assert last.startswith("> **Truncated to fit 1,048,576 bytes:** left out 3,000 of 3,000 "
                           "finding detail sections, ")
    assert "of 20,000 outcome table rows" in last
    assert "findings table rows" not in last  # the findings table survived whole
    assert text.count("| Routing failure | cause |") == 3000
    assert "## Provenance" in text


def test_markdown_small_cap_keeps_verdict_and_the_note():
    text = render_markdown(make_report(), max_bytes=2500)
    assert len(text.encode("utf-8")) <= 2500
    assert text.startswith("# diagnose: agent run report\n\n**ROOT CAUSE")
    assert "left out 2 of 2 finding detail sections" in text
    assert "## Provenance" in text


@settings(max_examples=60, deadline=None)
@given(cap=st.integers(min_value=0, max_value=6000), n=st.integers(min_value=0, max_value=8),
       text=st.text(max_size=300))
def test_markdown_never_exceeds_the_cap(cap, n, text):
    findings = [routing_finding(key=f"{text}{i}") for i in range(n)]
    rows = [outcome(f"{text}-{i}", "healthy", i) for i in range(n * 3)]
    out = render_markdown(make_report(findings, rows), max_bytes=cap)
    assert len(out.encode("utf-8")) <= cap
    if len(render_markdown(make_report(findings, rows), max_bytes=10**9).encode()) > cap >= 400:
        assert "Truncated" in out.splitlines()[-1]


def test_markdown_hostile_text_is_inert():
    text = render_markdown(hostile_report())
    html = _html_of_markdown(text)
    assert "\x1b" not in text and "\x00" not in text and "\r" not in text and "\x07" not in text
    assert "<script" not in html and "<img" not in html and "<a " not in html
    for table in re.findall(r"<table>.*?</table>", html, re.S):
        widths = {len(re.findall(r"<t[hd]", row)) for row in re.findall(r"<tr>.*?</tr>", table,
                                                                           re.S)}
        assert len(widths) == 1
    # evidence stays inside its fence: the hostile ``` runs cannot close it
    fence_blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", html, re.S)
    assert any("alert(1)" in block for block in fence_blocks)
    # text outside code is backslash-escaped, so no autolink or mention survives on GitHub
    assert "http\\://evil" in text and "www\\.evil" in text and "\\@here" in text


# ---------------------------------------------------------------- GitHub annotations


def test_annotations_golden_and_order():
    lines = github_annotations(make_report())
    assert lines == [
        "::error title=Routing failure%3A Unknown message type 'execute_agent' acked and dropped "
        "by the MessageRouter::The client sent 'execute_agent', which the MessageRouter does not "
        "know. → The router sent a bare ack and started no agent. → The client waited for "
        "agent_started and timed out on recv(). (2 connection(s), 2025-09-08 23:49:24.508Z → "
        "2025-09-08 23:50:39.508Z; first evidence logs/backend.log:12). Fix: Send 'start_agent' "
        "instead of 'execute_agent'.",
        "::warning title=Client timeout%2C no server evidence%3A Client timed out with no server "
        "evidence::No server log line explains this timeout. → Unknown. → recv() timed out. "
        "(1 connection(s), 2025-09-08 23:49:54.508Z → 2025-09-08 23:50:54.508Z; first evidence "
        "logs/backend.log:7). Fix: Pull the backend logs for this window.",
    ]


def test_annotations_limit_puts_causes_first():
    report = make_report([unexplained_finding()] * 5 + [routing_finding()] * 12)
    lines = github_annotations(report, limit=10)
    assert len(lines) == 10
    assert all(line.startswith("::error ") for line in lines)
    assert github_annotations(report, limit=0) == []


def test_annotations_hostile_text_cannot_forge_commands():
    lines = github_annotations(hostile_report())
    assert len(lines) == 2
    for line in lines:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line
        props, sep, message = line.partition("::")[2].partition("::")
        assert sep and (props.startswith("error title=") or props.startswith("warning title="))
        assert "::" not in props  # the forged '::error' sits in the message, where it is inert
    assert "%250A" in lines[0]  # the literal '%0A' in the log stays literal
    assert gh_data("a%b\r\nc") == "a%25b%0D%0Ac"


# ---------------------------------------------------------------- JUnit

GOLDEN_JUNIT = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="diagnose" tests="6" failures="2" errors="0" skipped="0" time="0.250" \
timestamp="2025-09-09T00:19:24">
  <properties>
    <property name="command" value="diagnose analyze logs/ --format markdown"/>
    <property name="inputs" value="logs/backend.log"/>
    <property name="window_start" value="2025-09-08 23:49:24.508Z"/>
    <property name="window_end" value="2025-09-09 00:19:24.508Z"/>
    <property name="rule_packs" value="core@1.0.0"/>
    <property name="verdict" value="ROOT CAUSE: Unknown message type 'execute_agent' acked and \
dropped by the MessageRouter — 2 connection(s)."/>
  </properties>
  <testcase classname="diagnose.routing_failure" name="Routing failure" time="0">
    <failure message="Unknown message type 'execute_agent' acked and dropped by the MessageRouter \
(2 connection(s))" type="routing_failure">[cause/critical] Unknown message type 'execute_agent' \
acked and dropped by the MessageRouter
fingerprint: routing-unknown-type:execute_agent
connections (2): e2e-staging-49066fc8, e2e-staging-7a1b
seen: 2025-09-08 23:49:24.508Z → 2025-09-08 23:50:39.508Z
cause: The client sent 'execute_agent', which the MessageRouter does not know.
critical failure: The router sent a bare ack and started no agent.
symptom: The client waited for agent_started and timed out on recv().
fix: Send 'start_agent' instead of 'execute_agent'.
evidence:
  logs/backend.log:12  2025-09-08 23:49:24.508Z  router.unknown_type  MessageRouter detected \
unknown message type: execute_agent
  logs/backend.log:13  2025-09-08 23:49:24.510Z  router.unknown_ack  Sending ack for unknown \
message type 'execute_agent' from e2e-staging-49066fc8</failure>
  </testcase>
  <testcase classname="diagnose.connection_failure" name="Connection / auth failure" time="0"/>
  <testcase classname="diagnose.execution_timeout" name="Execution timeout" time="0"/>
  <testcase classname="diagnose.events_not_delivered" name="Events not delivered" time="0"/>
  <testcase classname="diagnose.lifecycle_incomplete" name="Lifecycle incomplete" time="0"/>
  <testcase classname="diagnose.client_timeout_unexplained" name="Client timeout, no server \
evidence" time="0">
"""


def test_junit_golden():
    text = render_junit(make_report())
    assert text.startswith(GOLDEN_JUNIT)
    root = ET.fromstring(text.encode("utf-8"))
    cases = root.findall("testcase")
    assert [c.get("classname") for c in cases] == [
        "diagnose.routing_failure", "diagnose.connection_failure", "diagnose.execution_timeout",
        "diagnose.events_not_delivered", "diagnose.lifecycle_incomplete",
        "diagnose.client_timeout_unexplained"]
    assert [c.find("failure") is not None for c in cases] == [True, False, False, False, False,
                                                              True]


def test_junit_healthy_report_passes_every_case():
    root = ET.fromstring(render_junit(make_report([], [outcome("a", "healthy", 0)])))
    assert root.get("failures") == "0" and len(root.findall("testcase")) == 6
    assert root.findall(".//failure") == []


def test_junit_hostile_text_is_well_formed_and_kept_as_text():
    root = ET.fromstring(render_junit(hostile_report()).encode("utf-8"))
    failure = root.find("testcase/failure")
    assert failure.get("type") == "routing_failure"
    assert "<script>alert(1)</script>" in failure.text  # survives as text, not markup
    assert "]]>" in failure.text and "\x00" not in failure.text and "\x1b" not in failure.text
    assert xml_text("a\x00\x0bb\ufffe]]>") == "ab]]&gt;"


# ---------------------------------------------------------------- HTML


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs


def _parse_html(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    return parser


def test_html_structure_and_self_containment():
    text = render_html(make_report())
    tags = _parse_html(text)
    assert "script" not in tags.tags and "link" not in tags.tags and "iframe" not in tags.tags
    assert tags.tags.count("svg") == 1 and tags.tags.count("rect") >= 3
    assert not any(v and re.match(r"(https?:)?//", v) for _, v in tags.attrs
                   if _ != "xmlns")
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in text
    assert "default-src 'none'" in CSP
    assert ('<p class="verdict bad">ROOT CAUSE: Unknown message type &#x27;execute_agent&#x27;'
            in text)
    assert "<dt>Command</dt><dd><code>diagnose analyze logs/ --format markdown</code></dd>" in text
    assert "<dt>Elapsed</dt><dd>0.25 s</dd>" in text
    assert "<code>routing-unknown-type:execute_agent</code>" in text
    assert "<tr><td>execute_agent</td><td class=\"n\">2</td></tr>" in text
    assert ("<tr><td>Records read</td>" not in text
            and '<td class="n">120</td><td class="n">40</td><td class="n">78</td>' in text)


def test_html_chart_buckets_follow_the_window():
    text = render_html(make_report())
    # a 30-minute window → 1-minute buckets, labelled HH:MM
    assert "23:49 · Routing failure: 2" in text and "00:14 · Healthy: 1" in text


def test_html_hostile_text_is_escaped_everywhere():
    text = render_html(hostile_report())
    tags = _parse_html(text)
    assert "script" not in tags.tags and "img" not in tags.tags and "a" not in tags.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "\x1b" not in text and "\x00" not in text


def test_rich_text_cannot_open_or_close_markup():
    for text in (HOSTILE, "ends in a backslash \\", "[/italic] early close"):
        rendered = Text.from_markup(f"[italic]{rich_text(text)}[/italic]")
        assert [str(span.style) for span in rendered.spans] == ["italic"]
        assert rendered.spans[0].end == len(rendered.plain) == len(clean(text))
    assert "[link=http://evil]" in Text.from_markup(rich_text(HOSTILE)).plain


def test_escape_helpers_make_fences_unbreakable():
    assert md_code("a`b") == "``a`b``"
    assert md_code("|x|", in_table=True) == "`\\|x\\|`"
    assert md_fenced(["```", "x"]).splitlines()[0] == "````text"
    assert clean("a\x1b[1;31mb\x1b]8;;http://e\x07c\x1b]8;;\x07d\r\ne") == "abcd e"
