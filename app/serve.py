"""``finescale serve``: start the dashboard with ``panel serve`` (127.0.0.1 by default; any
other address only behind Panel's basic or OAuth authentication)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from importlib.resources import files
from pathlib import Path

from finescale.app.jobs import ENV_GENERATIONS, slot_count
from finescale.data.errors import FinescaleError
from finescale.data.generator import prepare
from finescale.data.layout import ENV_DATA_DIR, default_data_dir

MAIN = Path(str(files("finescale.app").joinpath("main.py")))


def ensure_data(path: Path | None) -> Path:
    """The dataset to serve: ``path`` if it holds one; the embedded default, generated on
    first use, when no path is given."""
    data = path.expanduser().resolve() if path is not None else default_data_dir()
    if not (data / "manifest.json").exists():
        if path is not None:
            raise FinescaleError(f"no dataset at {data}")
        print(f"no dataset at {data}: generating the embedded default first (about 2 minutes)")
        prepare(data)
    return data


ENV_RECORD = "FINESCALE_RECORD"
ENV_EVIDENCE = "FINESCALE_RECORD_EVIDENCE"
ENV_REPORTS = "FINESCALE_RECORD_REPORTS"  # os.pathsep between folders


def cmd_serve(a: argparse.Namespace) -> int:
    options = panel_options(a)  # refused before any data are prepared
    slot_count(a.generations, "--generations")
    env = dict(os.environ)
    env[ENV_GENERATIONS] = str(a.generations)
    if a.record is not None:
        from finescale.data.record import read_settings

        record = a.record.expanduser().resolve()
        if not record.is_dir():
            raise FinescaleError(f"no reconstruction store at {record}")
        read_settings(record)  # one line if it is not a finescale record
        env[ENV_RECORD] = str(record)
        env.pop(ENV_EVIDENCE, None)
        if a.evidence is not None:
            from finescale.app.record_evidence_view import read_evidence

            read_evidence(a.evidence)  # one line if it is not `evaluate --record`'s output
            env[ENV_EVIDENCE] = str(a.evidence.expanduser().resolve())
        env.pop(ENV_REPORTS, None)
        if a.report:
            missing = [d for d in a.report if not (d / "metrics.json").is_file()]
            if missing:
                raise FinescaleError(f"{missing[0]} is not a report of `finescale evaluate` "
                                     "(no metrics.json)")
            env[ENV_REPORTS] = os.pathsep.join(str(d.expanduser().resolve()) for d in a.report)
        served = f"record {record}"
    else:
        if a.evidence is not None or a.report:
            raise FinescaleError("--evidence and --report go with --record STORE")
        env.pop(ENV_RECORD, None)
        env[ENV_DATA_DIR] = str(ensure_data(a.data))
        served = env[ENV_DATA_DIR]
    cmd = [sys.executable, "-m", "finescale.app.serve", "serve", str(MAIN), *options]
    if a.show:
        cmd.append("--show")
    print(f"finescale: serving {served} at http://{a.address}:{a.port}/main "
          "(Ctrl-C or SIGTERM stops it)", flush=True)
    # the server replaces this process (same pid): a signal to `finescale serve` reaches the
    # server itself, and there is no child left to outlive it
    os.execve(sys.executable, cmd, env)
    return 0


def _loopback(address: str) -> bool:
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def panel_options(a: argparse.Namespace) -> list[str]:
    """``panel serve`` options for the address, origins, authentication and processes; a
    non-loopback address without authentication is refused."""
    auth = a.basic_auth or a.oauth_provider
    if not _loopback(a.address) and not auth:
        raise FinescaleError(
            f"refusing to serve on {a.address} without authentication: anyone who can reach "
            "it could read the data and start training. Add --basic-auth PASSWORD (or a file "
            "holding user:password lines) or --oauth-provider NAME with --oauth-key, "
            "--oauth-secret and --oauth-encryption-key; see docs/dashboard.md")
    origins = [f"{a.address}:{a.port}", f"localhost:{a.port}", *a.allow_websocket_origin]
    # every value as --flag=value: a value that starts with "-" (a random cookie secret does
    # one time in 64, a password may) would otherwise be read by panel as another option
    out = [f"--address={a.address}", f"--port={a.port}"]
    out += [f"--allow-websocket-origin={o}" for o in dict.fromkeys(origins)]
    if auth:  # signed cookies keep a login across pages and processes
        out.append(f"--cookie-secret={a.cookie_secret or secrets.token_urlsafe(32)}")
    if a.basic_auth:
        out.append(f"--basic-auth={a.basic_auth}")
    if a.oauth_provider:
        for flag in ("provider", "key", "secret", "redirect_uri", "encryption_key"):
            value = getattr(a, f"oauth_{flag}")
            if value:
                out.append(f"--oauth-{flag.replace('_', '-')}={value}")
    if a.num_procs != 1:
        out.append(f"--num-procs={a.num_procs}")
    for flag in ("ssl_certfile", "ssl_keyfile"):
        if getattr(a, flag):
            out.append(f"--{flag.replace('_', '-')}={getattr(a, flag)}")
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="open the dashboard in a browser")
    p.add_argument("--data", type=Path, default=None, help="dataset directory")
    p.add_argument("--address", default="127.0.0.1",
                   help="bind address (default 127.0.0.1); another address needs "
                        "--basic-auth or --oauth-provider")
    p.add_argument("--port", type=int, default=5006)
    g = p.add_argument_group("serving a group (Panel's own options, passed on)")
    g.add_argument("--allow-websocket-origin", action="append", default=[],
                   metavar="HOST[:PORT]", help="another origin pages may come from "
                   "(e.g. the name of a proxy); repeatable")
    g.add_argument("--basic-auth", metavar="PASSWORD|FILE",
                   help="one password, or a file of user:password lines")
    g.add_argument("--cookie-secret", help="signs login cookies (default: a random one)")
    g.add_argument("--oauth-provider", help="e.g. github, google, azure, generic")
    g.add_argument("--oauth-key")
    g.add_argument("--oauth-secret")
    g.add_argument("--oauth-redirect-uri")
    g.add_argument("--oauth-encryption-key")
    g.add_argument("--num-procs", type=int, default=1,
                   help="server processes (each keeps its own caches; default 1)")
    g.add_argument("--generations", type=int, default=1,
                   help="generations running at once per process; later requests wait "
                        "their turn (default 1: one already uses every CPU core, and each "
                        "running one holds its model and activations in memory)")
    g.add_argument("--ssl-certfile", type=Path)
    g.add_argument("--ssl-keyfile", type=Path)
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--record", type=Path, default=None,
                   help="browse a reconstruction store (finescale reconstruct) instead")
    p.add_argument("--evidence", type=Path, default=None,
                   help="with --record: the per-year evidence of that store (the folder "
                   "`finescale evaluate --record STORE --out DIR` wrote)")
    p.add_argument("--report", type=Path, action="append", default=[],
                   help="with --record: a report (`finescale evaluate`) whose models held out "
                   "in time show how far the record's roll-out holds (repeatable; default: "
                   "the shipped report, for a store of shipped weights)")
    p.set_defaults(func=cmd_serve)


def _run_server(argv: list[str]) -> None:
    """The server process that ``finescale serve`` becomes: ``panel serve`` ended by SIGINT,
    SIGTERM or SIGHUP at once, with one line and the conventional status. Left to itself,
    Bokeh answers Ctrl-C with status 0, and after its own graceful SIGTERM the interpreter's
    teardown crashed (SIGSEGV in h5py's deallocation of the fine files' pinned handles)."""
    import signal

    def stopped(signum: int) -> None:
        print(f"finescale: server stopped by {signal.Signals(signum).name}", file=sys.stderr,
              flush=True)
        os._exit(130 if signum == signal.SIGINT else 128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: stopped(signum))
    from panel.command import main as panel_main

    sys.argv = ["panel", *argv]
    panel_main()
    # the server returns only when stopped, and only Bokeh's own SIGTERM handler (installed
    # on its event loop over ours) stops it that way
    stopped(signal.SIGTERM)


if __name__ == "__main__":
    _run_server(sys.argv[1:])
