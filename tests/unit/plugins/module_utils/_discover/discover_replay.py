"""Record a real host's answers to discovery (files, links, commands) and replay them in unit tests.

``capture_fixture.py`` runs discovery on a real systemd host (the lab guest)
through ``RecordingReader`` and a recording command runner, and saves every
answer as JSON. ``ReplayReader``/``replay_run`` answer from that JSON, so the
unit tests exercise the whole discovery against text a real host produced.
"""
import base64
import json

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.proc import ProcReader


def _key(parts):
    return "/" + "/".join(p.strip("/") for p in parts if p.strip("/"))


class RecordingReader(ProcReader):
    def __init__(self, root="/"):
        super().__init__(root)
        self.log = {"read": {}, "listdir": {}, "readlink": {}, "exists": {}, "isdir": {}, "realpath": {}}

    def read(self, *parts, binary=False):
        data = super().read(*parts, binary=binary)
        if binary and data is not None:
            stored = {"base64": base64.b64encode(data).decode("ascii")}
        else:
            stored = data
        self.log["read"][_key(parts)] = stored
        return data

    def listdir(self, path):
        self.log["listdir"][path] = result = super().listdir(path)
        return result

    def readlink(self, path):
        self.log["readlink"][path] = result = super().readlink(path)
        return result

    def exists(self, path):
        self.log["exists"][path] = result = super().exists(path)
        return result

    def isdir(self, path):
        self.log["isdir"][path] = result = super().isdir(path)
        return result

    def realpath(self, path):
        self.log["realpath"][path] = result = super().realpath(path)
        return result


class ReplayReader(ProcReader):
    """Answers from a capture; anything the capture did not see is absent."""

    def __init__(self, capture):
        super().__init__("/nonexistent-replay-root")
        self.capture = capture

    def read(self, *parts, binary=False):
        stored = self.capture["read"].get(_key(parts))
        if isinstance(stored, dict):
            data = base64.b64decode(stored["base64"])
            return data if binary else data.decode("utf-8")
        return stored

    def listdir(self, path):
        return self.capture["listdir"].get(path, [])

    def readlink(self, path):
        return self.capture["readlink"].get(path)

    def exists(self, path):
        return bool(self.capture["exists"].get(path, False))

    def isdir(self, path):
        return bool(self.capture["isdir"].get(path, False))

    def realpath(self, path):
        return self.capture["realpath"].get(path, path)

    def clock_ticks(self):
        return self.capture.get("clock_ticks", 100)


def recording_run(log, run):
    def wrapper(argv):
        rc, out, err = run(argv)
        log.append({"argv": list(argv), "rc": rc, "stdout": out, "stderr": err})
        return rc, out, err
    return wrapper


def _call_key(argv):
    """`systemctl show -p <properties> units` is matched on its units only: a capture made
    before a property was added answers as a systemd that does not print that property.
    The ``--`` before the units is ignored too (captures older than it print the same)."""
    argv = list(argv)
    if argv[:2] == ["systemctl", "show"] and "-p" in argv:
        index = argv.index("-p")
        argv = [a for a in argv[:index] + argv[index + 2:] if a != "--"]
    return json.dumps(argv)


def replay_run(capture):
    calls = dict((_call_key(c["argv"]), c) for c in capture["run"])

    def run(argv):
        call = calls.get(_call_key(argv))
        if call is None:
            raise AssertionError("command not in capture: %r" % (argv,))
        return call["rc"], call["stdout"], call["stderr"]
    return run


def replay_which(capture):
    return capture["which"].get


def load(path):
    with open(path) as handle:
        return json.load(handle)
