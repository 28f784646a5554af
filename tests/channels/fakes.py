"""A local fake of the providers' APIs (Graph API, Bot API, SMSGate): a real HTTP server that
records every request and answers what the test tells it to."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class FakeProvider:
    """What the fake has received, and how it answers (status and body per path suffix)."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    # Statuses to answer, in order, before answering 200 (e.g. [500, 500] fails twice).
    failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # Path suffix -> a function of the request giving the JSON answer (default {"ok": true}).
    answers: dict[str, Callable[[Recorded], Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, suffix: str) -> list[Recorded]:
        """The requests whose path ends with `suffix`."""
        with self.lock:
            return [r for r in self.requests if r.path.split("?")[0].endswith(suffix)]

    def wait_for(self, suffix: str, n: int = 1, timeout: float = 15.0) -> list[Recorded]:
        """Wait until at least `n` requests ending with `suffix` arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.sent(suffix)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.sent(suffix))} requests to {suffix}, expected {n}")


def start_fake() -> tuple[FakeProvider, ThreadingHTTPServer]:
    """Start the fake on a free port of 127.0.0.1."""
    fake = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            rec = Recorded(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(size),
            )
            with fake.lock:
                fake.requests.append(rec)
                failure = fake.failures.pop(0) if fake.failures else None
            status, body = failure or (200, {"ok": True})
            if failure is None:
                for suffix, make in fake.answers.items():
                    if self.path.split("?")[0].endswith(suffix):
                        body = make(rec)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _answer
        do_GET = _answer

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return fake, httpd
