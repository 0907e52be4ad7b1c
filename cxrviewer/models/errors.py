"""The one exception the models package raises for anything a user can fix."""

from __future__ import annotations


class ModelError(Exception):
    """A model folder that is missing, incomplete, corrupt or of an unknown format.

    The message names the folder and the file at fault, so the CLI and the GUI can show it as is
    (never a traceback): the user's fix is to download, re-import or replace that file.
    """
