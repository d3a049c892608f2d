"""`python -m demo --output DIR [--seed N]`: write the demo corpus."""

from __future__ import annotations

import argparse
import sys

from demo.corpus import N_ARTICLES
from demo.writer import MANIFEST, generate


def summary(manifest: dict, output: str) -> str:
    articles = manifest["articles"]
    figures = [f for a in articles for f in a["figures"]]
    panels = sum(len(f["panels"]) for f in figures)
    packages = sum(a["layout"] == "targz" for a in articles)
    return (
        f"demo corpus: {len(articles)} articles ({len(articles) - packages} folders, "
        f"{packages} .tar.gz), {len(figures)} figures, {panels} panels -> {output} "
        f"(seed {manifest['seed']}; {MANIFEST} lists what was written)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--output", required=True, help="corpus folder (replaced whole)")
    parser.add_argument("--seed", type=int, default=0, help="content seed (default 0)")
    parser.add_argument("--articles", type=int, default=N_ARTICLES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    manifest = generate(args.output, args.seed, args.articles)
    print(summary(manifest, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
