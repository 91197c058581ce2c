# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only place that talks to HAProxy: its runtime API on a unix stats socket.

One command per connection (HAProxy's non-interactive mode): the command is sent,
HAProxy answers and closes. ``call`` is the one helper every command goes through;
it maps socket errors and HAProxy's own error answers to BackendError.
"""

from __future__ import annotations

import socket

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError

DEFAULT_SOCKET = "/run/haproxy/admin.sock"

# answers of HAProxy 2.x to commands that did nothing (a mutation answers with an empty line)
_ERROR_ANSWERS = ("No such", "Can't find", "Unknown command", "Require ", "Permission denied", "Unexpected",
                  "Invalid", "'set server", "Not allowed", "is not", "cannot", "Cannot")


class RuntimeClient:
    """HAProxy's runtime API at ``socket_path`` (needs ``level admin`` for the ``set`` commands)."""

    def __init__(self, socket_path=DEFAULT_SOCKET, timeout=10):
        self.socket_path = socket_path
        self.timeout = timeout

    def _send(self, command):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
            sock.sendall(command.encode("utf-8") + b"\n")
            chunks = []
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        finally:
            sock.close()
        return b"".join(chunks).decode("utf-8", "replace")

    def call(self, what, command, mutation=False):
        """Run one runtime API command; returns HAProxy's answer (text).

        ``mutation``: the command changes state and answers nothing on success, so
        any text is HAProxy refusing it. Read commands are checked for the error
        answers HAProxy gives to unknown backends, servers and commands.
        """
        try:
            answer = self._send(command)
        except FileNotFoundError:
            raise BackendError("%s: HAProxy's runtime socket %s does not exist (is HAProxy running with "
                               "'stats socket %s level admin' in its global section?)"
                               % (what, self.socket_path, self.socket_path), socket=self.socket_path)
        except OSError as exc:
            raise BackendError("%s: cannot talk to HAProxy on %s: %s" % (what, self.socket_path, exc),
                               socket=self.socket_path)
        text = answer.strip()
        if (mutation and text) or text.startswith(_ERROR_ANSWERS):
            raise BackendError("%s: HAProxy on %s answered: %s" % (what, self.socket_path, text[:300]),
                               socket=self.socket_path)
        return answer
