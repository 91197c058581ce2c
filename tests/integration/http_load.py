"""A bounded HTTP client loop for the tests of gapless changes (rollouts, reloads): it runs beside the change
and records every answer and every failed request."""
import threading
import time
import urllib.request


class Load(threading.Thread):
    """HTTP GETs through the proxy in a loop (a new connection each) until stopped; records bodies and errors."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.bodies = []
        self.errors = []
        self.stop = threading.Event()

    def run(self):
        # paced (at most ~50 requests a second) so that the client does not starve the rollout of CPU
        while not self.stop.wait(0.02):
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    self.bodies.append(response.read().decode().strip())
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(repr(exc))

    def __enter__(self):
        self.start()
        # at least one answer before the change starts
        while not self.bodies and not self.errors:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.join(30)
        print("load: %d answers, %d errors, versions %s" % (len(self.bodies), len(self.errors), self.versions()))
        return False

    def versions(self):
        """The distinct answers in the order they first came."""
        seen = []
        for body in self.bodies:
            if not seen or seen[-1] != body:
                seen.append(body)
        return seen
