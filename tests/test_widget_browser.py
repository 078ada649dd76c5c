"""The interactive view of a position in a real browser: JupyterLab served headless, Chromium driven by Playwright.

A notebook with one cell, ``position("seed").widget(...)``, is opened and run; the test clicks two enabled
actions and "can it fail from here?", and reads the checker's answer from the page. Debian's ``chromium``
is the browser (``.ci/run`` installs it); Playwright drives it through its executable.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

TOKEN = "regcheck-widget-test"
START_S = 90
"""Seconds JupyterLab may take to answer, and the page to show the widget, on a loaded machine."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    """JupyterLab serving ``tmp_path``, with a notebook that shows the seed's initial position as a widget."""
    cell = nbformat.v4.new_code_cell(
        'from regcheck.notebook import position\nposition("seed").widget("worker-never-gets-network-error")')
    notebook = nbformat.v4.new_notebook(cells=[cell], metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    nbformat.write(notebook, tmp_path / "explore.ipynb")
    port = _free_port()
    log = (tmp_path / "lab.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        until = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "lab.log").read_text(errors="replace")
                assert time.monotonic() < until, "JupyterLab did not answer in time"
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
def test_two_actions_and_the_question_in_a_browser(lab: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium is not None, "Debian's chromium is needed: .ci/run installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{lab}/lab/tree/explore.ipynb?token={TOKEN}")
            # The kernel idle first: a Shift+Enter pressed while the page or the kernel is still starting is lost.
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=START_S * 1000)
            page.locator(".jp-Notebook .jp-Cell").first.click(timeout=START_S * 1000)
            page.keyboard.press("Shift+Enter")
            page.get_by_role("button", name="Impersonate(worker=1)").click(timeout=START_S * 1000)
            page.get_by_role("button", name="EcDoConnectEx(worker=1)").click(timeout=START_S * 1000)
            page.get_by_role("button", name="can it fail from here?").click()
            answer = page.locator(".regcheck-answer h4")
            answer.wait_for(timeout=START_S * 1000)
            text = " ".join(answer.inner_text().split())
        finally:
            browser.close()
    assert text == ("From the state after step 2: worker-never-gets-network-error can fail: "
                    "a continuation of 3 step(s) violates it")
