"""Benchmark of the taakstelling letters on the real 2024 municipalities (prints figures;
not a test).

    python benchmarks/bench_letters.py --data ../shared/data [--national 21200]
        [--period 2025-I] [--out out/bench-letters]

Makes the 342 municipal letters and the 12 province overviews (the law), and the
Spreidingswet variant, and prints the seconds, the most pages and the largest letter.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import pypdf

from asielplan.api import generate, letters, write_letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--national", type=int, default=21_200)
    parser.add_argument("--period", default="2025-I")  # the CBS 2024 data is its peildatum
    parser.add_argument("--out", type=Path, default=Path("out/bench-letters"))
    args = parser.parse_args()
    inst = generate(
        seed=7,
        households=10,
        cbs_csv=args.data / "nl_gemeenten_2024.csv",
        cbs_geometry=args.data / "nl_gemeenten_2024.geojson",
        indicators=args.data / "nl_gemeenten_2022_kwb_indicators_tmap.csv",
    ).instance
    for scheme, national in (("population", args.national), ("spreidingswet", None)):
        t0 = time.perf_counter()
        made = letters(args.period, inst, national=national, scheme=scheme)
        made_s = time.perf_counter() - t0
        out = args.out / scheme
        t1 = time.perf_counter()
        write_letters(made, inst, out)
        write_s = time.perf_counter() - t1
        sizes = [len(pdf) for pdf in made.municipalities.values()]
        pages = [
            len(pypdf.PdfReader(io.BytesIO(pdf)).pages) for pdf in made.municipalities.values()
        ]
        print(
            f"{scheme}: {len(made.municipalities)} letters and {len(made.provinces)} overviews "
            f"in {made_s:.1f} s (+ {write_s:.1f} s writing); at most {max(pages)} pages, "
            f"largest {max(sizes) / 1024:.0f} kB; written to {out}"
        )


if __name__ == "__main__":
    main()
