"""The ``finescale`` command line: thin argument parsing that hands off to the library.

Every user-facing failure is a :class:`data.errors.FinescaleError`, printed as one line
(``finescale: error: …``) with exit status 2; Ctrl-C exits with 130 and leaves no partial
output behind (writers work in temporary directories).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from finescale.app.heap import keep_freed_memory
from finescale.data.errors import FinescaleError
from finescale.data.layout import default_data_dir
from finescale.data.transforms import TRANSFORMS

Handler = Callable[[argparse.Namespace], int | None]


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bbox must be 4 numbers, got {text!r}") from None
    if len(vals) != 4:
        raise argparse.ArgumentTypeError(
            f"bbox must be LAT_MIN,LAT_MAX,LON_MIN,LON_MAX, got {text!r}")
    return vals  # type: ignore[return-value]


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help=f"dataset directory (default: $FINESCALE_DATA or {default_data_dir()})")


# --- data ----------------------------------------------------------------------------------

def cmd_prepare(a: argparse.Namespace) -> None:
    from finescale.data.generator import GeneratorConfig, prepare

    regions = tuple(a.regions.split(",")) if a.regions else ("area0", "area1")
    cfg = GeneratorConfig(seed=a.seed, small=a.small, regions=regions)
    out = a.out or default_data_dir()
    from finescale.data.generator import is_prepared

    if not a.overwrite and is_prepared(out, cfg):
        print(f"{out} is up to date (same generator version and settings)")
        return
    path = prepare(out, cfg, overwrite=a.overwrite)
    print(f"wrote {path}")


def cmd_info(a: argparse.Namespace) -> None:
    from finescale.data.info import describe

    print(describe(a.path or a.data or default_data_dir()))


def cmd_import(a: argparse.Namespace) -> None:
    from finescale.data.importer import import_pair
    from finescale.data.layout import open_dataset

    path = import_pair(a.coarse, a.fine, a.variable, a.out, region_name=a.region_name,
                       bbox=a.bbox, static=a.static, overwrite=a.overwrite,
                       transform=a.transform)
    m = open_dataset(path).manifest
    print(f"wrote {path}\ntransform: {m['transform']} ({m['transform_reason']})")


def cmd_similarity(a: argparse.Namespace) -> None:
    from finescale.data.layout import open_dataset
    from finescale.data.similarity import similarity_table

    ds = open_dataset(a.data)
    table = similarity_table(ds)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    out = a.out or ds.path / "similarity.csv"
    table.to_csv(out, index=False, float_format="%.6f")
    print(f"saved {out}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="finescale", description="Transfer-encoder diffusion "
                                "downscaling of coarse maps (any variable, any region).")
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="prepare, import and inspect datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)

    q = dsub.add_parser("prepare", help="generate the embedded default dataset")
    q.add_argument("--out", type=Path, default=None,
                   help=f"output directory (default: {default_data_dir()})")
    q.add_argument("--seed", type=int, default=2005, help="random seed (default 2005)")
    q.add_argument("--small", action="store_true",
                   help="64 × 64 sub-regions and 2004-06..2007-08 coarse days, for tests")
    q.add_argument("--regions", default=None, help="comma-separated (default area0,area1)")
    q.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    q.set_defaults(func=cmd_prepare)

    q = dsub.add_parser("info", help="summarise a dataset, or any NetCDF file or zarr store")
    q.add_argument("path", type=Path, nargs="?", default=None,
                   help="dataset directory, NetCDF file (or quoted glob) or zarr store")
    _data_arg(q)
    q.set_defaults(func=cmd_info)

    q = dsub.add_parser("import", help="build a dataset from a coarse/fine pair of stores")
    q.add_argument("--coarse", nargs="+", required=True, help="NetCDF file(s), globs or a zarr")
    q.add_argument("--fine", nargs="+", required=True, help="NetCDF file(s), globs or a zarr")
    q.add_argument("--variable", required=True, help="variable name, e.g. DUEXTTAU")
    q.add_argument("--out", type=Path, required=True, help="output dataset directory")
    q.add_argument("--region-name", default="region0")
    q.add_argument("--bbox", type=_bbox, default=None, help="LAT_MIN,LAT_MAX,LON_MIN,LON_MAX")
    q.add_argument("--static", type=Path, default=None,
                   help="NetCDF with 'elevation' (and 'land_mask', 'bare_fraction') covering "
                   "the fine grid (default: the shipped global layers)")
    q.add_argument("--transform", choices=TRANSFORMS, default=None,
                   help="value transform (default: log for positive right-skewed fields, "
                   "else standard)")
    q.add_argument("--overwrite", action="store_true")
    q.set_defaults(func=cmd_import)

    q = dsub.add_parser("similarity", help="Wasserstein domain-similarity table")
    _data_arg(q)
    q.add_argument("--out", type=Path, default=None,
                   help="CSV to write (default: DATA/similarity.csv)")
    q.set_defaults(func=cmd_similarity)

    for register in _extensions():
        register(sub)
    return p


def _extensions() -> list[Callable[[argparse._SubParsersAction], None]]:
    """Sub-commands of the later layers (model, app), registered if importable."""
    from finescale.app import commands

    return commands.REGISTER


class Stopped(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C's KeyboardInterrupt, so the
    same ``except BaseException`` clean-ups run: temporary files removed, workers stopped."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame) -> None:
    raise Stopped(signum)


STOPPED_HINT = ("nothing half-written is left; a training run resumes from its last saved "
                "epoch when started again")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    keep_freed_memory()  # a batch command's allocator; `serve` gives memory back instead
    main_thread = threading.current_thread() is threading.main_thread()
    before = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGHUP)} \
        if main_thread else {}
    try:
        code = args.func(args)
    except FinescaleError as err:
        print(f"finescale: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"finescale: interrupted; {STOPPED_HINT}", file=sys.stderr)
        return 130
    except Stopped as stop:
        print(f"finescale: stopped by {signal.Signals(stop.signum).name}; {STOPPED_HINT}",
              file=sys.stderr)
        return 128 + stop.signum
    finally:
        for s, handler in before.items():  # a caller's own handlers (tests, embedding)
            signal.signal(s, handler)
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
