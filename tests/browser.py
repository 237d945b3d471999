"""A headless Chromium driven over the DevTools protocol on a pipe, with the standard library only.

`--remote-debugging-pipe` makes Chromium read commands on fd 3 and write replies on fd 4,
each a JSON message ended by a NUL byte, so no websocket (and no extra package) is needed.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]


def find_chromium():
    """The Chromium program: $CHROMIUM, else `chromium` or `chromium-browser` on PATH, or None."""
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium process; `open(url)` gives a Page (a tab) attached to it."""

    def __init__(self, executable, profile_dir, timeout=30):
        self.timeout = timeout
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def onto_fds_3_and_4():  # in the child, before exec: where Chromium looks
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)  # out of the way of 3 and 4
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)  # dup2 makes them inheritable; every other fd is close-on-exec
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile_dir}", "--remote-debugging-pipe",
             "about:blank"],
            close_fds=False, preexec_fn=onto_fds_3_and_4, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events = []  # (sessionId, method, params), in arrival order

    def send(self, method, params=None, session=None, timeout=None):
        """Send one command and wait for its reply; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append((reply.get("sessionId"), reply["method"], reply["params"]))

    def pump(self, seconds):
        """Collect the events that arrive within `seconds`."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                reply = self._read(deadline)
                if "method" in reply:
                    self.events.append((reply.get("sessionId"), reply["method"], reply["params"]))
        except TimeoutError:
            pass

    def _read(self, deadline):
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from Chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise BrowserError("Chromium closed the pipe (did it crash?)")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url, width=1280, height=800, wait=20):
        """A new tab showing `url`, once the page set data-ready on its body."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target,
                                                       "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Runtime", "Page", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False})
        page.send("Page.navigate", {"url": url})
        page.wait_for("document.body && document.body.dataset.ready === '1'", wait)
        return page

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except (BrowserError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


class Page:
    """One tab: evaluate JavaScript, click, press keys, read its console errors."""

    def __init__(self, browser, target, session):
        self.browser, self.target, self.session = browser, target, session

    def send(self, method, params=None, timeout=None):
        return self.browser.send(method, params, self.session, timeout)

    def eval(self, expression, await_promise=False):
        """The value of a JavaScript expression (JSON-able); a thrown error raises."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": await_promise})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error in {expression[:60]!r}: {text}")
        return result["result"].get("value")

    def wait_for(self, expression, seconds):
        deadline = time.monotonic() + seconds
        while True:
            try:
                if self.eval(expression):
                    return
            except BrowserError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {seconds} s for {expression!r}; errors: "
                                   f"{self.errors()}")
            time.sleep(0.05)

    def _events(self):
        return [(m, p) for s, m, p in self.browser.events if s == self.session]

    def errors(self):
        """Uncaught exceptions, console.error calls and error log entries, as text."""
        self.browser.pump(0.05)
        out = []
        for method, params in self._events():
            if method == "Runtime.exceptionThrown":
                d = params["exceptionDetails"]
                out.append(d.get("exception", {}).get("description") or d.get("text"))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description")))
                                    for a in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(params["entry"]["text"])
        return out

    def requested_urls(self):
        self.browser.pump(0.05)
        return [p["request"]["url"] for m, p in self._events()
                if m == "Network.requestWillBeSent"]

    def click(self, x, y):
        """A real left click at page coordinates (x, y)."""
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    def hover(self, x, y):
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def centre_of(self, selector):
        box = self.eval(f"(function(){{var e=document.querySelector({json.dumps(selector)});"
                        "if(!e)return null;var r=e.getBoundingClientRect();"
                        "return [r.left+r.width/2, r.top+r.height/2];})()")
        if box is None:
            raise BrowserError(f"nothing matches {selector!r}")
        return box

    def press(self, key, code=None, key_code=None):
        """Press and release one key, e.g. press("ArrowRight"), press(" ", "Space", 32)."""
        codes = {"ArrowRight": 39, "ArrowLeft": 37, "End": 35, "Home": 36, " ": 32}
        params = {"key": key, "code": code or key, "windowsVirtualKeyCode": key_code or codes.get(key, 0)}
        if key == " ":
            params["text"] = " "
        self.send("Input.dispatchKeyEvent", {"type": "keyDown", **params})
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", **params})

    def type_text(self, text):
        self.send("Input.insertText", {"text": text})

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        self.browser.send("Target.closeTarget", {"targetId": self.target})
