"""A policy directory compiled once into a regopy bundle, and the low-level regopy calls.

The bundle holds every ``*.rego`` file under the directory except ``*_test.rego``, plus the
``data.json`` at its root, which becomes the data document (its ``steward`` key is
``data.steward``). Its hash identifies the exact policy that made a decision.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from regopy import Bundle, Interpreter, LogLevel, RegoError
from regopy.rego_shared import (
    rego_bundle_query,
    rego_free_output,
    rego_output_string,
    rego_query,
)

from api.core.settings import get_settings

BUNDLE_QUERY = "decision := data.steward.gate.decision"
# The policy's own check of its data; a policy without the rule has nothing to report.
DATA_PROBLEMS_QUERY = "problems := data.steward.gate.data_problems"
DECISION_VAR = "decision"
DATA_FILE = "data.json"
# Load-time checks (the data check): compiled and run when a bundle loads, then left out
# of the bundle that decides. regopy's per-call cost grows with everything in the bundle.
CHECK_SUFFIX = "_check.rego"
UNDEFINED = "undefined"

_ERROR_HEAD = re.compile(r"\(error (\d+):")
_ERROR_POS = re.compile(r"\|(\d+)\|(\d+)")
_ERROR_MSG = re.compile(r"\(errormsg (\d+):")


class PolicyError(Exception):
    """The policy directory could not be read or compiled.

    Attributes:
        message: What went wrong, with ``file:line:`` prefixes when regopy located it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_interpreter() -> Interpreter:
    """Return a regopy interpreter that does not print its errors to stdout."""
    interpreter = Interpreter()
    # regopy logs errors to stdout by default; they reach callers as exceptions or
    # error output instead, and stray prints would corrupt CLI output.
    interpreter.log_level = LogLevel.NONE
    return interpreter


def policy_files(policy_dir: Path) -> list[str]:
    """Return the bundle's files as sorted POSIX paths relative to ``policy_dir``.

    Args:
        policy_dir: The policy directory.

    Returns:
        Every ``*.rego`` except ``*_test.rego``, and ``data.json`` when present.
    """
    names = [
        path.relative_to(policy_dir).as_posix()
        for path in policy_dir.rglob("*.rego")
        if path.is_file() and not path.name.endswith("_test.rego")
    ]
    if (policy_dir / DATA_FILE).is_file():
        names.append(DATA_FILE)
    return sorted(names)


def read_contents(directory: Path) -> dict[str, bytes]:
    """Return the bytes of the bundle's files (:func:`policy_files`) in ``directory``.

    Raises:
        PolicyError: Not a directory, or a file is unreadable.
    """
    if not directory.is_dir():
        raise PolicyError(f"{directory}: not a policy directory")
    try:
        return {name: (directory / name).read_bytes() for name in policy_files(directory)}
    except OSError as exc:
        raise PolicyError(f"{directory}: {exc}") from exc


def bundle_sha256(contents: dict[str, bytes]) -> str:
    """Return the hex SHA-256 identifying a bundle.

    For each file in order of its relative POSIX path, the hash takes the UTF-8 path, a
    NUL byte, the decimal byte length of the content, a NUL byte, then the content. The
    lengths keep file boundaries unambiguous, so no two bundles share a hash by moving
    bytes between files.

    Args:
        contents: File bytes by relative POSIX path.
    """
    digest = hashlib.sha256()
    for name in sorted(contents):
        data = contents[name]
        digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()


def rego_error_message(text: str, sources: dict[str, bytes] | None = None) -> str:
    """Turn regopy's error tree into ``file:line: message`` lines.

    regopy reports errors as an S-expression whose strings are length-prefixed
    (``(error 10:a/b.rego|36|2 (errormsg 27:...)``) with byte offsets into the source.

    Args:
        text: The error text from a ``RegoError`` or an error output.
        sources: Module bytes by name, to turn byte offsets into line numbers.
    """
    found: list[str] = []
    for head in _ERROR_HEAD.finditer(text):
        start = head.end()
        name = text[start : start + int(head.group(1))]
        location = name
        pos = _ERROR_POS.match(text, start + len(name))
        if pos and sources and name in sources:
            line = sources[name][: int(pos.group(1))].count(b"\n") + 1
            location = f"{name}:{line}"
        msg = _ERROR_MSG.search(text, start)
        detail = text[msg.end() : msg.end() + int(msg.group(1))] if msg else "error"
        found.append(f"{location}: {detail}" if location else detail)
    if not found:
        # Query errors carry a message but no file (``(error (errormsg 9:...))``).
        found = [text[m.end() : m.end() + int(m.group(1))] for m in _ERROR_MSG.finditer(text)]
    unique = list(dict.fromkeys(found))
    return "; ".join(unique) if unique else text.strip()[:500]


def output_error(raw: str) -> str | None:
    """Return the error message when ``raw`` is an error output rather than a result.

    regopy's ``Output.ok()`` is true even for some evaluation errors (recursion, conflicting
    values), which come back as ``(error ...)`` or ``<error>`` text instead of JSON.
    """
    if raw.startswith("<"):
        # Seen for conflicting values of one rule; regopy gives no further detail.
        return "evaluation failed without detail (conflicting rule values?)"
    if raw.startswith("("):
        return rego_error_message(raw)
    return None


def query_raw(interpreter: Interpreter, bundle: Bundle) -> str:
    """Run the bundle's query and return regopy's raw output text.

    The raw text is ``undefined``, a JSON result, or an error tree. This avoids
    ``regopy.Output``, which parses the text as JSON on construction (failing on error
    trees) and whose ``expressions()`` aborts the process on undefined results.

    Raises:
        RegoError: When regopy returns no output at all.
    """
    output = rego_bundle_query(interpreter._impl, bundle._impl)
    try:
        return rego_output_string(output)
    finally:
        rego_free_output(output)


class PolicyBundle:
    """One policy directory, read and compiled once.

    Attributes:
        directory: The policy directory.
        files: The bundle's files, as sorted relative POSIX paths.
        sha256: See :func:`bundle_sha256`.
        bundle: The compiled regopy bundle, safe to query from several threads, each with
            its own interpreter.
        sources: The UTF-8 text of every file, by relative path: exactly the bytes that were
            hashed and compiled, read once when the bundle loaded (the ledger archives these,
            never the directory as it is later).
    """

    def __init__(
        self,
        directory: Path,
        files: Sequence[str],
        sha256: str,
        bundle: Bundle,
        sources: Mapping[str, str] | None = None,
    ):
        self.directory = directory
        self.files = tuple(files)
        self.sha256 = sha256
        self.bundle = bundle
        self.sources: Mapping[str, str] = MappingProxyType(dict(sources or {}))

    @classmethod
    def load(
        cls,
        policy_dir: Path | None = None,
        query: str = BUNDLE_QUERY,
        *,
        with_checks: bool = False,
    ) -> PolicyBundle:
        """Read, compile and smoke-test the policy in ``policy_dir``.

        Every module is compiled together and the data check runs on that; the bundle
        returned then answers ``query`` from every module except the load-time checks
        (``*_check.rego``), unless ``with_checks``.

        Args:
            policy_dir: The policy directory; ``get_settings().policy_dir`` when omitted.
            query: The query the bundle answers; its ``decision`` variable is the result.
            with_checks: Keep the load-time checks in the bundle (for queries using them).

        Raises:
            PolicyError: A file is unreadable, ``data.json`` is not a JSON object, a module
                does not compile, the query fails to evaluate on an empty input, or the
                policy finds problems in its data (``data_problems``).
        """
        directory = Path(get_settings().policy_dir if policy_dir is None else policy_dir)
        return cls.from_contents(
            directory, read_contents(directory), query, with_checks=with_checks
        )

    @classmethod
    def from_contents(
        cls,
        directory: Path,
        contents: dict[str, bytes],
        query: str = BUNDLE_QUERY,
        *,
        with_checks: bool = False,
    ) -> PolicyBundle:
        """Compile and smoke-test a bundle already read (see :meth:`load`).

        Args:
            directory: Where the contents came from, for messages.
            contents: File bytes by relative POSIX path, as :func:`read_contents` returns.
            query: The query the bundle answers.
            with_checks: Keep the load-time checks in the bundle.

        Raises:
            PolicyError: As :meth:`load`.
        """
        modules = {name: data for name, data in contents.items() if name.endswith(".rego")}
        if not modules:
            raise PolicyError(f"{directory}: no .rego files")
        data = _data_json(contents[DATA_FILE]) if DATA_FILE in contents else None
        deciding = {
            name: source
            for name, source in modules.items()
            if with_checks or not name.endswith(CHECK_SUFFIX)
        }
        everything = _compile(directory, modules, data, query)
        bundle = everything.bundle
        if len(deciding) < len(modules):
            bundle = _compile(directory, deciding, data, query).bundle
        _smoke_test(bundle, modules)
        _check_data(everything.builder)
        # Every file decoded already: the modules to compile, data.json to check it.
        sources = {name: data.decode() for name, data in contents.items()}
        return cls(directory, sorted(contents), bundle_sha256(contents), bundle, sources)


@dataclass
class _Compiled:
    builder: Interpreter
    bundle: Bundle


def _compile(directory: Path, modules: dict[str, bytes], data: str | None, query: str) -> _Compiled:
    """Compile ``modules`` (and the data document) into a bundle answering ``query``."""
    builder = new_interpreter()
    try:
        for name, source in modules.items():
            builder.add_module(name, source.decode())
        if data is not None:
            builder.add_data_json(data)
        bundle = builder.build(query)
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{directory}: a .rego file is not UTF-8: {exc}") from exc
    except RegoError as exc:
        raise PolicyError(rego_error_message(str(exc), modules)) from exc
    if not bundle.ok():
        raise PolicyError(f"{directory}: regopy could not build the bundle")
    return _Compiled(builder, bundle)


def _data_json(raw: bytes) -> str:
    """Return ``data.json`` as text, checked by Python so errors carry a line number."""
    try:
        text = raw.decode()
        document = json.loads(text)
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{DATA_FILE}: not UTF-8: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{DATA_FILE}:{exc.lineno}: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"{DATA_FILE}: the top level must be a JSON object")
    return text


def _smoke_test(bundle: Bundle, modules: dict[str, bytes]) -> None:
    """Evaluate the bundle once on an empty input.

    Errors regopy only finds at evaluation time (recursion, conflicting rule values) then
    fail the load rather than every decision. An undefined or odd decision is fine here:
    the engine turns those into denies.
    """
    interpreter = new_interpreter()
    interpreter.set_input_term("{}")
    try:
        raw = query_raw(interpreter, bundle)
    except RegoError as exc:
        raise PolicyError(rego_error_message(str(exc), modules)) from exc
    error = output_error(raw)
    if error is not None:
        raise PolicyError(f"evaluation fails: {error}")


def _check_data(builder: Interpreter) -> None:
    """Refuse data the policy itself calls invalid: decisions do not check it again."""
    output = rego_query(builder._impl, DATA_PROBLEMS_QUERY)
    try:
        raw = rego_output_string(output)
    finally:
        rego_free_output(output)
    if raw.strip() == UNDEFINED:
        return
    error = output_error(raw)
    if error is not None:
        raise PolicyError(f"checking {DATA_FILE} fails: {error}")
    problems = json.loads(raw)["bindings"]["problems"]
    if problems:
        raise PolicyError(f"{DATA_FILE}: " + "; ".join(str(p) for p in problems))
