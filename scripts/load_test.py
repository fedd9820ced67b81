"""A bounded load test of the dashboard: N headless pages on 127.0.0.1 change region, season,
day and model for a while; prints JSON (page-ready and redraw percentiles under load,
requests per generation, the server's peak RSS, page errors, server-log exceptions).

    python scripts/load_test.py --pages 8 --minutes 3 --out docs/bench/load-2core.json

The pages pick from a small set of choices on purpose: a group exploring the same season
asks for the same days, and the server must answer identical requests with one generation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests/
from tests.servers import (
    CHROME_ARGS,
    chromium_path,
    free_port,
    print_json,
    start_server,
    stop_server,
    wait_http,
)

DAYS = {"JJA": ["2006-07-01", "2006-07-02", "2006-07-03"],
        "DJF": ["2006-01-10", "2006-01-11", "2006-01-12"]}
MODELS = ["diffusion", "unet", "interp:bilinear"]
WAIT_MS = 600_000


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3)


async def _page(browser, url: str, seed: int, seconds: float, out: dict,
                models: list[str]) -> None:
    rng = random.Random(seed)
    ctx = await browser.new_context(viewport={"width": 1600, "height": 1000})
    page = await ctx.new_page()
    page.on("pageerror", lambda e: out["page_errors"].append(str(e)))
    t0 = time.perf_counter()
    await page.goto(url, timeout=WAIT_MS)
    await page.wait_for_selector("text=/^Showing/", timeout=WAIT_MS)
    out["page_ready_s"].append(time.perf_counter() - t0)
    # The clock starts when this page is ready: on a slow machine a cold first page can take
    # longer than a short test's whole window, and a load test with no actions measures nothing.
    deadline = time.perf_counter() + seconds
    regions = await page.locator("label:has-text('Region') ~ select option").all_inner_texts()
    while time.perf_counter() < deadline:
        what = rng.choice(["region", "season", "day", "model"])
        if what == "region":
            target = rng.choice(regions)
            await page.locator("label:has-text('Region') ~ select").first.select_option(target)
            expect = f"· {target} ·"
        elif what == "model":
            target = rng.choice(models)
            await page.locator("label:has-text('Model') ~ select").first.select_option(target)
            expect = f"{re.escape(target)} ·"
        else:
            season = rng.choice(list(DAYS))
            target = rng.choice(DAYS[season])
            await page.locator("input.flatpickr-input").first.evaluate(
                f"e => e._flatpickr.setDate('{target}', true)")
            expect = target
        t = time.perf_counter()
        if out.get("verbose"):
            print(f"page {seed}: {what} → {target}", flush=True)
        try:
            await page.wait_for_selector(f"text=/^(Showing .*{expect}|⚠️)/", timeout=WAIT_MS)
        except Exception as err:
            out["timeouts"].append(f"{what} {target}: {type(err).__name__}")
            continue
        out["redraw_s"].append(time.perf_counter() - t)
        out["actions"] += 1
        await page.wait_for_timeout(rng.randint(300, 1500))  # a person looks at the maps
    await ctx.close()


async def _drive(url: str, pages: int, seconds: float, out: dict, models: list[str]
                 ) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium_path(), headless=True,
                                          args=CHROME_ARGS)
        await asyncio.gather(*[_page(browser, url, k, seconds, out, models)
                               for k in range(pages)])
        await browser.close()


def run(data: Path, pages: int, seconds: float, models: list[str] = MODELS,
        env: dict[str, str] | None = None) -> dict:
    port = free_port()
    proc = start_server({"FINESCALE_DATA": str(data), **(env or {})}, port)
    url = f"http://127.0.0.1:{port}/main"
    out: dict = {"page_ready_s": [], "redraw_s": [], "page_errors": [], "timeouts": [],
                 "actions": 0}
    peak = [0]
    stop = threading.Event()

    def sample() -> None:  # the server's resident memory, children included
        ps = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                rss = ps.memory_info().rss + sum(c.memory_info().rss
                                                 for c in ps.children(recursive=True))
                peak[0] = max(peak[0], rss)
            except psutil.Error:
                pass
            time.sleep(0.5)

    try:
        wait_http(url, proc)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        asyncio.run(_drive(url, pages, seconds, out, models))
    finally:
        stop.set()
        log = proc.log.read_text()
        stop_server(proc)
    generations = len(re.findall(r"generation started", log))
    requests = len(re.findall(r"generation requested", log))
    return {"pages": pages, "seconds": seconds, "actions": out["actions"],
            "page_ready_s": {"median": _pct(out["page_ready_s"], 0.5),
                             "p90": _pct(out["page_ready_s"], 0.9)},
            "redraw_s": {"median": _pct(out["redraw_s"], 0.5),
                         "p90": _pct(out["redraw_s"], 0.9), "max": _pct(out["redraw_s"], 1.0),
                         "mean": round(statistics.fmean(out["redraw_s"]), 3)
                         if out["redraw_s"] else None},
            "generation_requests": requests, "generations": generations,
            "served_from_cache": len(re.findall(r"generation cached", log)),
            "server_peak_rss_mb": round(peak[0] / 2**20),
            "page_errors": out["page_errors"], "timeouts": out["timeouts"],
            "server_log_exceptions": _exceptions(log)}


def _exceptions(log: str) -> list[str]:
    """Each traceback in the server's log as its last frame and exception line, and each
    ERROR line."""
    out, lines = [], log.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            frames = [x.strip() for x in lines[i + 1:j] if x.strip().startswith("File")]
            out.append(f"{frames[-1] if frames else ''} → {lines[j] if j < len(lines) else ''}")
        elif " ERROR " in ln:
            out.append(ln)
    return out


def main(argv: list[str] | None = None) -> int:
    from finescale.data.layout import default_data_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=None, help="dataset (default: the default)")
    p.add_argument("--pages", type=int, default=8)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    a = p.parse_args(argv)
    res = run(a.data or default_data_dir(), a.pages, 60 * a.minutes)
    print_json(res, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
