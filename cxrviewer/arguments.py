"""The window's command-line options: the parser, and what a plain ``cxrviewer`` start gets
without running it. Read by the entry point (``cxrviewer.app``) and by the window's start-up log
(``gui.launch.describe_options``); nothing here imports Qt."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

# What the parser gives for a plain `cxrviewer` (a desktop launcher's command line). That start
# skips argparse: building the parser is ~4 ms of a ~200 ms start, mostly gettext's locale lookups.
# A test keeps this equal to build_gui_parser().parse_args([]).
NO_ARGUMENTS = {
    "path": None, "screenshot": None, "query": None, "saliency": False, "library": None,
    "size": "1600x1000", "anonymise": False, "timeout": 120.0, "version": False, "self_test": False,
}


def build_gui_parser() -> argparse.ArgumentParser:
    import argparse

    class GuiParser(argparse.ArgumentParser):
        def format_help(self) -> str:
            # The command list imports every command module: only when help is asked for.
            from cxrviewer.cli import commands_help

            return super().format_help() + "\n" + commands_help()

    parser = GuiParser(
        prog="cxrviewer",
        description="Open the cxrviewer window, optionally on a study folder or file; or run a command "
                    "(listed below): `cxrviewer COMMAND [OPTIONS]`.",
    )
    parser.add_argument("path", nargs="?", help="a study folder, DICOMDIR or image file to open")
    parser.add_argument(
        "--screenshot",
        metavar="FILE",
        help="open offscreen, wait until everything requested is drawn, save a PNG and exit",
    )
    parser.add_argument("--query", metavar="TEXT", help="search the case library for this impression at start")
    parser.add_argument("--saliency", action="store_true",
                        help="explain each film opened from the gallery with a saliency overlay")
    parser.add_argument("--library", metavar="NAME_OR_PATH",
                        help="case library to search (default: the last one used, else the demo)")
    parser.add_argument("--size", default="1600x1000", help="window size for --screenshot (WxH)")
    parser.add_argument("--anonymise", action="store_true", help="start with identifying data hidden")
    parser.add_argument("--timeout", type=float, default=120.0, help="--screenshot gives up after this many seconds")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--self-test", action="store_true",
                        help="check this install end to end offscreen (decoders, library build, both search "
                             "routes, saliency, the window), print each step with its timing and exit: "
                             "0 when everything worked")
    return parser
