"""`python -m pipeline explore OUT [--port 8765] [--host 127.0.0.1]`: serve the explorer."""

from __future__ import annotations

import argparse
import sys

LOCAL = ("127.0.0.1", "localhost", "::1")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline explore",
        description="A local, read-only web explorer of a run's output folder.",
    )
    parser.add_argument("out", help="the run's output folder (local, gs://, s3://)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="bind address (default %(default)s: this machine only; anything else exposes "
        "the run's records to the network, unauthenticated)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import uvicorn

    from explorer.app import create_app

    try:
        app = create_app(args.out)
    except FileNotFoundError as exc:
        print(f"explore: {exc}", file=sys.stderr)
        return 2
    if args.host not in LOCAL:
        print(f"warning: serving on {args.host}, reachable from the network", file=sys.stderr)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"explorer of {args.out}: http://{host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
