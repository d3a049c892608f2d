"""Draw panel boxes and labels over sample figures, as one PNG to check by eye.

python -m pipeline.contact_sheet OUT/panels OUT/contact_sheet.png [--figures OUT/figures]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from transforms.segment.contact_sheet import sheet_from_folders


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.contact_sheet", description=__doc__)
    parser.add_argument("panels", type=Path, help="a panels folder written by the segment stage")
    parser.add_argument("output", type=Path, help="the PNG to write")
    parser.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="the figures folder with the parents' images (default: beside the panels folder)",
    )
    parser.add_argument("--samples", type=int, default=12, help="figures to draw (default 12)")
    args = parser.parse_args(argv)
    figures = args.figures or args.panels.parent / "figures"
    sheet = sheet_from_folders(args.panels, figures, args.samples)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output)
    print(f"contact sheet: {args.output} ({sheet.width}x{sheet.height})")


if __name__ == "__main__":
    main()
