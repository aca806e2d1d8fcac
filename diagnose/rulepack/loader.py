"""Load rule packs from directories into one RuleSet, reporting every problem before giving up.

A pack is `pack.toml` + `events/*.toml` + `findings/*.toml`. Each file is read, schema-checked,
turned into a typed rule, and (for event rules of a user's pack) tested against its own samples.
The shipped packs' samples are tested by `diagnose rules test` and the test suite, not on every
load: that was 0.3 s of every run (the regexes' first matches build their automata).

Nothing stops at the first problem: all issues from all packs are collected and raised together
as one RulePackError, so a pack is fixed in one pass.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Sequence
from pathlib import Path

from ..report import OUTCOMES as BUILTIN_CLASSES
from .builtin import builtin_pack_dirs
from .event_rules import build_event_rule
from .finding_rules import TEMPLATE_KEYS, build_finding_rule, duration_seconds
from .issues import IssueLog, RuleIssue, display_path, rule_pack_error
from .loader_patterns import compile_table
from .model import EventRule, FindingRule, OutcomeClass, Placement, RulePack, RuleSet
from .schema import EVENT_RULE, FINDING_RULE, PACK, validate
from .selftest import check_event_rule

FOLDERS = {"events": "event", "findings": "finding"}
SCHEMAS = {"event": EVENT_RULE, "finding": FINDING_RULE}


def load_rule_packs(extra_dirs: Sequence[Path] = (), *, include_builtin: bool = True) -> RuleSet:
    """Builtin packs (unless excluded) then `extra_dirs`; raises RulePackError listing every issue.

    An extra dir is a pack (it holds pack.toml) or a folder of packs (like `rules/`).
    """
    loader = _Loader()
    shipped = list(builtin_pack_dirs()) if include_builtin else []
    dirs = list(shipped)
    for extra in extra_dirs:
        dirs.extend(loader.expand(Path(extra)))
    seen: set[Path] = set()
    for pack_dir in dirs:
        if pack_dir.resolve() not in seen:  # the same pack named twice is loaded once
            seen.add(pack_dir.resolve())
            loader.load_pack(pack_dir, shipped=pack_dir in shipped)
    loader.check_classes()
    if loader.issues:
        raise rule_pack_error(loader.issues)
    return RuleSet(loader.packs, loader.event_rules, loader.finding_rules)


class _Loader:
    """The state of one load: issues so far, packs and rules built, ids already claimed."""

    def __init__(self) -> None:
        self.issues: list[RuleIssue] = []
        self.packs: list[RulePack] = []
        self.event_rules: list[EventRule] = []
        self.finding_rules: list[FindingRule] = []
        self.rule_ids: dict[str, Path] = {}
        self.pack_ids: dict[str, Path] = {}
        self.declared: dict[str, OutcomeClass] = {}  # classes of the packs read so far
        self.shipped = False  # the pack being read ships with diagnose (tested before release)

    def check_classes(self) -> None:
        """A finding rule's role agrees with the role its class is declared with."""
        for rule in self.finding_rules:
            cls = self.declared.get(rule.cls)
            if cls is not None and cls.role in ("cause", "symptom") and cls.role != rule.role:
                IssueLog(self.issues, rule.path, rule.id)(
                    "/role", f"class {rule.cls!r} is declared with role {cls.role!r}"
                )

    def check_class_names(self, doc: dict, log: IssueLog) -> None:
        """Classes a finding rule names must be declared by a pack read before it (or be one
        of the built-in classes when no pack declares any)."""
        known = list(self.declared) or list(BUILTIN_CLASSES)
        if isinstance(doc.get("class"), str) and doc["class"] not in known:
            log("/class", f"unknown class {doc['class']!r}; expected one of: {', '.join(known)}")
        scenario = doc.get("scenario")
        expects = scenario.get("expect", []) if isinstance(scenario, dict) else []
        for i, want in enumerate(expects):
            cls = want.get("class") if isinstance(want, dict) else None
            if isinstance(cls, str) and cls not in known:
                log(f"/scenario/expect/{i}/class",
                    f"unknown outcome class {cls!r}; expected one of: {', '.join(known)}")

    def expand(self, path: Path) -> list[Path]:
        """A user's --rules argument → the pack directories it names."""
        if not path.exists():
            self.issues.append(RuleIssue(path, "", "rule pack directory not found"))
            return []
        if not path.is_dir():
            self.issues.append(RuleIssue(path, "", "not a directory: a rule pack is a folder"))
            return []
        if (path / "pack.toml").exists():
            return [path]
        packs = [p for p in self._entries(path) if (p / "pack.toml").is_file()]
        if not packs:
            msg = "not a rule pack: no pack.toml here or in its sub-directories"
            self.issues.append(RuleIssue(path, "", msg))
        return packs

    def load_pack(self, pack_dir: Path, shipped: bool = False) -> None:
        """Read one pack. A user's (not `shipped`) has its event rules' samples run and its
        patterns compiled as it loads; a shipped pack's tests did both before release."""
        self.shipped = shipped
        pack = self._pack_meta(pack_dir)
        pack_id = pack.id if pack else pack_dir.name
        for entry in self._entries(pack_dir):
            if entry.is_dir() and entry.name in FOLDERS:
                self._load_folder(entry, FOLDERS[entry.name], pack_id)
            elif entry.is_dir() and not entry.name.startswith((".", "_")):
                msg = "unknown folder in a rule pack; rules live in events/ and findings/"
                self.issues.append(RuleIssue(entry, "", msg))
        if pack:
            self.packs.append(pack)

    def _entries(self, folder: Path) -> list[Path]:
        """A folder's entries, sorted; an unreadable folder is an issue, not a traceback."""
        try:
            return sorted(folder.iterdir())
        except OSError as exc:
            self.issues.append(RuleIssue(folder, "", f"cannot list folder: {exc.strerror or exc}"))
            return []

    def _pack_meta(self, pack_dir: Path) -> RulePack | None:
        path = pack_dir / "pack.toml"
        log = IssueLog(self.issues, path)
        if not path.is_file():
            log("", "missing pack.toml (id, version, description, known_message_types)")
            return None
        doc = read_toml(path, log)
        if doc is None:
            return None
        clean = validate(doc, PACK, log)
        if "id" in clean and clean["id"] in self.pack_ids:
            first = display_path(self.pack_ids[clean["id"]])
            log("/id", f"duplicate pack id {clean['id']!r}: already loaded from {first}")
        if log.count:
            return None
        self.pack_ids[clean["id"]] = path
        pack = RulePack(
            id=clean["id"],
            version=clean["version"],
            description=clean["description"],
            path=pack_dir,
            known_message_types=list(clean.get("known_message_types", [])),
            classes=[_outcome_class(k, v) for k, v in clean.get("classes", {}).items()],
            symptom_kinds=list(clean.get("symptom_kinds", [])),
            ending_kinds=list(clean.get("ending_kinds", [])),
            scope_fields=dict(clean.get("scope_fields", {})),
            placements=[p for i, d in enumerate(clean.get("placement", []))
                        if (p := _placement(d, f"/placement/{i}", log)) is not None],
            ignore_ids=compile_table(clean.get("ignore_ids", {}), "/ignore_ids", log),
            type_fixes=dict(clean.get("type_fixes", {})),
        )
        if log.count:
            return None
        self.declared.update({c.id: c for c in pack.classes})
        return pack

    def _load_folder(self, folder: Path, kind: str, pack_id: str) -> None:
        for path in self._entries(folder):
            if path.suffix == ".toml" and path.is_file():
                self._load_rule(path, kind, pack_id)
            elif kind == "event" and not path.name.startswith("."):
                msg = "not a rule file: event rules are events/<rule-id>.toml"
                self.issues.append(RuleIssue(path, "", msg))

    def _load_rule(self, path: Path, folder_kind: str, pack_id: str) -> None:
        log = IssueLog(self.issues, path, path.stem)
        doc = read_toml(path, log)
        if doc is None:
            return
        if isinstance(doc.get("id"), str):
            log.rule_id = doc["id"]
        kind = doc.get("kind")
        kind = kind if isinstance(kind, str) and kind in SCHEMAS else folder_kind
        clean = validate(doc, SCHEMAS[kind], log)
        if kind == "finding":
            self.check_class_names(clean, log)
        self._check_identity(clean, path, folder_kind, log)
        if kind != folder_kind:
            return
        if kind == "event":
            self._add_event_rule(build_event_rule(clean, path, pack_id, log,
                                                  shipped=self.shipped), log)
        else:
            check_template_placeholders(clean, log)
            rule = build_finding_rule(clean, path, pack_id, log)
            if rule is not None:
                self.finding_rules.append(rule)

    def _add_event_rule(self, rule: EventRule | None, log: IssueLog) -> None:
        if rule is None:
            return
        for check in () if self.shipped else check_event_rule(rule):
            if not check.passed:
                log(check.what, check.detail)
        if not log.count:
            self.event_rules.append(rule)

    def _check_identity(self, doc: dict, path: Path, folder_kind: str, log: IssueLog) -> None:
        """kind matches the folder; id equals the file stem and is not taken by another file."""
        kind = doc.get("kind")
        if kind is not None and kind != folder_kind:
            log("/kind", f"kind {kind!r} does not match the folder: {kind} rules live in {kind}s/")
        rule_id = doc.get("id")
        if rule_id is None:
            return
        if rule_id != path.stem:
            log("/id", f"id {rule_id!r} must equal the file name stem {path.stem!r}")
        first = self.rule_ids.get(rule_id)
        if first is not None:
            log("/id", f"duplicate rule id {rule_id!r}: already defined in {display_path(first)}")
        else:
            self.rule_ids[rule_id] = path


def check_template_placeholders(doc: dict, log: IssueLog) -> None:
    """Only bare `{name}` placeholders: a format spec or conversion runs on untrusted log text.

    `{user:>999999999}` would pad one id to a gigabyte when the report is rendered.
    """
    for key in TEMPLATE_KEYS:
        text = doc.get(key)
        if not isinstance(text, str):
            continue
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError:
            continue  # unbalanced braces: the finding-rule check reports those
        for _literal, name, spec, conversion in parts:
            if name is not None and (spec or conversion):
                shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                log(f"/{key}", f"placeholder {{{shown[:60]}}} has a format spec or conversion; "
                    f"only {{name}} placeholders are allowed")


def _outcome_class(class_id: str, doc: dict) -> OutcomeClass:
    return OutcomeClass(
        id=class_id,
        label=doc.get("label", class_id),
        role=doc.get("role", "cause"),
        colour=doc.get("colour", "red"),
        priority=doc.get("priority", 0),
    )


def _placement(doc: dict, key: str, log: IssueLog) -> Placement | None:
    within = duration_seconds(doc.get("within", "1s"), f"{key}/within", log)
    if within is None or "kinds" not in doc or "strategy" not in doc:
        return None
    if doc["strategy"] == "pair_next" and not doc.get("pair_kinds"):
        log(f"{key}/pair_kinds", "a 'pair_next' placement needs the kinds it waits for")
        return None
    return Placement(
        kinds=list(doc["kinds"]),
        strategy=doc["strategy"],
        pair_kinds=list(doc.get("pair_kinds", [])),
        match=list(doc.get("match", [])),
        within_seconds=within,
    )


def read_toml(path: Path, log: IssueLog) -> dict | None:
    """Parse one TOML file; unreadable files and syntax errors become issues (with line/column)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        log("", f"cannot read file: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError as exc:
        log("", f"not UTF-8 text (byte {exc.start})")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        log("", f"TOML syntax error: {exc}")
        return None
    except RecursionError:
        log("", "TOML nests arrays or tables too deeply to read")
        return None
