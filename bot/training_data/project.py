"""The Rasa project in `data/` as trainers edit it: intents, examples, responses, rules.

Every change is checked against the version the editor saw (a hash of the files): two trainers
saving at once never lose one edit silently — the second gets `VersionConflict` (409) with what
changed. Files are written in their own YAML style, atomically, so `git diff` shows exactly the
edit and the Rasa CLI reads them as before. Methods are synchronous (ruamel parses on the
calling thread): call them through `run_in_executor`, one at a time (the project holds a lock).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from bot.training_data.examples import normalised, parse, read_block, write_block
from bot.training_data.yaml_files import DataFileError, YamlFile

INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# Rasa's own intents and prefixes: a trainer's intent must not collide with them.
RESERVED_INTENTS = {"session_start", "restart", "back", "nlu_fallback", "out_of_scope_fallback"}
RESERVED_PREFIXES = ("nlu_", "action_", "utter_")
FILES = ("nlu.yml", "domain.yml", "rules.yml", "stories.yml")
MAX_EXAMPLE_CHARS = 500


class ProjectError(Exception):
    """An edit that cannot be made, with the reason in words."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


class VersionConflict(ProjectError):
    def __init__(self, current: str, changed: List[str]) -> None:
        super().__init__(f"the training data changed since you loaded it ({', '.join(changed) or 'files'}); "
                         "reload and apply your edit again", 409)
        self.current = current
        self.changed = changed


@dataclass(frozen=True)
class Response:
    name: str
    texts: List[str]

    def as_json(self) -> dict:
        return {"name": self.name, "texts": self.texts}


@dataclass(frozen=True)
class IntentSummary:
    name: str
    examples: int
    responses: List[Response] = field(default_factory=list)
    rules: List[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"name": self.name, "examples": self.examples, "responses": [r.as_json() for r in self.responses],
                "rules": self.rules}


def check_intent_name(name: Any) -> str:
    if not isinstance(name, str) or not INTENT_NAME.match(name):
        raise ProjectError("intent names are lower case letters, digits and underscores, starting with a letter "
                           "(no spaces), at most 63 characters")
    if name in RESERVED_INTENTS or name.startswith(RESERVED_PREFIXES):
        raise ProjectError(f"{name!r} is reserved by Rasa; choose another name")
    return name


def check_example(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ProjectError("an example needs some text")
    if "\n" in text or "\r" in text:
        raise ProjectError("an example is one line")
    if len(text) > MAX_EXAMPLE_CHARS:
        raise ProjectError(f"examples are limited to {MAX_EXAMPLE_CHARS} characters")
    return " ".join(text.split())


class RasaProject:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.RLock()

    # ---- files and versions ------------------------------------------------------------

    def _path(self, name: str) -> Path:
        return self.data_dir / name

    def file_hashes(self) -> Dict[str, str]:
        hashes = {}
        for name in FILES:
            path = self._path(name)
            if path.exists():
                hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        return hashes

    def version(self) -> str:
        joined = ";".join(f"{k}={v}" for k, v in sorted(self.file_hashes().items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]

    def _check_version(self, expected: Optional[str], seen: Optional[Dict[str, str]] = None) -> None:
        if expected is None:
            return
        current = self.version()
        if expected != current:
            raise VersionConflict(current, sorted(self.file_hashes()))

    def _load(self) -> Tuple[YamlFile, YamlFile, YamlFile, Optional[YamlFile]]:
        nlu = YamlFile.load(self._path("nlu.yml"))
        domain = YamlFile.load(self._path("domain.yml"))
        rules = YamlFile.load(self._path("rules.yml"), default=CommentedMap([("version", "3.1"), ("rules", [])]))
        stories = YamlFile.load(self._path("stories.yml")) if self._path("stories.yml").exists() else None
        for f in (nlu, domain, rules):
            if not isinstance(f.document, dict):
                raise DataFileError(f"{f.path.name} must be a mapping at the top")
        return nlu, domain, rules, stories

    # ---- reading ------------------------------------------------------------------------------

    @staticmethod
    def _intent_entries(nlu: YamlFile) -> List[CommentedMap]:
        return [e for e in (nlu.document.get("nlu") or []) if isinstance(e, dict) and "intent" in e]

    @staticmethod
    def _domain_intents(domain: YamlFile) -> List[str]:
        names = []
        for item in domain.document.get("intents") or []:
            names.append(next(iter(item)) if isinstance(item, dict) else str(item))
        return names

    @staticmethod
    def _steps(*files: Optional[YamlFile]) -> Iterable[Tuple[str, str, list]]:
        """(file, rule or story name, steps) for every rule and story."""
        for f in files:
            if f is None:
                continue
            for key in ("rules", "stories"):
                for entry in f.document.get(key) or []:
                    if isinstance(entry, dict):
                        yield f.path.name, str(entry.get("rule") or entry.get("story") or "?"), list(entry.get("steps") or [])

    def _answers(self, rules: YamlFile, stories: Optional[YamlFile]) -> Dict[str, Tuple[List[str], List[str]]]:
        """Per intent: the responses (utter_*) its rules/stories answer with, and the rule names."""
        found: Dict[str, Tuple[List[str], List[str]]] = {}
        for _, name, steps in self._steps(rules, stories):
            for i, step in enumerate(steps):
                if isinstance(step, dict) and "intent" in step:
                    utters, names = found.setdefault(str(step["intent"]), ([], []))
                    names.append(name)
                    for following in steps[i + 1:]:
                        if not isinstance(following, dict) or "action" not in following:
                            break
                        action = str(following["action"])
                        if action.startswith("utter_") and action not in utters:
                            utters.append(action)
        return found

    @staticmethod
    def _response_texts(domain: YamlFile, name: str) -> List[str]:
        variants = (domain.document.get("responses") or {}).get(name) or []
        return [str(v.get("text", "")) for v in variants if isinstance(v, dict)]

    def intents(self) -> Dict[str, Any]:
        with self._lock:
            nlu, domain, rules, stories = self._load()
            counts: Dict[str, int] = {}
            for entry in self._intent_entries(nlu):
                counts[str(entry["intent"])] = counts.get(str(entry["intent"]), 0) + len(read_block(entry.get("examples", "")))
            answers = self._answers(rules, stories)
            names = list(dict.fromkeys(self._domain_intents(domain) + list(counts)))
            summaries = []
            for name in names:
                utters, rule_names = answers.get(name, ([], []))
                summaries.append(IntentSummary(name, counts.get(name, 0),
                                               [Response(u, self._response_texts(domain, u)) for u in utters],
                                               rule_names).as_json())
            return {"version": self.version(), "intents": summaries,
                    "entities": [str(e) if not isinstance(e, dict) else next(iter(e))
                                 for e in domain.document.get("entities") or []]}

    def examples(self, intent: str) -> Dict[str, Any]:
        with self._lock:
            nlu, *_ = self._load()
            lines = [line for entry in self._intent_entries(nlu) if entry["intent"] == intent
                     for line in read_block(entry.get("examples", ""))]
            return {"version": self.version(), "intent": intent, "examples": [parse(l).as_json() for l in lines]}

    def search(self, query: str, limit: int = 200) -> Dict[str, Any]:
        needle = normalised(query)
        with self._lock:
            nlu, *_ = self._load()
            hits = []
            for entry in self._intent_entries(nlu):
                for line in read_block(entry.get("examples", "")):
                    example = parse(line)
                    if needle in normalised(example.text):
                        hits.append({"intent": str(entry["intent"]), **example.as_json()})
                        if len(hits) >= limit:
                            return {"version": self.version(), "examples": hits, "truncated": True}
            return {"version": self.version(), "examples": hits, "truncated": False}

    def where_is(self, text: str) -> Optional[str]:
        """The intent an example already belongs to (same words, any case), if any."""
        needle = normalised(parse(text).text)
        with self._lock:
            nlu, *_ = self._load()
            for entry in self._intent_entries(nlu):
                for line in read_block(entry.get("examples", "")):
                    if normalised(parse(line).text) == needle:
                        return str(entry["intent"])
        return None

    # ---- editing examples -------------------------------------------------------------

    def _entry(self, nlu: YamlFile, intent: str, create: bool = False) -> Optional[CommentedMap]:
        for entry in self._intent_entries(nlu):
            if entry["intent"] == intent:
                return entry
        if not create:
            return None
        entry = CommentedMap([("intent", intent), ("examples", LiteralScalarString(""))])
        nlu.document.setdefault("nlu", CommentedSeq()).append(entry)
        return entry

    @staticmethod
    def _set_lines(entry: CommentedMap, lines: Sequence[str]) -> None:
        entry["examples"] = LiteralScalarString(write_block(lines))

    def _require_intent(self, domain: YamlFile, nlu: YamlFile, intent: str) -> None:
        if intent not in self._domain_intents(domain) and self._entry(nlu, intent) is None:
            raise ProjectError(f"there is no intent {intent!r}", 404)

    def add_examples(self, intent: str, texts: Sequence[str], expected_version: Optional[str] = None,
                     skip_duplicates: bool = False) -> Dict[str, Any]:
        """Append examples to an intent (annotated lines). An example that already exists is refused
        (or skipped, for bulk adds from the review inbox), naming the intent that has it."""
        with self._lock:
            self._check_version(expected_version)
            nlu, domain, _, _ = self._load()
            self._require_intent(domain, nlu, intent)
            existing = {normalised(parse(l).text): str(e["intent"]) for e in self._intent_entries(nlu)
                        for l in read_block(e.get("examples", ""))}
            entry = self._entry(nlu, intent, create=True)
            lines = read_block(entry.get("examples", ""))
            added, skipped = [], []
            for raw in texts:
                line = check_example(raw)
                key = normalised(parse(line).text)
                if key in existing:
                    if skip_duplicates:
                        skipped.append({"text": parse(line).text, "intent": existing[key]})
                        continue
                    raise ProjectError(f"“{parse(line).text}” is already an example of {existing[key]}", 409)
                existing[key] = intent
                lines.append(line)
                added.append(line)
            if added:
                self._set_lines(entry, lines)
                nlu.save()
            return {"version": self.version(), "added": added, "skipped": skipped}

    def update_example(self, intent: str, old: str, new: str, expected_version: Optional[str] = None) -> Dict[str, Any]:
        with self._lock:
            self._check_version(expected_version)
            nlu, domain, _, _ = self._load()
            entry = self._entry(nlu, intent)
            lines = read_block(entry.get("examples", "")) if entry is not None else []
            if old not in lines:
                raise ProjectError(f"{intent} has no example “{old}”", 404)
            line = check_example(new)
            clash = self._clash(nlu, line, ignore=(intent, old))
            if clash:
                raise ProjectError(f"“{parse(line).text}” is already an example of {clash}", 409)
            lines[lines.index(old)] = line
            self._set_lines(entry, lines)
            nlu.save()
            return {"version": self.version(), "example": parse(line).as_json()}

    def _clash(self, nlu: YamlFile, line: str, ignore: Tuple[str, str]) -> Optional[str]:
        key = normalised(parse(line).text)
        for entry in self._intent_entries(nlu):
            for existing in read_block(entry.get("examples", "")):
                if (str(entry["intent"]), existing) == ignore:
                    continue
                if normalised(parse(existing).text) == key:
                    return str(entry["intent"])
        return None

    def delete_example(self, intent: str, text: str, expected_version: Optional[str] = None) -> Dict[str, Any]:
        with self._lock:
            self._check_version(expected_version)
            nlu, *_ = self._load()
            entry = self._entry(nlu, intent)
            lines = read_block(entry.get("examples", "")) if entry is not None else []
            if text not in lines:
                raise ProjectError(f"{intent} has no example “{text}”", 404)
            lines.remove(text)
            self._set_lines(entry, lines)
            nlu.save()
            return {"version": self.version()}

    def move_example(self, text: str, from_intent: str, to_intent: str,
                     expected_version: Optional[str] = None) -> Dict[str, Any]:
        with self._lock:
            self._check_version(expected_version)
            nlu, domain, _, _ = self._load()
            self._require_intent(domain, nlu, to_intent)
            source = self._entry(nlu, from_intent)
            lines = read_block(source.get("examples", "")) if source is not None else []
            if text not in lines:
                raise ProjectError(f"{from_intent} has no example “{text}”", 404)
            lines.remove(text)
            self._set_lines(source, lines)
            target = self._entry(nlu, to_intent, create=True)
            self._set_lines(target, read_block(target.get("examples", "")) + [text])
            nlu.save()
            return {"version": self.version()}

    # ---- editing intents and responses ------------------------------------------------

    def add_intent(self, name: str, examples: Sequence[str] = (), response: Optional[str] = None,
                   expected_version: Optional[str] = None) -> Dict[str, Any]:
        """A new intent: in the domain, with its examples, and (given a response text) an answer rule."""
        check_intent_name(name)
        lines = [check_example(t) for t in examples]
        with self._lock:
            self._check_version(expected_version)
            nlu, domain, rules, stories = self._load()
            if name in self._domain_intents(domain) or self._entry(nlu, name) is not None:
                raise ProjectError(f"there is already an intent {name!r}", 409)
            for line in lines:
                clash = self._clash(nlu, line, ignore=("", ""))
                if clash:
                    raise ProjectError(f"“{parse(line).text}” is already an example of {clash}", 409)
            domain.document.setdefault("intents", CommentedSeq()).append(name)
            self._set_lines(self._entry(nlu, name, create=True), lines)
            if response:
                utter = f"utter_{name}"
                responses = domain.document.setdefault("responses", CommentedMap())
                responses[utter] = CommentedSeq([CommentedMap([("text", response)])])
                rules.document.setdefault("rules", CommentedSeq()).append(CommentedMap([
                    ("rule", f"answer {name}"),
                    ("steps", CommentedSeq([CommentedMap([("intent", name)]), CommentedMap([("action", utter)])]))]))
                rules.save()
            domain.save()
            nlu.save()
            return {"version": self.version()}

    def rename_intent(self, old: str, new: str, expected_version: Optional[str] = None) -> Dict[str, Any]:
        """Rename everywhere Rasa reads it: the examples, the domain, and every rule and story step."""
        check_intent_name(new)
        with self._lock:
            self._check_version(expected_version)
            nlu, domain, rules, stories = self._load()
            self._require_intent(domain, nlu, old)
            if new in self._domain_intents(domain) or self._entry(nlu, new) is not None:
                raise ProjectError(f"there is already an intent {new!r}; move the examples instead", 409)
            for entry in self._intent_entries(nlu):
                if entry["intent"] == old:
                    entry["intent"] = new
            intents = domain.document.get("intents") or []
            for i, item in enumerate(intents):
                if isinstance(item, dict) and old in item:
                    item.insert(0, new, item.pop(old))
                elif item == old:
                    intents[i] = new
            touched = set()
            for f in (rules, stories):
                if f is None:
                    continue
                for entry in f.document.get("rules") or []:
                    if isinstance(entry, dict) and entry.get("rule") == f"answer {old}":
                        entry["rule"] = f"answer {new}"   # the name Baton gave it, kept in step
                        touched.add(f)
                for _, _, steps in self._steps(f):
                    for step in steps:
                        if isinstance(step, dict) and step.get("intent") == old:
                            step["intent"] = new
                            touched.add(f)
                        for key in ("or",):
                            for alt in step.get(key, []) if isinstance(step, dict) else []:
                                if isinstance(alt, dict) and alt.get("intent") == old:
                                    alt["intent"] = new
                                    touched.add(f)
            nlu.save()
            domain.save()
            for f in touched:
                f.save()
            return {"version": self.version(), "updated": sorted(["nlu.yml", "domain.yml", *[f.path.name for f in touched]])}

    def delete_intent(self, name: str, expected_version: Optional[str] = None) -> Dict[str, Any]:
        """Delete an intent with its examples and its simple answer rules; refuse if stories use it."""
        with self._lock:
            self._check_version(expected_version)
            nlu, domain, rules, stories = self._load()
            self._require_intent(domain, nlu, name)
            simple, complex_ = [], []
            for source, rule_name, steps in self._steps(rules, stories):
                uses = any(isinstance(s, dict) and s.get("intent") == name for s in steps)
                if not uses:
                    continue
                is_simple = (source == "rules.yml" and len(steps) == 2 and steps[0].get("intent") == name
                             and "action" in steps[1])
                (simple if is_simple else complex_).append(f"{source}: {rule_name}")
            if complex_:
                raise ProjectError(f"{name} is part of {', '.join(complex_)}; change those first", 409)
            nlu.document["nlu"] = CommentedSeq([e for e in nlu.document.get("nlu") or []
                                                if not (isinstance(e, dict) and e.get("intent") == name)])
            intents = domain.document.get("intents") or []
            for item in list(intents):
                if item == name or (isinstance(item, dict) and name in item):
                    intents.remove(item)
            if simple:
                dropped = [r for r in rules.document.get("rules") or []
                           if any(isinstance(s, dict) and s.get("intent") == name for s in r.get("steps") or [])]
                rules.document["rules"] = CommentedSeq([r for r in rules.document.get("rules") or []
                                                        if r not in dropped])
                # Responses only those rules used go with them.
                still_used = {str(s.get("action")) for _, _, steps in self._steps(rules, stories)
                              for s in steps if isinstance(s, dict) and "action" in s}
                responses = domain.document.get("responses") or {}
                for rule in dropped:
                    for step in rule.get("steps") or []:
                        action = str(step.get("action", "")) if isinstance(step, dict) else ""
                        if action.startswith("utter_") and action not in still_used and action in responses:
                            del responses[action]
                rules.save()
            nlu.save()
            domain.save()
            return {"version": self.version(), "removed_rules": simple}

    def set_response(self, name: str, texts: Sequence[str], expected_version: Optional[str] = None) -> Dict[str, Any]:
        """Replace a response's texts in order; its variants' buttons and conditions stay."""
        if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise ProjectError("a response needs at least one non-empty text")
        with self._lock:
            self._check_version(expected_version)
            _, domain, _, _ = self._load()
            responses = domain.document.get("responses") or {}
            if name not in responses:
                raise ProjectError(f"there is no response {name!r}", 404)
            variants = responses[name]
            for i, text in enumerate(texts):
                if i < len(variants) and isinstance(variants[i], dict):
                    variants[i]["text"] = text.strip()
                else:
                    variants.append(CommentedMap([("text", text.strip())]))
            del variants[len(texts):]
            domain.save()
            return {"version": self.version(), "response": Response(name, self._response_texts(domain, name)).as_json()}
