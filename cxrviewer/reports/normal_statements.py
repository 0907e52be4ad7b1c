"""Statements that call the study normal, in the many ways impressions word them.

The most common impressions are variations no fixed phrase list keeps up with: "No acute
radiographic cardiopulmonary process", "No evidence of active disease", "Negative for acute
abnormality", "No acute intrathoracic abnormality", "Normal exam", "Unremarkable examination of
the chest", "Negative.". Two small patterns over one sentence's tokens cover them:

- a denial cue, qualifiers ("acute", "radiographic", "cardiopulmonary", "evidence of", ...)
  and a generic abnormality ("disease", "process", "abnormality", "findings"); a phrase that
  ends right after "acute"/"active" counts too ("No acute thoracic XXXX.": XXXX is dropped);
- a phrase (between commas, scope terminators and the sentence's ends) made only of a normal word ("normal",
  "unremarkable", "negative", "clear"), words for the examination itself and fillers.

Found statements are evidence for No Finding (``LabelResult.normal_spans``) and nothing else:
they change no finding's status, so what a report affirms beside them still counts.
"""

from __future__ import annotations

from cxrviewer.reports import rules as R
from cxrviewer.reports import vocabulary as V


def _norm(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(R.normalise(w) for w in words)


_QUALIFIERS = _norm(V.NORMAL_QUALIFIERS)
_GENERIC = _norm(V.GENERIC_ABNORMAL)
_AFTER_ACUTE = _norm(V.GENERIC_AFTER_ACUTE)
_ACUTE = _norm(V.ACUTE_WORDS)
_STUDY = _norm(V.STUDY_WORDS)
_NORMAL_WORDS = _norm(V.STUDY_NORMAL_WORDS)
_STUDY_PHRASE = _STUDY | _NORMAL_WORDS | _norm(V.STUDY_FILLERS)
_CONNECTORS = _norm(V.GENERIC_CONNECTORS)


def normal_statements(tokens: list[R.Token], items: list[R.Item]) -> list[tuple[int, int]]:
    """Token ranges ``[i, j)`` of the statements in one sentence that call the study normal."""
    words = [t.norm for t in tokens]
    found = [(it.i, end) for it in items
             if it.kind == R.NEG and "pre" in it.dirs and (end := _denied_generic(words, it.j)) is not None]
    normal_at = [k for k, w in enumerate(words) if w in _NORMAL_WORDS]
    if normal_at:
        cuts = {k for k, w in enumerate(words) if w == R.COMMA}
        cuts.update(k for it in items if it.kind == R.TERM for k in range(it.i, it.j))
        found += [r for k in normal_at if (r := _study_phrase(words, cuts, k)) is not None]
    return sorted(set(found))


def mentions_study(tokens: list[R.Token]) -> bool:
    """Whether the sentence names the examination itself ("stable appearance of the chest")."""
    return any(t.norm in _STUDY for t in tokens)


def _denied_generic(words: list[str], k: int) -> int | None:
    """The end of "<qualifiers> <generic abnormality>" starting at token ``k``, if there. A
    complement must be generic too: "no findings to suggest active disease" is a normal
    statement, "no findings of pleural effusion" is not (the labeler denies the effusion)."""
    acute = False
    n = len(words)
    while k < n and (words[k] in _QUALIFIERS or words[k] == R.COMMA):  # "cardiac, pulmonary or pleural"
        acute = acute or words[k] in _ACUTE
        k += 1
    if k < n and (words[k] in _GENERIC or (acute and words[k] in _AFTER_ACUTE)):
        k += 1
        if k < n and words[k] in _CONNECTORS:
            while k < n and words[k] in _CONNECTORS:
                k += 1
            return _denied_generic(words, k)
        return k
    if acute and k == n:  # "No acute thoracic XXXX." (the noun was de-identified)
        return k
    return None


def _study_phrase(words: list[str], cuts: set[int], k: int) -> tuple[int, int] | None:
    """The phrase around the normal word at ``k`` when it is made only of study words and
    fillers from one cut (comma, terminator, sentence edge) to the next, and it names the
    study, is the whole sentence ("Negative.") or follows "otherwise" ("otherwise clear"): a
    bare "normal" after another terminator is a predicate of something else ("heart size is
    now normal")."""
    i, j = k, k + 1
    while i > 0 and i - 1 not in cuts and words[i - 1] in _STUDY_PHRASE:
        i -= 1
    while j < len(words) and j not in cuts and words[j] in _STUDY_PHRASE:
        j += 1
    if not ((i == 0 or i - 1 in cuts) and (j == len(words) or j in cuts)):
        return None
    before = [w for w in words[:i] if w != R.COMMA]
    if (i, j) == (0, len(words)) or (before and before[-1] == "otherwise") \
            or any(w in _STUDY for w in words[i:j]):
        return i, j
    return None
