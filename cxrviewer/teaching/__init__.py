"""Teaching files: collections of annotated cases, teaching sessions, self-scored quizzes, exports.

Qt-free core; the window builds on it. Modules:

- ``model``: the dataclasses (Collection, Case, Film, Presentation, Annotation, TeachingFields).
- ``schema``/``rows``/``store``: the SQLite store (WAL, synchronous FULL, one transaction per
  edit, soft deletes with undo, change callbacks).
- ``films``: adding library cases, search results and study-folder films (copied, anonymised
  on request); finding a case's film again.
- ``search``: search within collections by text, finding and tag.
- ``session``: the case navigator's state and the one rule of what is visible.
- ``quiz``/``differential``/``quiz_cli``: scoring typed answers, the differential strip.
- ``render``: key images with presentation and burned-in annotations (Pillow).
- ``deidentify``: what leaves the workstation carries no identity.
- ``export_common``/``export_html``/``export_pptx``/``archive``/``gsps``/``exports``: exports.
- ``cli``: ``cxrviewer collection ...`` and ``cxrviewer quiz ...``.
"""
