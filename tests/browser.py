"""Load a page in headless Chromium over the DevTools protocol; record requests and errors.

Used by the HTML report tests: a report must load from a file URL without a
script error or any network request, and render something that is not blank.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageLoad:
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    #: What the ``evaluate`` expression returned (JSON values), after the page loaded.
    value: Any = None


def load_page(
    url: str,
    *,
    width: int = 1000,
    height: int = 1200,
    timeout: float = 30.0,
    dark: bool = False,
    evaluate: str | None = None,
) -> PageLoad:
    """Open ``url`` in a fresh headless Chromium and return what happened.

    ``evaluate``: a JavaScript expression run once the page has loaded; its value
    (e.g. the DOM geometry of some elements, as JSON values) is in ``PageLoad.value``.
    """
    import websocket  # websocket-client

    binary = find_chromium()
    if binary is None:
        raise RuntimeError("Chromium is not installed")
    # Chromium may still be writing its profile as it exits: cleanup must not fail the test.
    with tempfile.TemporaryDirectory(
        prefix="limecli-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = _devtools_port(Path(profile), timeout)
            ws_url = _page_socket(port, timeout)
            # No Origin header: recent Chromium refuses DevTools sockets from an unlisted origin.
            ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
            try:
                return _drive(ws, url, timeout, dark, evaluate)
            finally:
                ws.close()
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def _devtools_port(profile: Path, timeout: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            text = marker.read_text().split()
            if len(text) >= 2:  # the file is written in two lines; wait for both
                return int(text[0])
        time.sleep(0.05)
    raise TimeoutError("Chromium did not open its DevTools port")


def _page_socket(port: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as reply:
                targets = json.load(reply)
        except OSError:  # the port file can appear before the server answers
            time.sleep(0.1)
            continue
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return str(pages[0]["webSocketDebuggerUrl"])
        time.sleep(0.05)
    raise TimeoutError("Chromium has no page target")


def _drive(ws: Any, url: str, timeout: float, dark: bool, evaluate: str | None) -> PageLoad:
    result = PageLoad()
    counter = iter(range(1, 1_000_000))
    pending: dict[int, Any] = {}

    def send(method: str, **params: Any) -> int:
        ident = next(counter)
        ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        return ident

    def pump(until_id: int | None = None, until_event: str | None = None) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(ws.recv())
            method = message.get("method")
            params = message.get("params", {})
            if method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                result.errors.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                result.errors.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.errors.append(params["entry"].get("text", ""))
            if "id" in message:
                pending[message["id"]] = message
                if message["id"] == until_id:
                    return message
            if until_event is not None and method == until_event:
                return message
        raise TimeoutError(f"no answer from Chromium ({until_id or until_event})")

    for domain in ("Page", "Network", "Runtime", "Log"):
        pump(until_id=send(f"{domain}.enable"))
    if dark:
        scheme = [{"name": "prefers-color-scheme", "value": "dark"}]
        pump(until_id=send("Emulation.setEmulatedMedia", features=scheme))
    send("Page.navigate", url=url)
    pump(until_event="Page.loadEventFired")
    time.sleep(0.2)  # let late console messages arrive
    if evaluate is not None:
        reply = pump(until_id=send("Runtime.evaluate", expression=evaluate, returnByValue=True))
        answer = reply.get("result", {})
        if "exceptionDetails" in answer:
            result.errors.append(json.dumps(answer["exceptionDetails"])[:300])
        result.value = answer.get("result", {}).get("value")
    shot = pump(until_id=send("Page.captureScreenshot", format="png"))
    result.screenshot = base64.b64decode(shot["result"]["data"])
    return result


#: A notebook output cell around an HTML fragment. Like notebook front-ends, it styles what
#: it shows: colours, fonts, striped and padded tables, heading and paragraph margins.
NOTEBOOK = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
{theme}
body {{ margin: 0; font: 13px/1.2 "DejaVu Serif", serif; }}
.cell {{ padding: 12px 24px; }}
.prompt {{ font: 12px monospace; color: var(--nb-muted); }}
.output h1, .output h2, .output h3 {{ color: var(--nb-fg); margin: 2em 0 1em; font-size: 2em; }}
.output p {{ color: var(--nb-fg); margin: 0 0 1em; text-align: justify; }}
.output table {{ color: var(--nb-fg); border: 1px solid var(--nb-muted); font-size: 11px; }}
.output th, .output td {{ color: var(--nb-fg); text-align: right; padding: .5em; border: none; }}
.output tbody tr:nth-child(odd) {{ background: var(--nb-stripe); }}
.output img {{ border: 3px solid var(--nb-muted); }}
.output svg text {{ fill: var(--nb-fg); }}
</style></head><body><div class="cell"><div class="prompt">Out[1]:</div>
<div class="output">{fragment}</div></div></body></html>
"""
NOTEBOOK_LIGHT = (
    ":root { --nb-fg: #111; --nb-muted: #777; --nb-stripe: #f3f3f3; } body { background: #fff; }"
)
NOTEBOOK_DARK = (
    ":root { color-scheme: dark; --nb-fg: #e6e6e6; --nb-muted: #999; --nb-stripe: #2a2d31; } "
    "body { background: #1e1f22; color: #e6e6e6; }"
)


def notebook_page(fragment: str, dark: bool = False) -> str:
    """A page showing ``fragment`` as a light or dark notebook shows a cell's HTML output."""
    return NOTEBOOK.format(theme=NOTEBOOK_DARK if dark else NOTEBOOK_LIGHT, fragment=fragment)
