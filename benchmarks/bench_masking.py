"""Cost of masking secrets (runbridge.redaction.mask) on long texts.

Masks a 100 KB text against a 64-character secret in the cases that matter: plain
text with no hit, text echoing the secret a few times, text made only of the secret,
and the degenerate ``aaa…`` secret against ``aaa…`` text (one window matching at
every position). Prints the median time per call; a naive search for every
substring of length >= 6 (~1,900 of them for 64 characters) is shown for scale.
Exits 1 when a case exceeds its goal.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import time
from collections.abc import Callable

from runbridge.redaction import RUN, mask

SIZE = 100_000
#: Milliseconds per call a case may take (the worst case is the all-"a" text).
GOAL_MS = 100.0


def naive(text: str, secret: str) -> str:
    """Every substring of length >= RUN, longest first (what the rule says, done slowly)."""
    for length in range(len(secret), RUN - 1, -1):
        for start in range(len(secret) - length + 1):
            text = text.replace(secret[start : start + length], "***")
    return text


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(12)
    secret = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    noise = "".join(rng.choice(string.ascii_letters + string.digits + " ") for _ in range(SIZE))
    cases = {
        "100 KB, no hit": (noise, secret),
        "100 KB, 10 echoes": ((noise[: SIZE // 10] + secret) * 10, secret),
        "100 KB of the secret": (secret * (SIZE // len(secret)), secret),
        "100 KB of 'a', secret 'a'*64": ("a" * SIZE, "a" * 64),
    }
    failed = False
    print(f"{'case':32} {'mask ms':>9} {'naive ms':>9}")
    for name, (text, key) in cases.items():
        fast = median_ms(lambda t=text, k=key: mask(t, [k]), args.repeat)
        slow = median_ms(lambda t=text, k=key: naive(t, k), 1)
        ok = fast <= GOAL_MS
        failed |= not ok
        print(f"{name:32} {fast:9.2f} {slow:9.1f}  {'PASS' if ok else 'MISS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
