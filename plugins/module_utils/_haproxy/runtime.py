# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HAProxy runtime API: parsing of its answers (pure) and the few commands a rollout needs.

The parsers follow HAProxy 2.x: ``show servers state`` (format version 1, the same
text HAProxy reads back from a ``server-state-file``) and ``show stat`` (CSV).
"""

from __future__ import annotations

import csv
import io

from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import BackendError

# srv_op_state
OP_STATES = {0: "stopped", 1: "starting", 2: "running", 3: "stopping"}
# srv_admin_state bits (HAProxy's SRV_ADMF_*): forced/inherited/resolution maintenance, forced/inherited drain.
# 0x04 (CMAINT) only records that the configuration says "disabled"; alone it is not maintenance.
MAINT_BITS = 0x01 | 0x02 | 0x20
DRAIN_BITS = 0x08 | 0x10


def parse_servers_state(text):
    """``show servers state`` -> list of dicts (be_id, be_name, srv_name, srv_addr, srv_port, ints, ``admin``).

    ``admin`` is ``maint``, ``drain`` or ``ready`` from the admin bits; ``op`` the
    operational state's name. Raises BackendError on an answer of another format.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].strip() != "1":
        raise BackendError("unexpected answer to 'show servers state' (format version 1 expected): %r" % text[:200])
    if len(lines) < 2 or not lines[1].startswith("#"):
        raise BackendError("unexpected answer to 'show servers state' (no header line): %r" % text[:200])
    header = lines[1].lstrip("#").split()
    servers = []
    for line in lines[2:]:
        fields = line.split()
        if len(fields) < len(header):
            raise BackendError("unexpected line in 'show servers state': %r" % line[:200])
        row = dict(zip(header, fields))
        for key in ("be_id", "srv_id", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_port"):
            if key in row:
                row[key] = int(row[key])
        admin = row["srv_admin_state"]
        row["admin"] = "maint" if admin & MAINT_BITS else ("drain" if admin & DRAIN_BITS else "ready")
        row["op"] = OP_STATES.get(row["srv_op_state"], str(row["srv_op_state"]))
        servers.append(row)
    return servers


def parse_stat(text):
    """``show stat`` CSV -> list of dicts keyed by the CSV header (``# pxname,svname,...``)."""
    body = text.lstrip()
    if not body.startswith("#"):
        raise BackendError("unexpected answer to 'show stat' (CSV header expected): %r" % text[:200])
    reader = csv.reader(io.StringIO(body.lstrip("# ")))
    rows = [row for row in reader if row]
    header = rows[0]
    return [dict(zip(header, row)) for row in rows[1:]]


def sessions(stat_rows, backend, server):
    """Current plus queued sessions of one server from parsed ``show stat`` rows (None when absent)."""
    for row in stat_rows:
        if row.get("pxname") == backend and row.get("svname") == server:
            return int(row.get("scur") or 0) + int(row.get("qcur") or 0)
    return None


def server_view(servers):
    """{server: admin state} of one backend's servers: what the diff shows."""
    return dict((s["srv_name"], s["admin"]) for s in servers)


class Backend:
    """One backend seen through a RuntimeClient: its servers, sessions, and state changes."""

    def __init__(self, client, name):
        self.client = client
        self.name = name

    def servers(self):
        text = self.client.call("reading the servers of backend %s" % self.name, "show servers state %s" % self.name)
        return parse_servers_state(text)

    def sessions(self, be_id, server):
        # by the backend's numeric id: a frontend of the same name would otherwise answer
        text = self.client.call("reading the sessions of %s/%s" % (self.name, server), "show stat %d 4 -1" % be_id)
        return sessions(parse_stat(text), self.name, server)

    def set_state(self, server, state):
        """``ready``, ``drain`` or ``maint``."""
        self.client.call("setting %s/%s to %s" % (self.name, server, state),
                         "set server %s/%s state %s" % (self.name, server, state), mutation=True)

    def all_states(self):
        """The whole ``show servers state`` text: what a ``server-state-file`` holds."""
        return self.client.call("reading the server state", "show servers state")
