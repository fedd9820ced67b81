"""Where a warm dashboard page's browser time goes: a Chrome CPU profile of one page load
and of one season-change redraw, summarised (inclusive ms per function, long tasks); JSON.

    python scripts/profile_page.py [--data DIR] [--top 25] [--out profile.json]

A diagnostic for issue work on the page's speed, not a benchmark (``python
scripts/bench_ui.py`` is): the profiler itself slows the page by ~10 %.
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

from finescale.app.serve import ensure_data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/
from tests.servers import (
    CHROME_ARGS,
    MONTHS,
    WAIT_MS,
    chromium_path,
    free_port,
    page_ready,
    print_json,
    redraw,
    select,
    start_server,
    stop_server,
    wait_http,
)


def inclusive_ms(profile: dict, top: int) -> list[tuple[str, float]]:
    """Milliseconds each function was on the stack (once per sample), idle excluded."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    out: collections.Counter = collections.Counter()
    for sample, dt in zip(profile["samples"], profile["timeDeltas"], strict=True):
        seen, i = set(), sample
        while i is not None:
            cf = nodes[i]["callFrame"]
            script = cf["url"].split("/")[-1].split("?")[0]
            key = f"{cf['functionName'] or '(anonymous)'} {script}:{cf['lineNumber']}"
            if key not in seen and not key.startswith("(idle)"):
                out[key] += dt / 1e3
                seen.add(key)
            i = parent.get(i)
    return [(k, round(v, 1)) for k, v in out.most_common(top)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    data = ensure_data(a.data)
    port = free_port()
    url = f"http://127.0.0.1:{port}/main"
    proc = start_server({"FINESCALE_DATA": str(data)}, port)
    res: dict = {}
    try:
        wait_http(url, proc)
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                   args=CHROME_ARGS)
            for _ in range(2):  # warm the server and its cache
                pg = b.new_page(viewport={"width": 1500, "height": 950})
                page_ready(pg, url)
                pg.close()
            pg = b.new_page(viewport={"width": 1500, "height": 950})
            cdp = pg.context.new_cdp_session(pg)
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 200})
            cdp.send("Profiler.start")
            res["page_ready_s"] = round(page_ready(pg, url), 3)
            res["page_load"] = inclusive_ms(cdp.send("Profiler.stop")["profile"], a.top)
            select(pg, "Model", "interp:bilinear")
            pg.wait_for_selector("text=/^Showing interp/", timeout=WAIT_MS)
            pg.wait_for_timeout(1000)
            cdp.send("Profiler.start")
            res["redraw_s"] = round(redraw(pg, lambda: select(pg, "Season", "DJF"),
                                           MONTHS["DJF"]), 3)
            pg.wait_for_timeout(300)
            res["redraw"] = inclusive_ms(cdp.send("Profiler.stop")["profile"], a.top)
            b.close()
    finally:
        stop_server(proc)
    print_json(res, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
