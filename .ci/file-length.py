"""Fails when a Rust source file grows past a length one can hold in mind.

A file that long usually holds more than one idea; split it by meaning (a
folder with one file per idea) rather than by line number. Build output
(`target/`) and hidden directories are skipped.

usage: file-length.py [--max LINES] DIR...
"""

import argparse
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="searched for *.rs files")
    parser.add_argument("--max", type=int, default=600, metavar="LINES", help="the most lines a file may have (600)")
    args = parser.parse_args()

    offenders = []
    for directory in args.dirs:
        if not directory.is_dir():
            parser.error(f"{directory} is not a directory")
        for file in sorted(directory.rglob("*.rs")):
            if any(part == "target" or part.startswith(".") for part in file.relative_to(directory).parts):
                continue
            with file.open("rb") as f:
                lines = sum(1 for _ in f)
            if lines > args.max:
                offenders.append((lines, file))
    for lines, file in sorted(offenders, reverse=True):
        print(f"{file}: {lines} lines (at most {args.max})")
    if offenders:
        return 1
    print(f"no *.rs file over {args.max} lines in {', '.join(map(str, args.dirs))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
