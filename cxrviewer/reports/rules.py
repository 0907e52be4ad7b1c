"""The labeler's machinery: tokens, sentences, phrase matching and cue scopes.

Kept apart from the vocabulary (data) and from the result types (API), so a rule change is
made in one small module. Everything is one pass over tokens with dictionary look-ups: the only
regex is a token pattern without nested quantifiers, so time is linear in the text length
whatever the input (no backtracking blow-up on 100k repeated characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cxrviewer.reports import vocabulary as V

Span = tuple[int, int]

# Words, numbers (with a decimal part, so "2.5 cm" is not a sentence end), blank lines and
# punctuation that ends or splits a sentence. Everything else (hyphens, slashes, non-ASCII) is
# a separator.
_TOKEN_RE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?|\n[ \t\r]*\n|[.;:!?,()\[\]]")
_SENTENCE_END = frozenset({".", ";", ":", "!", "?"})
_COMMA_LIKE = frozenset({",", "(", ")", "[", "]"})
DEID = "xxxx"

# Item kinds.
MENTION, ANATOMY, P_ENLARGED, P_NORMAL, P_BORDER, SIGN = "M", "A", "PE", "PN", "PB", "S"
NEG, UNC, TERM, VERB, OTHER, BLOCK, NORMAL, COMMA = "NEG", "UNC", "T", "V", "O", "X", "N", ","

PROBABLE, POSSIBLE = "probable", "possible"
PRE_REACH = 16  # tokens a pre cue reaches forward
POST_REACH = 8  # tokens a post cue reaches back


@dataclass(frozen=True)
class Token:
    """One word (lower-cased, plural folded) with its place in the original text."""

    norm: str
    start: int
    end: int


@dataclass
class Item:
    """A matched phrase in a sentence: tokens ``i``..``j`` (exclusive)."""

    kind: str
    i: int
    j: int
    payload: tuple[str, ...] = ()
    dirs: frozenset[str] = field(default_factory=frozenset)
    used: bool = False


def _build_table() -> dict[str, list[tuple[tuple[str, ...], str, tuple[str, ...], frozenset[str]]]]:
    """First word -> candidate phrases, longest first. Earlier tables win identical phrases,
    except cues, whose directions merge ("not" reaches both ways)."""
    entries: dict[tuple[str, ...], list] = {}

    def put(phrase: str, kind: str, payload: tuple[str, ...] = (), dirs: frozenset[str] = frozenset()) -> None:
        key = tuple(normalise(w) for w in phrase.split())
        old = entries.get(key)
        if old is None:
            entries[key] = [kind, payload, dirs]
        elif old[0] == kind and kind in (NEG, UNC):
            old[2] = old[2] | dirs

    for p in V.NOT_MENTIONS:
        put(p, BLOCK)
    for p in V.PRED_BORDERLINE:  # "borderline heart size", and a hedge: "borderline cardiomegaly"
        put(p, P_BORDER, (PROBABLE,), dirs=frozenset({"pre"}))
    for p in V.NORMAL_PHRASES:  # "no acute disease or effusion" still denies what follows
        put(p, NORMAL, dirs=frozenset({"pre"}) if p.split()[0] in ("no", "without", "negative") else frozenset())
    for p in V.UNC_PRE:
        put(p, UNC, _certainty(p), dirs=frozenset({"pre"}))
    for p in V.UNC_POST:
        put(p, UNC, _certainty(p), dirs=frozenset({"post"}))
    for p in V.NEG_PRE:
        put(p, NEG, dirs=frozenset({"pre"}))
    for p in V.NEG_POST:
        put(p, NEG, dirs=frozenset({"post"}))
    for p, labels in V.MENTIONS.items():
        put(p, MENTION, labels)
    for p, labels in V.SUGGESTS.items():
        put(p, SIGN, labels)
    for p, labels in V.ANATOMY.items():
        put(p, ANATOMY, labels)
    for p in V.PRED_ENLARGED:
        put(p, P_ENLARGED)
    for p in V.PRED_NORMAL:
        put(p, P_NORMAL)
    for p in V.TERMINATORS:
        put(p, TERM)
    for p in V.VERBS:
        put(p, VERB)
    for p in V.OTHER_ABNORMAL:
        put(p, OTHER)
    table: dict[str, list] = {}
    for key, (kind, payload, dirs) in entries.items():
        table.setdefault(key[0], []).append((key, kind, payload, dirs))
    for candidates in table.values():
        candidates.sort(key=lambda c: -len(c[0]))
    return table


def _certainty(phrase: str) -> tuple[str, ...]:
    return (PROBABLE,) if phrase in V.UNC_PROBABLE else (POSSIBLE,)


def _vocabulary_words() -> frozenset[str]:
    phrases = [*V.NOT_MENTIONS, *V.NORMAL_PHRASES, *V.UNC_PRE, *V.UNC_POST, *V.NEG_PRE,
               *V.NEG_POST, *V.PRED_BORDERLINE, *V.MENTIONS, *V.ANATOMY, *V.PRED_ENLARGED,
               *V.PRED_NORMAL, *V.TERMINATORS, *V.VERBS, *V.OTHER_ABNORMAL, *V.SUGGESTS,
               *V.STUDY_WORDS, *V.STUDY_NORMAL_WORDS, *V.STUDY_FILLERS, *V.GENERIC_ABNORMAL,
               *V.GENERIC_AFTER_ACUTE, *V.GENERIC_CONNECTORS, *V.NORMAL_QUALIFIERS]
    return frozenset(w for p in phrases for w in p.split())


_WORDS = _vocabulary_words()


def normalise(word: str) -> str:
    """Lower-case and fold a plural onto a vocabulary word ("opacities" -> "opacity").

    Phrases in the vocabulary are folded the same way, so "lungs are clear" still matches.
    """
    w = word.lower()
    if len(w) < 4 or w[-1] != "s":
        return w
    if w.endswith("ies") and w[:-3] + "y" in _WORDS:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2] in _WORDS:
        return w[:-2]
    if w.endswith("s") and w[:-1] in _WORDS:
        return w[:-1]
    return w


_TABLE = _build_table()
_NEW_PHRASE = frozenset(normalise(w) for w in V.NEW_PHRASE_AFTER_COMMA)


def sentences(text: str, start: int, end: int) -> list[list[Token]]:
    """Sentences of ``text[start:end]`` as token lists; commas stay as ``","`` tokens.

    Single newlines are spaces (reports wrap lines mid-sentence); blank lines end sentences.
    De-identification tokens are dropped so "no XXXX of effusion" reads "no of effusion".
    """
    out: list[list[Token]] = []
    current: list[Token] = []
    for m in _TOKEN_RE.finditer(text, start, end):
        s = m.group()
        c = s[0]
        if c.isalpha():
            norm = normalise(s)
            if norm != DEID:
                current.append(Token(norm, m.start(), m.end()))
        elif c in _SENTENCE_END or c == "\n":
            if current:
                out.append(current)
                current = []
        elif c in _COMMA_LIKE:
            current.append(Token(COMMA, m.start(), m.end()))
        # numbers are skipped
    if current:
        out.append(current)
    return out


def match_items(tokens: list[Token]) -> list[Item]:
    """Greedy longest-match of vocabulary phrases over one sentence, left to right."""
    items: list[Item] = []
    words = [t.norm for t in tokens]
    n = len(words)
    k = 0
    while k < n:
        w = words[k]
        if w == COMMA:
            nxt = words[k + 1] if k + 1 < n else ""
            items.append(Item(TERM if nxt in _NEW_PHRASE else COMMA, k, k + 1))
            k += 1
            continue
        candidates = _TABLE.get(w)
        if candidates:
            second = words[k + 1] if k + 1 < n else ""
            for key, kind, payload, dirs in candidates:
                size = len(key)
                if size == 1 or (key[1] == second and (size == 2 or tuple(words[k:k + size]) == key)):
                    items.append(Item(kind, k, k + size, payload, dirs))
                    k += size
                    break
            else:
                k += 1
        else:
            k += 1
    return items


def pre_cue(items: list[Item], p: int, floor: int = -1) -> Item | None:
    """The nearest cue before item ``p`` whose forward scope reaches it, if any; a hedge
    inside a denied phrase yields to the denial ("no findings to suggest pneumonia")."""
    start = items[p].i
    hedged: Item | None = None
    for q in range(p - 1, floor, -1):
        it = items[q]
        if start - it.j > PRE_REACH or it.kind in (TERM, VERB):
            break
        if it.kind in (NEG, UNC, NORMAL, P_BORDER) and "pre" in it.dirs:
            if it.kind in (UNC, P_BORDER):
                hedged = hedged or it
                continue
            return it
    return hedged


def post_cue(items: list[Item], p: int) -> Item | None:
    """The first cue after item ``p`` whose backward scope reaches it, if any."""
    end = items[p].j
    for q in range(p + 1, len(items)):
        it = items[q]
        if it.i - end > POST_REACH or it.kind in (TERM, ANATOMY):
            return None
        if it.kind in (NEG, UNC):
            if "post" in it.dirs:
                return it
            return None
    return None


def status_at(items: list[Item], p: int, floor: int = -1) -> str:
    """Positive, negative or uncertain for the phrase at item ``p`` from the cues around it."""
    return status_and_cue(items, p, floor)[0]


def status_and_cue(items: list[Item], p: int, floor: int = -1) -> tuple[str, Item | None]:
    """The status and the cue item that decided it (None when affirmed)."""
    pre_item = pre_cue(items, p, floor)
    post_item = post_cue(items, p)
    for it in (pre_item, post_item):
        if it is not None and it.kind in (UNC, P_BORDER):
            return "uncertain", it
    for it in (pre_item, post_item):
        if it is not None and it.kind in (NEG, NORMAL):
            return "negative", it
    return "positive", None


_SEVERITY_STOP = frozenset({COMMA, "no", "without", "with", "and", "or", "not", "nor"})


def severity_near(tokens: list[Token], i: int) -> str | None:
    """A severity word among the three tokens before a mention ("small left effusion"), not
    reaching past a conjunction or cue ("mild cardiomegaly without edema")."""
    for k in range(i - 1, max(-1, i - 4), -1):
        sev = V.SEVERITY.get(tokens[k].norm)
        if sev:
            return sev
        if tokens[k].norm in _SEVERITY_STOP:
            break
    return None


def laterality_near(tokens: list[Token], i: int, j: int) -> str | None:
    """Left, right or bilateral from the words around a mention ("left base effusion",
    "effusions bilaterally"); "left and right" is bilateral."""
    found: set[str] = set()
    for k in range(max(0, i - 4), min(len(tokens), j + 3)):
        if tokens[k].norm == COMMA and k < i:
            found.clear()
            continue
        if tokens[k].norm == COMMA:
            break
        side = V.LATERALITY.get(tokens[k].norm)
        if side:
            found.add(side)
    if not found:
        return None
    if "bilateral" in found or ("left" in found and "right" in found):
        return "bilateral"
    return found.pop()
