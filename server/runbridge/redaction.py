"""Masking secrets in text that leaves the daemon: errors, log lines, notifications.

One rule everywhere (Jupyter tokens, Backend.AI keys, the log filter): every run of
:data:`RUN` (6) or more characters of a secret that appears in a text becomes
``***``, so a secret that a server echoed and someone cut, at its start or its end,
is still hidden. A secret shorter than :data:`RUN` is masked only whole, and one
shorter than :data:`MIN_SECRET` not at all (masking every ``a`` would garble every
message, and such a value protects nothing).

Server text is quoted with :func:`quote`: masked first, then cut. A cut of masked
text cannot bring a run back, so text quoted once may be cut again later.

:func:`remember` records the secrets of the profiles in use, so that the log
filter (:mod:`runbridge.logs`) masks them as well as the secret-looking
environment variables.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: The shortest run of a secret's characters that is masked inside longer text.
RUN = 6
#: Secrets shorter than this are never masked.
MIN_SECRET = 4
MASK = "***"

_remembered: set[str] = set()
_lock = threading.Lock()


def _needles(secrets: Iterable[str]) -> set[str]:
    """What to look for: every RUN-character window of each secret (short ones whole)."""
    needles: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET:
            continue
        if len(secret) < RUN:
            needles.add(secret)
        else:
            needles.update(secret[i : i + RUN] for i in range(len(secret) - RUN + 1))
    return needles


def _spans(text: str, needles: set[str]) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` spans of ``text`` covered by an occurrence of a needle.

    A maximal run of a secret of length n >= RUN is exactly the union of the n - RUN + 1
    windows it contains, so the union of all window occurrences is the union of all runs:
    no extension step is needed, and each search is one ``str.find`` (C speed).
    """
    hits: list[tuple[int, int]] = []
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            hits.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    if not hits:
        return hits
    hits.sort()
    merged = [hits[0]]
    for start, end in hits[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every run of >= 6 characters of a secret (a short secret: whole) as ``***``.

    Masking repeats until nothing is found: a secret holding ``***`` could otherwise be
    joined again by a mask. Every pass shortens the text, so this ends; on ordinary text
    it is one pass (two when something was masked).
    """
    needles = _needles(secrets)
    if not needles or not text:
        return text
    while True:
        spans = _spans(text, needles)
        if not spans:
            return text
        parts: list[str] = []
        done = 0
        for start, end in spans:
            parts.append(text[done:start])
            parts.append(MASK)
            done = end
        parts.append(text[done:])
        text = "".join(parts)


def quote(text: str, secrets: Iterable[str], limit: int) -> str:
    """At most ``limit`` characters of ``text``, masked before they are cut.

    Only a bounded prefix is searched (a long body costs no more than a short one);
    whatever it is cut to, the result holds no run of a secret.
    """
    secrets = list(secrets)
    longest = max((len(s) for s in secrets), default=0)
    return mask(text[: 2 * limit + longest], secrets)[:limit]


def remember(*secrets: str) -> None:
    """Record secrets in use (a profile's token or keys) for the log filter."""
    with _lock:
        _remembered.update(s for s in secrets if len(s) >= MIN_SECRET)


def remembered() -> list[str]:
    with _lock:
        return list(_remembered)
