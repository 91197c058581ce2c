# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signals and locks for modules that change things (one implementation for every backend).

``guarded(keys, timeout, holder)`` wraps a module's work:

- SIGINT, SIGTERM and SIGHUP no longer kill the module half-way (when
  ansible-playbook is interrupted, its module process goes on by itself). The
  handler only records the signal; managers call :func:`check` before each new
  step and wait with :func:`sleep`, so the step in flight is finished or undone
  and the module ends with fail_json saying what was done.
- One ``flock`` per key (a stack, a container name, a VM) in a 0700 directory
  on the host the module runs on: a second run on the same object waits up to
  ``timeout`` seconds, then fails naming the process that holds the lock. The
  kernel drops a lock when its process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import signal
import tempfile
import threading
import time

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import FleetError

LOCK_DIRS = ("/run/hybridops-fleet/locks",)
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
LOCK_POLL = 0.2
DEFAULT_LOCK_TIMEOUT = 60

_STOP = threading.Event()
_RECEIVED = []


class Interrupted(FleetError):
    """A signal asked the module to stop; raised at the next safe point."""


class LockTimeout(FleetError):
    """Another run held a lock for longer than ``lock_timeout``."""


# ---------------------------------------------------------------------- interrupts

def requested():
    """True once a signal asked the module to stop."""
    return _STOP.is_set()


def signal_name():
    return _RECEIVED[0] if _RECEIVED else None


def check(before=None):
    """Raise Interrupted when a signal came in (call it before starting a new step)."""
    if _STOP.is_set():
        raise Interrupted("interrupted by %s%s" % (signal_name() or "a signal", " before %s" % before if before else ""),
                          interrupted=signal_name())


def sleep(seconds):
    """time.sleep that ends early, raising Interrupted, when a signal comes in."""
    if _STOP.wait(seconds):
        check()


def request_stop(name="SIGTERM"):
    """What the signal handler does (also used by tests)."""
    if not _RECEIVED:
        _RECEIVED.append(name)
    _STOP.set()


def reset():
    _STOP.clear()
    del _RECEIVED[:]


def _handler(signum, _frame):
    try:
        name = signal.Signals(signum).name
    except ValueError:  # pragma: no cover - a number outside the enum
        name = "signal %d" % signum
    request_stop(name)


@contextlib.contextmanager
def signals_deferred():
    """Record SIGINT/SIGTERM/SIGHUP instead of dying (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for name in SIGNALS:
        number = getattr(signal, name, None)
        if number is None:
            continue
        previous[number] = signal.signal(number, _handler)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


# ---------------------------------------------------------------------- locks

def lock_filename(key):
    """A file name for ``key``: readable, and unique through a hash of the whole key."""
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", key).strip("_")[:80]
    return "%s-%s.lock" % (readable, hashlib.sha256(key.encode("utf-8")).hexdigest()[:12])


def _private_dir(path):
    """Make ``path`` (mode 0700, owned by us, not a symlink); returns it or raises OSError."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
    info = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or info.st_uid != os.getuid():
        raise OSError(errno.EPERM, "%s is not a directory owned by uid %d" % (path, os.getuid()))
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    if not os.access(path, os.W_OK):
        raise OSError(errno.EACCES, "%s is not writable" % path)
    return path


def lock_dir(candidates=None):
    """The first usable lock directory: /run/hybridops-fleet/locks, else one under the temp dir for this user."""
    tried = []
    fallback = os.path.join(tempfile.gettempdir(), "hybridops-fleet-%d" % os.getuid(), "locks")
    for path in list(candidates or LOCK_DIRS) + [fallback]:
        try:
            return _private_dir(path)
        except OSError as exc:
            tried.append("%s (%s)" % (path, exc.strerror or exc))
    raise FleetError("no usable lock directory: %s" % "; ".join(tried))


def _holder_of(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096).decode("utf-8", "replace") or "{}")
    except (OSError, ValueError):
        return "another run"
    if not isinstance(data, dict):
        return "another run"
    return "pid %s (%s, since %s)" % (data.get("pid"), data.get("holder") or "?", data.get("since") or "?")


class LockSet:
    """flock-based locks on ``keys`` (taken in sorted order, so two runs never wait on each other in a circle)."""

    def __init__(self, keys, timeout=DEFAULT_LOCK_TIMEOUT, holder="", directory=None):
        self.keys = sorted(set(k for k in keys if k))
        self.timeout = DEFAULT_LOCK_TIMEOUT if timeout is None else timeout
        self.holder = holder
        self.directory = directory
        self.fds = []
        self.waited = 0.0

    def acquire(self):
        if not self.keys:
            return self
        directory = self.directory or lock_dir()
        start = time.monotonic()
        try:
            for key in self.keys:
                self._take(directory, key, start)
        except BaseException:
            self.release()
            raise
        self.waited = time.monotonic() - start
        return self

    def _take(self, directory, key, start):
        path = os.path.join(directory, lock_filename(key))
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            waited = time.monotonic() - start
            if _STOP.is_set() or waited >= self.timeout:
                who = _holder_of(fd)
                os.close(fd)
                if _STOP.is_set():
                    check("the lock on %s was free (held by %s)" % (key, who))
                raise LockTimeout("another run holds the lock on %s: %s. Waited %ds (lock_timeout); nothing was "
                                  "changed. Let that run finish, or raise lock_timeout" % (key, who, self.timeout),
                                  lock=key, lock_holder=who, lock_file=path)
            _STOP.wait(min(LOCK_POLL, max(0.01, self.timeout - waited)))
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "holder": self.holder, "key": key,
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode("utf-8"))
        self.fds.append(fd)

    def release(self):
        while self.fds:
            fd = self.fds.pop()
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing the last descriptor drops the flock


@contextlib.contextmanager
def guarded(keys=(), timeout=DEFAULT_LOCK_TIMEOUT, holder=""):
    """Signals deferred and ``keys`` locked while the block runs (see the module docstring)."""
    reset()
    with signals_deferred():
        locks = LockSet(keys, timeout, holder).acquire()
        try:
            yield locks
        finally:
            locks.release()
