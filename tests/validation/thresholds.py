#!/usr/bin/python3
"""The validation gate (configs/validation/README.md): runs `rdasim validate` on the shipped
measured rows and fails when any system's median |error| exceeds 25% or fewer than 85% of the
pairs of systems measured on the same shape agree with rdasim on which is faster. Prints the
per-system table either way. The SN40L paper's checks are not gated (the figure of one shape
against a range over the paper's models), so they are left out here (a minute of SystemC). Run by CTest (validation.thresholds) from the repository root:

    /usr/bin/python3 tests/validation/thresholds.py BUILD/tools/rdasim
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

MEDIAN_LIMIT = 0.25
AGREEMENT_FLOOR = 0.85


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: thresholds.py RDASIM")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "validation"
        run = subprocess.run([sys.argv[1], "validate", "--jobs", "2", "--no-checks", "--no-plots", "--out", str(out)],
                             capture_output=True, text=True)
        print(run.stdout, end="")
        if run.returncode != 0:
            print(run.stderr, end="", file=sys.stderr)
            sys.exit(f"rdasim validate exited {run.returncode}")
        doc = json.loads((out / "validation.json").read_text())
    failures = []
    for s in doc["systems"]:
        if s["rows"] > 0 and s["median_abs_error"] > MEDIAN_LIMIT:
            failures.append(f"{s['system']}: median |error| {100 * s['median_abs_error']:.1f}% over "
                            f"{s['rows']} rows exceeds {100 * MEDIAN_LIMIT:.0f}%")
    agreement = doc["verdicts"]["agreement"]
    if agreement < AGREEMENT_FLOOR:
        failures.append(f"verdict agreement {100 * agreement:.1f}% of {doc['verdicts']['pairs']} pairs is under "
                        f"{100 * AGREEMENT_FLOOR:.0f}%")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"every system's median |error| is within {100 * MEDIAN_LIMIT:.0f}%; verdicts agree on "
          f"{100 * agreement:.1f}% of {doc['verdicts']['pairs']} pairs")


if __name__ == "__main__":
    main()
