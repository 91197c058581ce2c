# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Modules that lock the object they change and handle SIGINT/SIGTERM
    DOCUMENTATION = r'''
options:
  lock_timeout:
    description:
      - Seconds to wait for another run that changes the same object (on the host the module runs on) to
        finish. When it does not finish in time the task fails, naming the process that holds the lock,
        and changes nothing.
      - The locks are C(flock) files in C(/run/hybridops-fleet/locks) (mode 0700), or in
        C(hybridops-fleet-UID/locks) under the temporary directory when C(/run) is not writable. The kernel
        releases a lock when its process ends, however it ends.
    type: int
    default: 60
notes:
  - SIGINT, SIGTERM and SIGHUP (for example when ansible-playbook is interrupted, which leaves its module
    process running) do not stop the module half-way. It starts no new step, finishes or undoes the step in
    flight (a replacement container, a rolling temporary, a half-made VM), and fails with a message saying
    what was done. Temporaries a killed run left behind are removed by the next run.
'''
