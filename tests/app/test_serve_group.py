"""`finescale serve` for a group: Panel's own options passed on; no open server on a
non-loopback address without authentication."""

from __future__ import annotations

import http.cookiejar
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port

FINESCALE = str(Path(sys.executable).parent / "finescale")
pytestmark = pytest.mark.slow


def test_a_public_address_without_authentication_is_refused(small_dir):
    r = subprocess.run([FINESCALE, "serve", "--data", str(small_dir), "--address", "0.0.0.0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "refusing to serve on 0.0.0.0 without authentication" in r.stderr
    assert "--basic-auth" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([FINESCALE, "serve", "--data", str(small_dir), "--generations", "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--generations 0: at least one" in r.stderr


def test_options_are_passed_to_panel():
    import argparse
    from argparse import Namespace

    from finescale.app.serve import panel_options

    a = Namespace(address="10.1.2.3", port=5100, allow_websocket_origin=["proxy.example:443"],
                  basic_auth="users.txt", cookie_secret=None, oauth_provider=None,
                  num_procs=3, ssl_certfile=None, ssl_keyfile=None)
    opts = panel_options(a)
    pairs = [o.split("=", 1) for o in opts]  # --flag=value: a value may start with "-"
    assert ["--address", "10.1.2.3"] in pairs and ["--num-procs", "3"] in pairs
    assert ["--allow-websocket-origin", "proxy.example:443"] in pairs
    assert ["--basic-auth", "users.txt"] in pairs
    secret = dict(pairs)["--cookie-secret"]
    assert len(secret) >= 32  # a random cookie secret when none is given
    # a secret or password that starts with "-" reaches panel as a value (CI once drew a
    # random secret starting with "-", and panel refused to start)
    from panel.command.serve import Serve

    parser = argparse.ArgumentParser()
    Serve(parser=parser)  # panel serve's own options
    a.cookie_secret, a.basic_auth = "-starts-with-a-dash", "-pw"
    parsed = parser.parse_args(panel_options(a))
    assert parsed.cookie_secret == "-starts-with-a-dash" and parsed.basic_auth == "-pw"


def test_basic_auth_asks_for_a_login(small_dir, tmp_path):
    port = free_port()
    log = tmp_path / "log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with open(log, "w") as fh:
        proc = subprocess.Popen([FINESCALE, "serve", "--data", str(small_dir), "--address",
                                 "0.0.0.0", "--port", str(port), "--basic-auth", "s3cret"],
                                stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                page = urllib.request.urlopen(f"{url}/main", timeout=30)
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.5)
        assert "/login" in page.url  # no page without a login
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        data = urllib.parse.urlencode({"username": "anyone", "password": "wrong"}).encode()
        bad = opener.open(f"{url}/login", data=data, timeout=30)
        assert "/login" in bad.url  # a wrong password is sent back to the login page
        data = urllib.parse.urlencode({"username": "anyone", "password": "s3cret"}).encode()
        good = opener.open(f"{url}/login", data=data, timeout=60)
        assert good.status == 200 and "/login" not in good.url, good.url
    finally:
        proc.terminate()
        proc.wait(20)
