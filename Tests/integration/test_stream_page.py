"""The live page at `/` in headless Chromium (Debian's `chromium`, from setup-system.sh) with a fake
camera fed from WolfgangLanger_Pexels.mp4 (a small y4m made by the ffmpeg CLI): the page opens the
camera, streams to /v1/stream and receives estimates. Driven over the DevTools protocol (the
`websockets` client): counts the estimates the page received (`window.affectd`), fails on any console
error or uncaught exception, and writes a screenshot (AFFECTD_PAGE_SCREENSHOT, default a temp file)."""
import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
import websockets

from service_server import CLIP, Server, need


class DevTools:
    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    async def call(self, method, **params):
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = json.loads(await self.ws.recv())
            if m.get("id") == self.next_id:
                assert "error" not in m, m
                return m["result"]
            self.events.append(m)

    def errors(self):
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.exceptionThrown":
                out.append(p["exceptionDetails"].get("text"))
            elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append(p.get("args"))
            elif e.get("method") == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text"))
        return out


def test_page_streams_the_fake_camera_and_draws_estimates():
    if not shutil.which("chromium"):
        pytest.fail("chromium is not installed: run scripts/setup-system.sh")
    tmp = tempfile.mkdtemp(prefix="affectd-page-")
    y4m = os.path.join(tmp, "clip.y4m")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", need(CLIP), "-t", "10", "-vf", "scale=320:180,fps=15",
                    "-pix_fmt", "yuv420p", y4m], check=True, timeout=120)
    server = Server({"workers.count": 1})
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=700,1000",
         f"--user-data-dir={tmp}/profile", "--remote-debugging-port=0", "--use-fake-device-for-media-stream",
         "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={y4m}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(tmp, "profile", "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")

        async def drive():
            async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
                dt = DevTools(ws)
                for domain in ("Runtime", "Log", "Page"):
                    await dt.call(f"{domain}.enable")
                await dt.call("Page.navigate", url=server.url + "/?autostart=1")
                received, counters = 0, {}
                end = time.monotonic() + 40
                while time.monotonic() < end and received < 40:
                    await asyncio.sleep(0.5)
                    r = await dt.call("Runtime.evaluate", expression="JSON.stringify(window.affectd || {})",
                                      returnByValue=True)
                    counters = json.loads(r["result"]["value"])
                    received = counters.get("messages", 0)
                shot = await dt.call("Page.captureScreenshot", format="png")
                text = "['count', 'status'].map((id) => document.getElementById(id).textContent).join('|')"
                dom = await dt.call("Runtime.evaluate", expression=text, returnByValue=True)
                return received, counters, shot["data"], dom["result"]["value"], dt.errors()

        received, counters, png, dom, errors = asyncio.run(asyncio.wait_for(drive(), 90))
        path = os.environ.get("AFFECTD_PAGE_SCREENSHOT", os.path.join(tempfile.gettempdir(), "affectd-live-page.png"))
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print(f"page received {received} estimates; DOM: {dom}; screenshot: {path}")
        assert not errors, errors
        assert received >= 40, counters
        count, status = dom.split("|")
        assert int(count) >= 40 and status == "streaming"
        assert counters["last"]["persons"], "the fake camera shows a face: the page should have a box to draw"
        assert counters["errors"] == [] and counters["closed"] is None
    finally:
        browser.terminate()
        browser.wait(timeout=10)
        assert server.stop() == 0
        shutil.rmtree(tmp, ignore_errors=True)
