"""A `posko serve` node over HTTPS and a phone-sized Chromium that trusts it (tests and bench).

The node is a real process on a SQLite file, with a certificate from a CA made here (trustme);
it can be killed (SIGKILL, as a crash) and started again on the same port. Chromium is told to
trust that one certificate by its public key (`--ignore-certificate-errors-spki-list`), so the
page is a secure context with no certificate error: service workers, storage persistence and
geolocation behave as on a phone reaching Posko over HTTPS.
"""

import base64
import hashlib
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import TEST_SECRET, free_port
from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 30.0  # a deadline for a condition, not a measurement
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "id-ID",
    "timezone_id": "Asia/Jakarta",
    "geolocation": {"latitude": -4.146, "longitude": 104.639, "accuracy": 20},
    "permissions": ["geolocation"],
}


class TlsNode:
    """One `posko serve --certfile --keyfile` process on a fixed port, restartable."""

    def __init__(self, database_url: str, work: Path, **env: str) -> None:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.chain, self.key = work / "posko.crt", work / "posko.key"
        self.chain.write_bytes(b"".join(pem.bytes() for pem in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(str(self.key))
        self.ssl = ssl.create_default_context()
        ca.configure_trust(self.ssl)
        leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
        spki = leaf.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        self.spki = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        self.work = work
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POSKO_")}
        self.env.update(
            {
                "PYTHONPATH": str(REPO),
                "POSKO_DATABASE_URL": database_url,
                "POSKO_SECRET_KEY": TEST_SECRET,
                "POSKO_REGION_DATA_DIR": str(REPO / "no-reference-data"),
                **env,
            }
        )
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.start()

    def start(self) -> None:
        """Start on this node's port and wait until /healthz answers over TLS."""
        for _ in range(20):
            if self._start():
                return
            time.sleep(0.5)  # the killed process's port is not free yet
        raise RuntimeError(f"port {self.port} stayed in use")

    def _start(self) -> bool:
        """One try; False if the port was still in use."""
        self.starts += 1
        log = self.work / f"serve-{self.starts}.log"
        cmd = [sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), "--certfile", str(self.chain), "--keyfile", str(self.key)]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.get("/healthz", timeout=1).status_code in (200, 503):
                    return True
            except httpx.HTTPError:
                time.sleep(0.05)
        if "address already in use" in log.read_text(errors="replace").lower():
            return False
        self.kill()
        raise RuntimeError("server did not start:\n" + log.read_text(errors="replace")[-3000:])

    def get(self, path: str, token: str | None = None, timeout: float = 10) -> httpx.Response:
        """GET over TLS, trusting this node's CA."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.url + path, headers=headers, timeout=timeout, verify=self.ssl)

    def post(self, path: str, body: Any, token: str) -> httpx.Response:
        """POST JSON over TLS."""
        return httpx.post(
            self.url + path,
            json=body,
            headers={"authorization": f"Bearer {token}"},
            timeout=10,
            verify=self.ssl,
        )

    def kill(self) -> None:
        """SIGKILL, as a crash (no clean shutdown, acks in flight lost)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop for good (SIGINT, then SIGKILL if it hangs)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def launch(pw: Any, node: TlsNode) -> Any:
    """A headless Chromium that trusts the node's certificate (and nothing else extra)."""
    args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={node.spki}"]
    return pw.chromium.launch(executable_path=CHROMIUM, args=args)


def until(what: str, check: Callable[[], object], timeout: float = WAIT_S) -> Any:
    """Wait for `check()` to be truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)
