"""Round-trip YAML for the Rasa project's files: comments, order, quoting and indentation kept.

Each file is written back in the indentation style it was read in (Rasa's own files mix
styles: `nlu.yml` puts `- intent:` at the margin, `domain.yml` indents lists under keys), so
an edit shows in `git diff` as the lines it changed and nothing else. Writes go to a
temporary file that replaces the original, so a file is never left half-written.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

STYLES: Tuple[Tuple[int, int, int], ...] = ((2, 2, 0), (2, 4, 2), (4, 4, 2), (4, 6, 4), (4, 4, 0))


class DataFileError(Exception):
    """A training-data file Baton cannot read (hand-edited into invalid YAML, say)."""


def _yaml(style: Tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping, sequence, offset = style
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.representer.add_representer(
        type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null"))
    return yaml


def _dump(yaml: YAML, document: Any) -> str:
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


class YamlFile:
    """One YAML file, loaded for editing; `save` writes it back in its own style."""

    def __init__(self, path: Path, document: Any, style: Tuple[int, int, int]) -> None:
        self.path = path
        self.document = document
        self.style = style

    @classmethod
    def load(cls, path: Path, default: Any = None) -> "YamlFile":
        if not path.exists():
            if default is None:
                raise DataFileError(f"{path.name} is missing")
            return cls(path, default, STYLES[0])
        text = path.read_text(encoding="utf-8")
        for style in STYLES:
            try:
                document = _yaml(style).load(text)
            except YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                raise DataFileError(f"{path.name} is not valid YAML{where}: {getattr(exc, 'problem', exc)}")
            if document is None:
                document = default if default is not None else {}
            if _dump(_yaml(style), document) == text:
                return cls(path, document, style)
        return cls(path, _yaml(STYLES[0]).load(text), STYLES[0])

    def render(self) -> str:
        return _dump(_yaml(self.style), self.document)

    def save(self) -> None:
        write_atomically(self.path, self.render())


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file in the same folder, then rename over the original."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
