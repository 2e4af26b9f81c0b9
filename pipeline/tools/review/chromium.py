"""Headless Chromium driven over its DevTools pipe, to check and time the review page.

Used by the tests and by `scripts/time_review_page.py`, never by `pipeline review` itself. The
DevTools protocol runs over fds 3 (commands) and 4 (replies) with `--remote-debugging-pipe`, as
NUL-separated JSON, so no websocket library is needed (POSIX only: it hands the child those fds). The browser runs as a user's does: no
`--allow-file-access-from-files`, so a page that needs `fetch` on `file://` would fail here too.

    with Chromium() as browser:
        tab = browser.open("file:///.../review/index.html#view=0")
        tab.wait_for("document.body.hasAttribute('data-ready')")
        boxes = tab.evaluate("document.querySelectorAll('#boxes polygon').length")
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Any

__all__ = ["Chromium", "Tab", "find_chromium"]


def find_chromium() -> str | None:
    """The Chromium binary on PATH (Debian's `chromium` package), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Tab:
    def __init__(self, browser: "Chromium", target: str, session: str) -> None:
        self._browser, self.target, self.session = browser, target, session

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page; RuntimeError if it throws."""
        reply = self._browser.call("Runtime.evaluate", self.session, expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression!r} threw: {reply['exceptionDetails'].get('text')}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0) -> Any:
        """Poll until `expression` is truthy; its value. RuntimeError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"{expression!r} still false after {timeout} s")
            time.sleep(0.02)

    def navigate(self, url: str) -> None:
        self._browser.call("Page.navigate", self.session, url=url)

    def close(self) -> None:
        self._browser.call("Target.closeTarget", targetId=self.target)


class Chromium:
    """One headless browser process; `open` gives tabs."""

    def __init__(self, binary: str | None = None, timeout: float = 60.0) -> None:
        binary = binary or find_chromium()
        if binary is None:
            raise FileNotFoundError("no chromium binary on PATH (Debian: apt-get install chromium)")
        self._profile = tempfile.TemporaryDirectory(prefix="review-chromium-")
        self._timeout = timeout
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def wire() -> None:  # in the child: the pipe ends become fds 3 and 4
            os.dup2(commands_read, 3)
            os.dup2(replies_write, 4)

        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
             f"--user-data-dir={self._profile.name}", "about:blank"],
            preexec_fn=wire, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)  # its own group: no helper outlives it
        os.close(commands_read)
        os.close(replies_write)
        self._buffer, self._id = b"", 0

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self._timeout
        while True:
            while b"\0" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                    raise RuntimeError(f"chromium did not answer {method} in {self._timeout} s")
                chunk = os.read(self._replies, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed its pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply["result"]

    def open(self, url: str) -> Tab:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tab = Tab(self, target, session)
        tab.navigate(url)
        return tab

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        try:  # renderer and zygote processes too, had the browser left any
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for fd in (self._commands, self._replies):
            os.close(fd)
        self._profile.cleanup()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
