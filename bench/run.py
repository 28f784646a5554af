"""Run the benchmark suites and write bench/results.md and bench/results.json.

    python -m bench.run [--quick] [--out DIR]
        [--only intake,pixel,wire,subscribers,memory,restart,channels,positions,lapor,reports,
                custody,exports,replay,sweep,national_day]

Each suite is a module `bench.<name>` with `run(quick: bool) -> list[Figure]`. The pixel
suite (bench/pixel.py) also produces the "wire" figures. A missing module is skipped with a
note; a suite that fails is reported as failed and the others still run.
"""

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.figures import Figure
from bench.report import load_average, machine, now_iso, ratio, write

# Module per suite, in the order they run (pixel measures "wire" too).
SUITES = {
    "intake": "bench.intake",
    "subscribers": "bench.subscribers",
    "pixel": "bench.pixel",
    "memory": "bench.memory",
    "restart": "bench.restart",
    "channels": "bench.channels",
    "positions": "bench.positions",
    "lapor": "bench.lapor",
    "reports": "bench.reports",
    "custody": "bench.custody",
    "exports": "bench.exports",
    "replay": "bench.replay",
    "sweep": "bench.sweep",
    "national_day": "bench.national_day",
}
ALIASES = {"wire": "pixel"}
# Suites too long for --quick (the national day builds a 435k-TPS registry and plays minutes of
# an election day): run in a full `make bench`, or with --quick only when named in --only.
FULL_ONLY = {"national_day": "needs the national registry and ~15 minutes; not in --quick"}
OUT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Run the selected suites; exit 1 if any failed to produce figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, < 3 minutes")
    ap.add_argument("--only", default="", help="comma-separated suites (default: all)")
    ap.add_argument("--out", type=Path, default=OUT, help="where results.md/json go")
    ap.add_argument(
        "--keep-others",
        action="store_true",
        help="with --only: keep the other suites' figures from the existing results.json",
    )
    args = ap.parse_args(argv)
    wanted = [ALIASES.get(s.strip(), s.strip()) for s in args.only.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SUITES]
    if unknown:
        ap.error(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(SUITES)}")
    selected = [s for s in SUITES if not wanted or s in wanted]
    command = "python -m bench.run" + (" --quick" if args.quick else "")
    if args.only:
        command += f" --only {args.only}"
    if args.keep_others:
        command += " --keep-others"
    facts = {
        "started": now_iso(),
        "quick": args.quick,
        "machine": machine(),
        "load_before": load_average(),
    }
    t0 = time.monotonic()
    figures: list[Figure] = []
    skipped: dict[str, str] = {}
    # Suites that measured only some of their figures: which of their last ones to keep.
    keepers: dict[str, Callable[[str], bool]] = {}
    failed = False
    for suite in selected:
        if args.quick and suite in FULL_ONLY and suite not in wanted:
            skipped[suite] = FULL_ONLY[suite]
            print(f"[bench] {suite}: skipped ({skipped[suite]})", flush=True)
            continue
        try:
            module = importlib.import_module(SUITES[suite])
        except ModuleNotFoundError as exc:
            if exc.name != SUITES[suite]:
                raise
            skipped[suite] = f"{SUITES[suite]} is not in this checkout"
            print(f"[bench] {suite}: skipped ({skipped[suite]})", flush=True)
            continue
        print(f"[bench] {suite}: running ({now_iso()} UTC)", flush=True)
        s0 = time.monotonic()
        load0 = load_average()
        try:
            got = module.run(quick=args.quick)
        except Exception:
            failed = True
            skipped[suite] = "FAILED: " + traceback.format_exc().strip().splitlines()[-1]
            traceback.print_exc()
            continue
        # The machine is shared: each figure says the load it was measured under (a re-run of
        # one suite keeps the others' figures, measured under another load).
        load = f"load average {load0[0]:.1f} → {load_average()[0]:.1f} during the suite"
        for f in got:
            f.note = f"{f.note}; {load}" if f.note else load
        figures += got
        if hasattr(module, "keeps"):
            keepers[suite] = module.keeps
        print(f"[bench] {suite}: {len(got)} figures in {time.monotonic() - s0:.0f} s", flush=True)
        for f in got:
            r = ratio(f)
            shown = f" ({r:.2f} x baseline)" if r is not None else ""
            print(f"    {f.name}: {f.value:,.1f} {f.unit}{shown}", flush=True)
    if args.keep_others and (args.out / "results.json").exists():
        old = json.loads((args.out / "results.json").read_text())
        rerun = {*selected, *(["wire"] if "pixel" in selected else [])}
        # A partial re-run (bench/intake.py's POSKO_BENCH_INTAKE) keeps its suite's other figures.
        kept = [
            f
            for f in old["figures"]
            if f["suite"] not in rerun or (f["suite"] in keepers and keepers[f["suite"]](f["name"]))
        ]
        fields = set(Figure.__dataclass_fields__)
        figures = [Figure(**{k: v for k, v in f.items() if k in fields}) for f in kept] + figures
        earlier = f"{old['rerun']}; " if old.get("rerun") else ""
        facts["rerun"] = f"{earlier}{', '.join(selected)} re-run at {now_iso()}"
        facts["started"] = old["started"]
        skipped = {k: v for k, v in old.get("skipped", {}).items() if k not in selected} | skipped
    facts["finished"] = now_iso()
    facts["seconds"] = time.monotonic() - t0
    facts["load_after"] = load_average()
    js, md = write(args.out, figures, facts, command, skipped)
    print(f"[bench] wrote {md} and {js}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
