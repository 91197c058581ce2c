"""What the bad-input matrices check in each result, and the figures they write (no tests here).

A case is ``(case_id, args, option)`` (the libvirt matrix adds task keywords). ``option`` is the option path the
message must start with (``containers[web].ports[0]: ...``), or ``ANSIBLE_UNSUPPORTED + path`` /
``ANSIBLE_TYPE + option`` / ``ANSIBLE_CHOICES + option`` for the messages Ansible's own argument spec writes
(they name the option and what it takes, in Ansible's words).

Each matrix writes ``tests/output/bad-input/<matrix>.json``: per module, per case, whether it failed, whether the
message is clear (names the option and what is accepted), whether it ends in a traceback, and whether the state
the matrix inspects changed. ``python tests/integration/bad_input.py`` prints the table of every matrix written,
and the integration session prints it at its end (conftest.py).
"""
import json
import os
import sys

ANSIBLE_UNSUPPORTED = "ansible-unsupported:"
ANSIBLE_TYPE = "ansible-type:"
ANSIBLE_CHOICES = "ansible-choices:"
ANSIBLE_REQUIRED = "ansible-required:"

# a message says what is accepted with one of these
ACCEPTED_WORDS = ("accepted", "expected", "force: true")
OUTPUT = os.path.join(os.path.dirname(__file__), "..", "output", "bad-input")
TRACEBACK_MARKS = ("Traceback (most recent call last)", "MODULE FAILURE")


def traceback_of(result):
    """The part of a result that shows an unhandled exception, or None."""
    for key in ("module_stderr", "module_stdout", "exception", "msg"):
        text = result.get(key)
        if isinstance(text, str):
            if any(mark in text for mark in TRACEBACK_MARKS):
                return text[-2000:]
            if key == "msg" and "Module failed:" in text:  # ansible-core 2.21 hides the traceback
                return text
    return None


def clear(result, option):
    """Whether the failed result's message names ``option`` and what is accepted (Ansible's own forms too)."""
    msg = result.get("msg")
    if not result.get("failed") or not isinstance(msg, str):
        return False
    if option.startswith(ANSIBLE_UNSUPPORTED):
        path = option[len(ANSIBLE_UNSUPPORTED):]
        return "Unsupported parameters" in msg and path in msg and "Supported parameters include" in msg
    if option.startswith(ANSIBLE_TYPE):
        # "argument 'all' is of type <class 'str'> ... unable to convert to bool: ... Valid booleans include ..."
        name = option[len(ANSIBLE_TYPE):].split(".")[-1]
        return ("argument '%s'" % name in msg or "option '%s'" % name in msg) and "unable to convert to" in msg
    if option.startswith(ANSIBLE_CHOICES):
        name = option[len(ANSIBLE_CHOICES):]
        return ("value of %s must be one" % name.split(".")[-1]) in msg
    if option.startswith(ANSIBLE_REQUIRED):
        name = option[len(ANSIBLE_REQUIRED):]
        return "missing" in msg and name in msg
    return msg.startswith(option + ":") and any(word in msg for word in ACCEPTED_WORDS)


def figures(cases, results, left_behind):
    """Per case: id, option, failed, clear, traceback, left_behind (case ids whose run changed the state)."""
    rows = []
    for case, result in zip(cases, results):
        case_id, option = case[0], case[-1]
        rows.append({"case": case_id, "option": option, "failed": result.get("failed") is True,
                     "clear": clear(result, option), "traceback": traceback_of(result) is not None,
                     "left_behind": case_id in left_behind, "msg": str(result.get("msg"))[:400]})
    return rows


def attribute(cases, run_one, state, before, after, reset):
    """Case ids that changed the state: only looked for when the whole run changed it (then one run per case,
    each after ``reset()`` removed what the earlier runs added)."""
    if after == before:
        return set()
    changed = set()
    for case in cases:
        reset()
        start = state()
        run_one(case)
        if state() != start:
            changed.add(case[0])
    reset()
    return changed


def write(matrix, per_module):
    """Write tests/output/bad-input/<matrix>.json: {module: [row, ...]}."""
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, matrix + ".json"), "w") as handle:
        json.dump(per_module, handle, indent=1, sort_keys=True)


def table(directory=OUTPUT):
    """The figures of every matrix written, one line per module."""
    lines = ["%-18s %6s %6s %12s %10s" % ("module", "tried", "clear", "left-behind", "tracebacks")]
    if not os.path.isdir(directory):
        return ""
    totals = [0, 0, 0, 0]
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as handle:
            per_module = json.load(handle)
        for module in sorted(per_module):
            rows = per_module[module]
            counts = [len(rows), sum(r["clear"] for r in rows), sum(r["left_behind"] for r in rows),
                      sum(r["traceback"] for r in rows)]
            totals = [a + b for a, b in zip(totals, counts)]
            lines.append("%-18s %6d %6d %12d %10d" % tuple([module] + counts))
    lines.append("%-18s %6d %6d %12d %10d" % tuple(["total"] + totals))
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1] if len(sys.argv) > 1 else OUTPUT))
