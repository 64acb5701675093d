#!/usr/bin/python3
"""Executes tools/notebooks/*.ipynb with nbclient in Debian's python3 kernel: an error in any cell
fails the test. Run by CTest (python.notebooks) as: notebooks_test.py MODULE_DIR."""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]


def main():
    os.environ["RDASIM_PYTHONPATH"] = str(Path(sys.argv[1]).resolve())  # the kernel inherits it
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    failed = []
    for path in sorted((ROOT / "tools" / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
            print(f"{path.name}: {len(nb.cells)} cells ran")
        except CellExecutionError as e:
            failed.append(path.name)
            print(f"{path.name}: a cell failed\n{e}", file=sys.stderr)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
