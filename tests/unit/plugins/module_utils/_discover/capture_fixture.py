"""Capture a discovery fixture on a real systemd host (run as root on the lab guest).

Usage: PYTHONPATH=<dir holding ansible_collections> python3 capture_fixture.py [--include-all] OUT.json [UNIT ...]

Runs the real discovery twice, with the default selection (and include_all
when asked) and with the given units, through one recording reader and
runner, and writes every file, link and command output it used to OUT.json.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from discover_replay import RecordingReader, recording_run  # noqa: E402

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.collect import Discovery  # noqa: E402


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C", SYSTEMD_COLORS="0"),
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


def main():
    args = sys.argv[1:]
    include_all = "--include-all" in args
    args = [a for a in args if a != "--include-all"]
    out = args[0]
    units = args[1:] or None
    reader = RecordingReader("/")
    calls = []
    which_log = {}

    def which(name):
        which_log[name] = shutil.which(name)
        return which_log[name]

    Discovery(recording_run(calls, run), reader, which).discover(include_all=include_all)
    if units:
        Discovery(recording_run(calls, run), reader, which).discover(services=units)
    capture = dict(reader.log)
    capture.update({"run": calls, "which": which_log, "clock_ticks": os.sysconf("SC_CLK_TCK"), "services": units,
                    "include_all": include_all})
    with open(out, "w") as handle:
        json.dump(capture, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
