"""Summarise `py-spy record -f raw` output: where a server's samples end, by function.

    python -m bench.spy FILE [N]

Prints the N (default 15) functions with the most samples at the top of the stack (own time),
and the N functions of this repository (backend/, dashboard/) with the most samples anywhere
on the stack (inclusive time): how the README names where intake's time goes.
"""

import sys
from collections import Counter


def summarise(path: str, n: int = 15) -> str:
    """The two tables as text."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in open(path, encoding="utf-8"):  # noqa: SIM115
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack or not count.isdigit():
            continue
        k = int(count)
        total += k
        frames = stack.split(";")
        own[frames[-1]] += k
        for f in set(frames):
            if "backend/" in f or "dashboard/" in f:
                incl[f] += k
    out = [f"{total} samples", "own time:"]
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(n)]
    out.append("inclusive, this repository:")
    out += [f"  {100 * c / total:5.1f}%  {f}" for f, c in incl.most_common(n)]
    return "\n".join(out)


if __name__ == "__main__":
    print(summarise(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 15))
