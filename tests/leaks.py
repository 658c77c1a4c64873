"""Finding what is left of a secret in text: any run of 6 or more of its characters."""

from __future__ import annotations

from collections.abc import Iterable

#: The shortest run of a secret's characters that counts as a leak.
RUN = 6


def windows(secret: str) -> set[str]:
    """Every 6-character run of ``secret`` (the secret itself when it is shorter)."""
    if len(secret) < RUN:
        return {secret}
    return {secret[i : i + RUN] for i in range(len(secret) - RUN + 1)}


def leaked(text: str, secrets: Iterable[str]) -> list[str]:
    """The runs of ``secrets`` found in ``text`` (empty: nothing leaked)."""
    return sorted(w for s in secrets for w in windows(s) if w in text)
