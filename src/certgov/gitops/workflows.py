"""Checks of GitHub workflow and action files that run certgov, offline.

Two checks, the same in certgov's own tests and in the `certgov-workflows` pre-commit hook:

- the files against GitHub's JSON Schemas as bundled with `check-jsonschema`
  (`vendor.github-workflows`, `vendor.github-actions`): no network;
- every certgov call in them (in `run:` scripts, and in the `command:` input of steps that use
  the certgov composite action) against the real click commands: the subcommand exists, each
  option exists, and a literal value of a choice option is one of its choices. A call whose
  subcommand is a shell variable or a `${{ }}` expression cannot be checked and is left out.

`python -m certgov.cli.workflows_check FILE...` runs both (the pre-commit hook's entry).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml

WORKFLOW_SCHEMA = "vendor.github-workflows"
ACTION_SCHEMA = "vendor.github-actions"
ACTION_FILES = ("action.yml", "action.yaml")

# A step that uses certgov's composite action, vendored (`./.github/actions/certgov`) or not.
_ACTION_USE = re.compile(r"(^|/)\.github/actions/certgov(@.*)?$")
# `${{ ... }}` may hold spaces; it is one (unknown) word to the shell.
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_OPERATOR_CHARS = frozenset("();<>|&")
# After these, the next word is in command position.
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "!", "time", "exec"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Invocation:
    """One certgov call found in a file: `argv` is what follows `certgov`."""

    file: str
    where: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join(("certgov", *self.argv))


@dataclass(frozen=True)
class Finding:
    """Something a call uses that certgov does not offer.

    `subject` names it the way people write it: `drift` (a command), `plan --out` (an option),
    `plan --format markdown` (a choice).
    """

    subject: str
    message: str


# -- finding the calls ---------------------------------------------------------------------------


def is_action_file(path: str | Path) -> bool:
    return Path(path).name in ACTION_FILES


def load(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def invocations(document: Any, file: str) -> list[Invocation]:
    """Every certgov call in a parsed workflow or action file, in file order."""
    found: list[Invocation] = []
    for where, step in _steps(document):
        run = step.get("run")
        if isinstance(run, str):
            found.extend(Invocation(file, where, argv) for argv in certgov_calls(run))
        uses = step.get("uses")
        with_ = step.get("with")
        if isinstance(uses, str) and _ACTION_USE.search(uses) and isinstance(with_, Mapping):
            argv = _action_argv(with_)
            if argv:
                found.append(Invocation(file, where, argv))
    return found


def _steps(document: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(document, Mapping):
        return
    lists: list[tuple[str, Any]] = []
    jobs = document.get("jobs")
    if isinstance(jobs, Mapping):
        lists.extend(
            (f"jobs.{name}", job.get("steps"))
            for name, job in jobs.items()
            if isinstance(job, Mapping)
        )
    runs = document.get("runs")
    if isinstance(runs, Mapping):
        lists.append(("runs", runs.get("steps")))
    for prefix, steps in lists:
        if not isinstance(steps, list):
            continue
        for i, step in enumerate(steps):
            if isinstance(step, Mapping):
                name = f" ({step['name']})" if isinstance(step.get("name"), str) else ""
                yield f"{prefix}.steps[{i}]{name}", step


def _action_argv(with_: Mapping[str, Any]) -> tuple[str, ...]:
    """The call the composite action makes: `certgov <command> <path>`."""
    command = str(with_.get("command") or "")
    if not command.strip():
        return ()
    words = _EXPRESSION.sub("${{}}", command).split()
    path = with_.get("path", ".")
    return (*words, str(path)) if path not in (None, "") else tuple(words)


def certgov_calls(script: str) -> list[tuple[str, ...]]:
    """The words after each `certgov` (or `.../certgov`) in command position in a shell script."""
    calls: list[tuple[str, ...]] = []
    for words in _statements(script):
        start = True
        i = 0
        while i < len(words):
            word = words[i]
            if _is_operator(word) or word in _KEYWORDS:
                start = True
            elif start and _ASSIGNMENT.match(word):
                pass  # `NAME=value certgov ...` keeps the command position
            elif start and (word == "certgov" or word.endswith("/certgov")):
                end = i + 1
                while end < len(words) and not _is_operator(words[end]):
                    end += 1
                calls.append(tuple(words[i + 1 : end]))
                i = end
                continue
            else:
                start = False
            i += 1
    return calls


def _statements(script: str) -> Iterator[list[str]]:
    """Each logical line as shell words; a quote left open continues onto the next line."""
    pending = ""
    for line in _EXPRESSION.sub("${{}}", script).replace("\\\n", " ").splitlines():
        pending = f"{pending}\n{line}" if pending else line
        lexer = shlex.shlex(pending, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            words = list(lexer)
        except ValueError:
            continue  # an open quote: read on
        pending = ""
        yield words
    if pending:
        yield pending.split()


def _is_operator(word: str) -> bool:
    return bool(word) and all(c in _OPERATOR_CHARS for c in word)


# -- checking them -------------------------------------------------------------------------------


def _dynamic(word: str) -> bool:
    return "$" in word


def check(argv: Sequence[str], group: click.Group) -> list[Finding]:
    """What in `certgov <argv>` the commands of `group` do not offer; [] when all is there."""
    command: click.Command = group
    path: list[str] = []
    words = list(argv)
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        name = words[0]
        if _dynamic(name):
            return []
        sub = command.commands.get(name)
        if sub is None:
            subject = " ".join((*path, name))
            return [Finding(subject, f"certgov has no command `{subject}`")]
        command, path = sub, [*path, name]
        words = words[1:]
    return _check_options(command, " ".join(path), words, group.context_settings)


def _check_options(
    command: click.Command, path: str, words: list[str], settings: Mapping[str, Any]
) -> list[Finding]:
    findings: list[Finding] = []
    # With the CLI's own settings (`-h` as well as `--help`): click keeps the help option it
    # makes first on the command, and `--help` of the real CLI must show it the same way.
    ctx = click.Context(command, info_name="certgov", **settings)
    options = {
        opt: param
        for param in command.get_params(ctx)
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
    }
    label = f"certgov {path}".rstrip()
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            break
        if not word.startswith("-") or word == "-" or _dynamic(word):
            continue
        name, has_value, inline = word.partition("=")
        if not word.startswith("--") and len(word) > 2:
            # `-vv` or `-ofile`: the first letter's option, the rest is more letters or a value.
            name, has_value, inline = word[:2], "", word[2:]
            option = options.get(name)
            if option is not None and not (option.is_flag or option.count):
                has_value = "="
        option = options.get(name)
        subject = f"{path} {name}".strip()
        if option is None:
            findings.append(Finding(subject, f"`{label}` has no option {name}"))
            continue
        if option.is_flag or option.count:
            continue
        if has_value:
            value = inline
        elif i < len(words):
            value = words[i]
            i += 1
        else:
            findings.append(Finding(subject, f"`{label} {name}` needs a value"))
            continue
        if isinstance(option.type, click.Choice) and not _dynamic(value):
            choices = [str(c) for c in option.type.choices]
            if value not in choices:
                findings.append(
                    Finding(
                        f"{subject} {value}",
                        f"`{label} {name}` takes {', '.join(choices)}, not {value!r}",
                    )
                )
    return findings


def check_file(path: str | Path, group: click.Group) -> list[tuple[Invocation, Finding]]:
    """Every finding of every certgov call in one workflow or action file."""
    out: list[tuple[Invocation, Finding]] = []
    for invocation in invocations(load(path), str(path)):
        out.extend((invocation, finding) for finding in check(invocation.argv, group))
    return out


def schema_check(paths: Sequence[str | Path]) -> tuple[int, str]:
    """check-jsonschema over the files with GitHub's bundled schemas: (exit status, output)."""
    status = 0
    output: list[str] = []
    actions = [str(p) for p in paths if is_action_file(p)]
    workflows = [str(p) for p in paths if not is_action_file(p)]
    for schema, files in ((WORKFLOW_SCHEMA, workflows), (ACTION_SCHEMA, actions)):
        if not files:
            continue
        done = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *files],
            capture_output=True,
            text=True,
            check=False,
        )
        status = status or done.returncode
        output.append((done.stdout + done.stderr).strip())
    return status, "\n".join(output)
