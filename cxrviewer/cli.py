"""The command line: ``cxrviewer <command> ...``.

Each area of the app registers its own commands (``register(subparsers)`` in a ``cli`` module),
so this file only assembles them. Commands print clear messages and return an exit status; they
never show a traceback for a user error (bad path, unreadable file, missing model).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from cxrviewer import __version__
from cxrviewer.logs import quiet_library_loggers

# Modules that contribute commands; each defines ``register(subparsers, groups)``.
COMMAND_MODULES = (
    "cxrviewer.imaging.cli",
    "cxrviewer.reports.cli",
    "cxrviewer.library.cli",
    "cxrviewer.eval.cli",
    "cxrviewer.models.cli",
    "cxrviewer.explain.classify_cli",
    "cxrviewer.train.cli",
    "cxrviewer.explain.cli",
    "cxrviewer.teaching.cli",
    "cxrviewer.synthesis.cli",
)


class UserError(Exception):
    """A problem the user can fix (a wrong path, a missing file); printed without a traceback."""


class CommandGroups:
    """Shared parent commands such as ``eval`` and ``library`` that several modules extend."""

    def __init__(self, subparsers: argparse._SubParsersAction) -> None:
        self._subparsers = subparsers
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def get(self, name: str, help: str) -> argparse._SubParsersAction:
        if name not in self._groups:
            parser = self._subparsers.add_parser(name, help=help, description=help)
            self._groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
            self._groups[name].required = True
        return self._groups[name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxrviewer",
        description="Offline chest X-ray viewer and case search. With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"cxrviewer {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups = CommandGroups(subparsers)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers, groups)
    return parser


def command_names() -> set[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def command_summaries(parser: argparse.ArgumentParser | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """Every command that runs something ("info", "library build") with its one-line help, in the
    order the modules register them; a group ("library") is listed as its commands."""
    parser = parser or build_parser()
    found: list[tuple[str, str]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = action.choices[choice.dest]
                nested = command_summaries(sub, f"{prefix}{choice.dest} ")
                found += nested or [(prefix + choice.dest, choice.help or "")]
    return found


def commands_help(width: int | None = None) -> str:
    """The command list that ``cxrviewer --help`` and a mistyped command print."""
    import shutil
    import textwrap

    width = width or min(120, shutil.get_terminal_size().columns)
    summaries = command_summaries()
    column = max(len(name) for name, _ in summaries) + 4
    lines = ["commands (cxrviewer COMMAND --help shows a command's options):"]
    for name, text in summaries:
        wrapped = textwrap.wrap(text, max(30, width - column)) or [""]
        lines.append(f"  {name:<{column - 2}}{wrapped[0]}")
        lines += [" " * column + more for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


def unknown_command_message(word: str) -> str:
    """What to say when ``cxrviewer WORD`` names neither a command nor an existing file or folder:
    the nearest command when there is one ("serach" -> "search", "biuld" -> "library build")."""
    import difflib

    summaries = command_summaries()
    candidates = {name: name for name in command_names()}
    for name, _ in summaries:  # a group's command by its own name, e.g. "build"
        candidates.setdefault(name.split()[-1], name)
    nearest = difflib.get_close_matches(word.lower(), list(candidates), n=1, cutoff=0.6)
    if nearest:
        head = f"cxrviewer: unknown command '{word}'; did you mean '{candidates[nearest[0]]}'?"
    else:
        head = f"cxrviewer: unknown command '{word}' (and no file or folder of that name here)"
    return f"{head}\n\n{commands_help()}"


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    quiet_library_loggers()  # faiss's "Could not load library with AVX512 support" is DEBUG
    if not args.verbose:
        # pydicom reports every odd header value; the commands report what matters themselves.
        logging.getLogger("pydicom").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=r"pydicom(\..*)?$")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(f"cxrviewer: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cxrviewer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`cxrviewer search ... | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
