"""Entry point: ``cxrviewer`` opens the window; ``cxrviewer <command>`` runs the command line.

Nothing heavy is imported here: the GUI path imports Qt only after parsing its arguments, and
the CLI path imports only the command it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING

from cxrviewer.arguments import NO_ARGUMENTS, build_gui_parser

if TYPE_CHECKING:
    from argparse import Namespace

__all__ = ["NO_ARGUMENTS", "build_gui_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys, "frozen", False):  # a no-op elsewhere; importing multiprocessing costs ~10 ms
        import multiprocessing

        multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    args: Namespace | SimpleNamespace
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None:
        from cxrviewer import cli

        if first in cli.command_names():
            return cli.run(argv)
    if argv:
        parser = build_gui_parser()
        args, extra = parser.parse_known_args(argv)
        if args.path and _names_no_path(args.path):
            from cxrviewer import cli

            print(cli.unknown_command_message(args.path), file=sys.stderr, end="")
            return 2
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    else:
        args = SimpleNamespace(**NO_ARGUMENTS)
    if args.version:
        from cxrviewer import __version__

        print(f"cxrviewer {__version__}")
        return 0
    if args.self_test:
        from cxrviewer.selftest import main as self_test

        return self_test()
    from cxrviewer.gui.launch import launch

    return launch(args)


def _names_no_path(word: str) -> bool:
    """A bare word ("serach", "foo") that is no file or folder here: a mistyped command, not a
    study to open. Anything path-like (a slash, a dot, "~") goes to the window, which says
    "Not found" when it is missing."""
    import os
    import re

    return bool(re.fullmatch(r"[A-Za-z][\w-]*", word)) and not os.path.exists(word)
