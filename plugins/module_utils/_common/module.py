# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AnsibleModule with an invocation log that cannot leak a nested secret.

AnsibleModule logs its invocation (syslog or the journal of the managed host) while it is constructed:
a dict or list parameter is logged as ``str(value)``, and its no_log suboption values are masked by
substring replacement in that text. ``str()`` shows a string inside a dict or list by its repr, so a secret
with a newline, a tab, a backslash or a quote that repr escapes (a PEM key, a cloud-config file, a
password with a backslash) is not found as written and reaches the log in the clear. This class also
masks each no_log value as repr writes it. Modules with no_log suboptions use it.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def escaped_forms(values):
    """The no_log strings as they appear inside ``str()`` of a dict or list, where that differs."""
    forms = set()
    for value in values:
        if isinstance(value, str):
            shown = repr(value)[1:-1]
            if shown != value and shown:
                forms.add(shown)
    return forms


class FleetModule(AnsibleModule):
    """AnsibleModule whose invocation log also masks nested no_log values as str() shows them."""

    def _log_invocation(self):
        self.no_log_values.update(escaped_forms(self.no_log_values))
        super()._log_invocation()
