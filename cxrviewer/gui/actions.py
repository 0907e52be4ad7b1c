"""Every menu command of the main window, as a table: menu, text, keys, and what it does.

The window builds its menus, shortcuts, toolbar and the Help > Keyboard shortcuts list from
this table. A new feature adds its rows here (and a controller that does the work): e.g.

    Command("&Teaching", "&Add to collection…", "Ctrl+D", lambda w: w.teaching.add_current()),

Commands receive the window and reach its parts through their public handles: ``w.session``
(the model), ``w.viewer``, ``w.viewer_controls``, ``w.search``, ``w.explainer``, ``w.dialogs``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QKeySequence

if TYPE_CHECKING:
    from cxrviewer.gui.main_window import MainWindow

if TYPE_CHECKING:
    Keys = str | list[str] | QKeySequence.StandardKey | None


class Command:
    """One action. ``run(window)``, or ``run(window, checked)`` when ``checkable``; ``name`` keeps
    it as ``window.<name>``; ``checked(window)`` is its state at start; ``group`` makes the
    checkable actions of one group exclusive. (Plain classes here, not dataclasses: the table is
    read before the window first shows.)"""

    __slots__ = ("checkable", "checked", "group", "keys", "menu", "name", "run", "text")

    def __init__(self, menu: str, text: str, keys: Keys, run: Callable[..., Any], name: str = "",
                 checkable: bool = False, checked: Callable[[MainWindow], bool] | None = None,
                 group: str = "") -> None:
        self.menu, self.text, self.keys, self.run, self.name = menu, text, keys, run, name
        self.checkable, self.checked, self.group = checkable, checked, group


class Separator:
    __slots__ = ("menu",)

    def __init__(self, menu: str) -> None:
        self.menu = menu


class Submenu:
    """A submenu the window fills itself (Open recent), kept as ``window.<name>``."""

    __slots__ = ("menu", "name", "text")

    def __init__(self, menu: str, text: str, name: str) -> None:
        self.menu, self.text, self.name = menu, text, name


Entry = Command | Separator | Submenu

FILE, EDIT, VIEW, WL, TOOLS, SEARCH = "&File", "&Edit", "&View", "&Window/Level", "&Tools", "&Search"
TEACH, HELP = "Tea&ching", "&Help"
MENUS = (FILE, EDIT, VIEW, WL, TOOLS, SEARCH, TEACH, HELP)


def _preset(i: int) -> Command:
    return Command(WL, f"Preset {i + 1}", str(i + 1), lambda w: w.viewer_controls.apply_preset(i), f"preset_{i + 1}")


def _tool(tool: str, text: str, keys: str) -> Command:
    return Command(TOOLS, text, keys, lambda w, on: on and w.viewer_controls.set_tool(tool), f"tool_{tool}",
                   checkable=True, checked=lambda w: tool == "pan", group="tools")


def _teaching(w: MainWindow) -> Any:
    """The teaching files' controller (``gui.teaching``), loaded on first use."""
    from cxrviewer.gui.teaching import controller_for

    return controller_for(w)


def _synthesis(w: MainWindow) -> Any:
    """Search > Synthesize example films: the dialog (``gui.synthesis_dialog``), loaded on first use."""
    from cxrviewer.gui.synthesis_dialog import open_for

    return open_for(w)


def _mark(tool: str, text: str, keys: str) -> Command:
    return Command(TEACH, text, keys, lambda w, on: on and _teaching(w).set_tool(tool), f"tool_{tool}",
                   checkable=True, group="tools")


ACTIONS: tuple[Entry, ...] = (
    Command(FILE, "&Open folder…", QKeySequence.StandardKey.Open, lambda w: w.dialogs.choose_folder(), "open_folder"),
    Command(FILE, "Open &file…", "Ctrl+Shift+O", lambda w: w.dialogs.choose_file()),
    Submenu(FILE, "Open &recent", "recent_menu"),
    Separator(FILE),
    Command(FILE, "&Save view as PNG…", "Ctrl+S", lambda w: w.dialogs.save_view_png()),
    Command(FILE, "&Build case library…", "Ctrl+B", lambda w: w.search.choose_and_build()),
    Separator(FILE),
    Command(FILE, "&Quit", QKeySequence.StandardKey.Quit, lambda w: w.close()),

    Command(EDIT, "&Undo", QKeySequence.StandardKey.Undo, lambda w: _teaching(w).undo(), "undo_action"),

    Command(VIEW, "&Fit to window", "F", lambda w: w.viewer.fit()),
    Command(VIEW, "&Actual pixels (1:1)", "Ctrl+0", lambda w: w.viewer.one_to_one()),
    Command(VIEW, "Zoom &in", ["+", "="], lambda w: w.viewer.zoom(1.25)),
    Command(VIEW, "Zoom &out", "-", lambda w: w.viewer.zoom(0.8)),
    Separator(VIEW),
    Command(VIEW, "Rotate &right", "R", lambda w: w.viewer.rotate(90)),
    Command(VIEW, "Rotate &left", "Shift+R", lambda w: w.viewer.rotate(-90)),
    Command(VIEW, "Flip &horizontal", "H", lambda w: w.viewer.flip(True)),
    Command(VIEW, "Flip &vertical", "V", lambda w: w.viewer.flip(False)),
    Command(VIEW, "&Invert", "I", lambda w: w.viewer_controls.toggle_invert(), "invert_action"),
    Command(VIEW, "Re&set view", "Home", lambda w: w.viewer_controls.reset_view()),
    Separator(VIEW),
    Command(VIEW, "&Magnifier", "M", lambda w, on: w.viewer.set_magnifier(on), "magnifier_action",
            checkable=True),
    Command(VIEW, "Corner &overlays", "O", lambda w, on: w.session.set_overlays(on), "overlay_action",
            checkable=True, checked=lambda w: w.session.show_overlays),
    Command(VIEW, "&Anonymise (hide identifying data)", "Ctrl+Shift+A", lambda w, on: w.session.set_anonymise(on),
            "anonymise_action", checkable=True, checked=lambda w: w.session.anonymise),
    Separator(VIEW),
    Command(VIEW, "&Next image", ["Down", "PgDown"], lambda w: w.session.film.step(1)),
    Command(VIEW, "&Previous image", ["Up", "PgUp"], lambda w: w.session.film.step(-1)),
    Command(VIEW, "Next fra&me", "Right", lambda w: w.viewer.step_frame(1)),
    Command(VIEW, "Previous fram&e", "Left", lambda w: w.viewer.step_frame(-1)),

    *(_preset(i) for i in range(9)),

    _tool("pan", "&Pan / zoom", "P"),
    _tool("measure", "Measure &length", "L"),
    _tool("ctr", "&Cardiothoracic ratio", "C"),
    Command(TOOLS, "Clear &measurements", ["Delete", "Esc"], lambda w: w.viewer.clear_measurements()),
    Command(TOOLS, "&Find tag…", "Ctrl+F", lambda w: w.dialogs.focus_tag_filter()),
    Separator(TOOLS),
    Command(TOOLS, "&Train a model…", "Ctrl+T", lambda w: w.dialogs.show_training()),
    Command(TOOLS, "&Import a model…", None, lambda w: w.dialogs.import_model()),

    Command(SEARCH, "&Search box", "Ctrl+K", lambda w: w.dialogs.focus_search_box()),
    Command(SEARCH, "Similar &films", "Ctrl+Shift+S", lambda w: w.session.search.similar("films")),
    Command(SEARCH, "Similar &reports", "Ctrl+Shift+R", lambda w: w.session.search.similar("reports")),
    Command(SEARCH, "&Compare with the selected result", "Ctrl+Shift+C", lambda w: w.search.compare_selected()),
    Command(SEARCH, "Search &filters", "Ctrl+Shift+F", lambda w: w.results.filters_button.toggle()),
    Separator(SEARCH),
    Command(SEARCH, "&Explain this film (saliency)", "E", lambda w: w.explainer.explain()),
    Command(SEARCH, "Show saliency &overlay", "S", lambda w: w.viewer.saliency.bar.show_box.toggle()),
    Command(SEARCH, "Explain films &automatically", None, lambda w, on: setattr(w.explainer, "auto", on),
            "auto_explain_action", checkable=True),
    Separator(SEARCH),
    Command(SEARCH, "S&ynthesize example films…", None, lambda w: _synthesis(w)),

    Command(TEACH, "&Collections pane", "Ctrl+Shift+L", lambda w: _teaching(w).show_pane()),
    Command(TEACH, "&Add the film on screen", "Ctrl+D", lambda w: _teaching(w).add_current(), "teaching_add"),
    Command(TEACH, "Add the selected &result", "Ctrl+Shift+D", lambda w: _teaching(w).add_selected_result()),
    Command(TEACH, "Add all res&ults", None, lambda w: _teaching(w).add_all_results()),
    Command(TEACH, "Save the &key image view", "Ctrl+Shift+K", lambda w: _teaching(w).save_key_image()),
    Separator(TEACH),
    _mark("arrow", "Annotate: a&rrow", "Shift+A"),
    _mark("ellipse", "Annotate: &ellipse", "Shift+E"),
    _mark("freehand", "Annotate: &freehand region", "Shift+F"),
    _mark("line", "Annotate: &line", "Shift+L"),
    _mark("text", "Annotate: &text", "Shift+T"),
    Separator(TEACH),
    Command(TEACH, "&Start a session (unknown cases)", "F5", lambda w: _teaching(w).start_session("unknown")),
    Command(TEACH, "Start a session (&known cases)", "Shift+F5", lambda w: _teaching(w).start_session("known")),
    Command(TEACH, "S&huffle sessions", None, lambda w, on: None, "teaching_shuffle_action", checkable=True),
    Command(TEACH, "Export quiz results (&CSV)…", None, lambda w: _teaching(w).export_results()),
    Separator(TEACH),
    Command(TEACH, "Export as &HTML handout…", None, lambda w: _teaching(w).export("html")),
    Command(TEACH, "Export as &PowerPoint…", None, lambda w: _teaching(w).export("pptx")),
    Command(TEACH, "Export as &zip archive…", None, lambda w: _teaching(w).export("zip")),
    Command(TEACH, "&Import an archive…", None, lambda w: _teaching(w).import_archive()),

    Command(HELP, "&Keyboard shortcuts", "F1", lambda w: w.dialogs.show_shortcuts()),
    Command(HELP, "&About cxrviewer", None, lambda w: w.dialogs.show_about()),
)

# The toolbar, by action name; "|" a separator, "presets" the window/level box.
TOOLBAR = ("open_folder", "|", "tool_pan", "tool_measure", "tool_ctr", "|", "presets", "invert_action", "|",
           "magnifier_action", "anonymise_action")
