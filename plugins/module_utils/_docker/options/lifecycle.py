# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option rows: what the container runs and how it lives (command, user, restart, health, logs, stop).

The image's CMD, ENTRYPOINT, HEALTHCHECK, USER and WORKDIR are inherited when the spec
leaves them out; the expected values start from the image's, so an inherited value is never
mistaken for drift.
"""

from __future__ import annotations

import re
import shlex
import signal

from ansible_collections.hybridops.fleet.plugins.module_utils._common import validators
from ansible_collections.hybridops.fleet.plugins.module_utils._common.errors import ValidationError
from ansible_collections.hybridops.fleet.plugins.module_utils._docker.options.base import (
    PAUSE,
    Option,
    cfg,
    clean_path,
    hc,
    image_cfg,
    set_cfg,
    set_hc,
    str_dict,
)

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")

# --------------------------------------------------------------------------- durations

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_DURATION_NS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
DURATION_ACCEPTED = "seconds as a number or a string like 30s, 1m30s, 500ms"


def parse_duration(value, option):
    """'30s', '1m30s', '500ms', 10 (seconds) -> nanoseconds (int)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(option, "%r is not a duration" % (value,), accepted=DURATION_ACCEPTED)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValidationError(option, "%r is negative" % (value,), accepted="a duration >= 0")
        return int(value * 10**9)
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return int(float(text) * 10**9)
    pos = 0
    total = 0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_NS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValidationError(option, "%r is not a duration" % (value,), accepted=DURATION_ACCEPTED)
    return int(total)


def format_duration(nanos):
    """Nanoseconds -> compact string ('30s', '1m30s', '500ms'); 0/None -> None."""
    if not nanos:
        return None
    nanos = int(nanos)
    if nanos % 10**9:
        if nanos % 10**6 == 0:
            return "%dms" % (nanos // 10**6)
        return "%dns" % nanos
    seconds = nanos // 10**9
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts)


def as_argv(value, option):
    """command/entrypoint: list of strings, or a string split like a shell would."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValidationError(
                option,
                "cannot split %r into arguments: %s" % (value, exc),
                accepted="a list of strings or a shell-like string",
            )
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    raise ValidationError(option, "must be a list of strings or a string, got %r" % (value,))


def _expected_entrypoint(d, img):
    # [] is an explicit value: it clears the image's ENTRYPOINT
    if d["entrypoint"] is not None:
        return d["entrypoint"]
    return list(image_cfg(img).get("Entrypoint") or [])


def _expected_command(d, img):
    # the daemon inherits the image's CMD only when neither cmd nor entrypoint is given
    if d["command"]:
        return d["command"]
    if d["entrypoint"]:
        return []
    return list(image_cfg(img).get("Cmd") or [])


# --------------------------------------------------------------------------- healthcheck

HEALTH_KEYS = ("test", "interval", "timeout", "retries", "start_period")
HEALTH_ACCEPTED = (
    "a dict with test (list or shell string; ['NONE'] disables), interval, timeout, "
    "start_period (durations like 10s), retries (int), or disable: true"
)


def normalize_healthcheck(value, spec=None):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError("healthcheck", "must be a dictionary", accepted=HEALTH_ACCEPTED)
    unknown = set(value) - set(HEALTH_KEYS) - {"disable"}
    if unknown:
        raise ValidationError("healthcheck", "unknown keys %s" % ", ".join(sorted(unknown)), accepted=HEALTH_ACCEPTED)
    if value.get("disable"):
        if value.get("test"):
            raise ValidationError("healthcheck", "disable and test are mutually exclusive", accepted=HEALTH_ACCEPTED)
        return {"test": ["NONE"], "interval": 0, "timeout": 0, "retries": 0, "start_period": 0}
    test = value.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    elif isinstance(test, (list, tuple)):
        test = [str(t) for t in test]
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            test = ["CMD"] + test
    elif test is not None:
        raise ValidationError("healthcheck", "test must be a list or a string", accepted=HEALTH_ACCEPTED)
    retries = value.get("retries")
    if retries is not None:
        try:
            retries = int(retries)
        except (TypeError, ValueError):
            raise ValidationError("healthcheck", "retries must be an integer, got %r" % (retries,))
        if retries < 0:
            raise ValidationError("healthcheck", "retries must be >= 0")
    return {
        "test": test or [],
        "interval": parse_duration(value.get("interval"), "healthcheck.interval") or 0,
        "timeout": parse_duration(value.get("timeout"), "healthcheck.timeout") or 0,
        "retries": retries or 0,
        "start_period": parse_duration(value.get("start_period"), "healthcheck.start_period") or 0,
    }


def health_from_api(data):
    if not data:
        return None
    return {
        "test": list(data.get("Test") or []),
        "interval": int(data.get("Interval") or 0),
        "timeout": int(data.get("Timeout") or 0),
        "retries": int(data.get("Retries") or 0),
        "start_period": int(data.get("StartPeriod") or 0),
    }


def merge_healthcheck(desired, image_health):
    """What the daemon stores: the spec's healthcheck with zero fields taken from the image's."""
    image_health = health_from_api(image_health)
    if desired is None:
        return image_health
    if image_health is None:
        return dict(desired)
    merged = dict(desired)
    if not merged["test"]:
        merged["test"] = image_health["test"]
    for key in ("interval", "timeout", "retries", "start_period"):
        if not merged[key]:
            merged[key] = image_health[key]
    return merged


def _expected_health(d, img):
    # a spec without healthcheck means the image's (or none): {} stands for "no healthcheck",
    # so a healthcheck dropped from the spec is drift instead of being left on the container
    return merge_healthcheck(d["healthcheck"], image_cfg(img).get("Healthcheck")) or {}


def health_view(health):
    """Healthcheck in option form (durations as strings) for diffs."""
    if not health:
        return None
    result = {"test": health["test"]}
    for key in ("interval", "timeout", "start_period"):
        if health.get(key):
            result[key] = format_duration(health[key])
    if health.get("retries"):
        result["retries"] = health["retries"]
    return result


def _health_apply(value, body, d=None):
    if value is None:
        return
    body["Healthcheck"] = {
        "Test": value["test"],
        "Interval": value["interval"],
        "Timeout": value["timeout"],
        "Retries": value["retries"],
        "StartPeriod": value["start_period"],
    }


# --------------------------------------------------------------------------- restart policy


def _normalize_restart(value, spec):
    restart = value or "no"
    if restart not in RESTART_POLICIES:
        raise ValidationError("restart_policy", "unknown policy %r" % (restart,), accepted=", ".join(RESTART_POLICIES))
    return restart


def _normalize_retries(value, spec):
    restart = spec.get("restart_policy") or "no"
    if value and restart != "on-failure":
        # 0 (the engine's own value for every other policy) is accepted with any policy
        raise ValidationError("restart_retries", "only applies to restart_policy=on-failure (got %s)" % restart)
    if value is not None:
        value = validators.check_int(value, "restart_retries", minimum=0)
    return int(value or 0)


def _restart_actual(inspect):
    policy = hc(inspect).get("RestartPolicy") or {}
    return policy.get("Name") or "no"


def _restart_retries_actual(inspect):
    policy = hc(inspect).get("RestartPolicy") or {}
    if (policy.get("Name") or "no") != "on-failure":
        return 0
    return int(policy.get("MaximumRetryCount") or 0)


def restart_policy_body(d):
    # "no", never "": the update endpoint reads an empty name as "leave the policy alone"
    return {"Name": d["restart_policy"], "MaximumRetryCount": d["restart_retries"]}


def _restart_apply(value, body, d):
    body["HostConfig"]["RestartPolicy"] = restart_policy_body(d)


def _restart_update(d, body):
    body["RestartPolicy"] = restart_policy_body(d)


# --------------------------------------------------------------------------- logging


def _normalize_log_options(value, spec):
    options = str_dict(value, "log_options")
    if options and not spec.get("log_driver"):
        raise ValidationError("log_options", "needs log_driver (options are specific to a driver)")
    return options or {}


def _log_apply(value, body, d):
    if d["log_driver"]:
        body["HostConfig"]["LogConfig"] = {"Type": d["log_driver"], "Config": d["log_options"] or {}}


def _log_options_match(expected, actual):
    # the engine merges the daemon's default log-opts (daemon.json) into LogConfig: keys the spec
    # does not give are not drift
    return all(actual.get(key) == value for key, value in expected.items())


def _log_options_view(value, img, d):
    if value is None:
        return None
    return dict((k, v) for k, v in sorted(value.items()) if k in (d["log_options"] or {}))


# --------------------------------------------------------------------------- simple scalars


def _normalize_working_dir(value, spec):
    if value is None:
        return None
    if not str(value).startswith("/"):
        raise ValidationError(
            "working_dir",
            "%r is not an absolute path" % (value,),
            accepted="an absolute path in the container, e.g. /srv/app",
        )
    return clean_path(value)


def _normalize_stop_timeout(value, spec):
    if value is None:
        return None
    return int(validators.check_int(value, "stop_timeout", minimum=0))


# --------------------------------------------------------------------------- signals, terminal (family B)

_SIGNALS = dict((sig.name, int(sig)) for sig in signal.Signals if sig.name.startswith("SIG") and "_" not in sig.name)
_SIGNAL_NAMES = dict((number, name) for name, number in sorted(_SIGNALS.items(), reverse=True))


def signal_name(value, option):
    """'KILL', 'sigkill', 'SIGKILL', 9 -> 'SIGKILL' (one spelling for the comparison); None stays None."""
    if value is None or value == "":
        return None
    text = str(value).strip().upper()
    if isinstance(value, bool):
        text = ""
    if text.isdigit() and int(text) in _SIGNAL_NAMES:
        return _SIGNAL_NAMES[int(text)]
    if not text.startswith("SIG"):
        text = "SIG" + text
    if text in _SIGNALS or re.match(r"^SIGRTM(IN|AX)([+-]\d+)?$", text):
        return text
    raise ValidationError(
        option, "%r is not a signal" % (value,), accepted="a signal name (SIGTERM, TERM) or number (15)"
    )


def _expected_stop_signal(d, img):
    # without one the container has the image's STOPSIGNAL (or none: the engine sends SIGTERM)
    if d["stop_signal"] is not None:
        return d["stop_signal"]
    return signal_name(image_cfg(img).get("StopSignal"), "image STOPSIGNAL") or ""


def _config_bool(name, key):
    """A Config boolean; omitted is the engine's false."""
    return Option(
        name,
        dict(type="bool"),
        normalize=lambda v, s: bool(v),
        expected=lambda d, img: d[name],
        actual=lambda i: bool(cfg(i).get(key)),
        apply=lambda v, b, d=None: b.__setitem__(key, True) if v else None,
    )


# --------------------------------------------------------------------------- paused


def _normalize_paused(value, spec):
    if value is None:
        # omitted is the engine's default: not paused (a container paused by hand is unpaused)
        return False
    paused = value
    if not isinstance(paused, bool):
        raise ValidationError("paused", "%r is not a boolean" % (value,), accepted="true or false")
    state = spec.get("state") or "started"
    if paused and state != "started":
        raise ValidationError(
            "paused",
            "true needs state=started (a %s container cannot be paused)" % state,
            accepted="paused: true with state: started, or paused: false with any state",
        )
    return paused


def paused_actual(inspect):
    return bool(((inspect or {}).get("State") or {}).get("Paused"))


ROWS: list[Option] = [
    Option(
        "entrypoint",
        dict(type="raw"),
        normalize=lambda v, s: as_argv(v, "entrypoint"),
        expected=_expected_entrypoint,
        actual=lambda i: list(cfg(i).get("Entrypoint") or []),
        apply=set_cfg("Entrypoint"),
    ),
    Option(
        "command",
        dict(type="raw"),
        normalize=lambda v, s: as_argv(v, "command"),
        expected=_expected_command,
        actual=lambda i: list(cfg(i).get("Cmd") or []),
        apply=set_cfg("Cmd", when=bool),
    ),
    Option(
        "restart_policy",
        dict(type="str", choices=list(RESTART_POLICIES)),
        normalize=_normalize_restart,
        expected=lambda d, img: d["restart_policy"],
        actual=_restart_actual,
        apply=_restart_apply,
        update=_restart_update,
    ),
    Option(
        "restart_retries",
        dict(type="int"),
        normalize=_normalize_retries,
        expected=lambda d, img: d["restart_retries"],
        actual=_restart_retries_actual,
        update=_restart_update,
    ),
    Option(
        "healthcheck",
        dict(
            type="dict",
            options=dict(
                test=dict(type="raw"),
                interval=dict(type="str"),
                timeout=dict(type="str"),
                start_period=dict(type="str"),
                retries=dict(type="int"),
                disable=dict(type="bool", default=False),
            ),
        ),
        normalize=normalize_healthcheck,
        expected=_expected_health,
        actual=lambda i: health_from_api(cfg(i).get("Healthcheck")) or {},
        apply=_health_apply,
        view=lambda v, img, d: health_view(v),
    ),
    Option(
        "user",
        dict(type="str"),
        expected=lambda d, img: d["user"] if d["user"] is not None else (image_cfg(img).get("User") or ""),
        actual=lambda i: cfg(i).get("User") or "",
        apply=set_cfg("User"),
    ),
    Option(
        "working_dir",
        dict(type="str"),
        normalize=_normalize_working_dir,
        expected=lambda d, img: (
            d["working_dir"] if d["working_dir"] is not None else clean_path(image_cfg(img).get("WorkingDir") or "")
        ),
        actual=lambda i: clean_path(cfg(i).get("WorkingDir") or ""),
        apply=set_cfg("WorkingDir"),
    ),
    Option(
        "log_driver",
        dict(type="str"),
        expected=lambda d, img: d["log_driver"],
        actual=lambda i: (hc(i).get("LogConfig") or {}).get("Type") or "",
        apply=_log_apply,
    ),
    Option(
        "log_options",
        dict(type="dict"),
        normalize=_normalize_log_options,
        expected=lambda d, img: d["log_options"] if d["log_driver"] else None,
        actual=lambda i: dict((hc(i).get("LogConfig") or {}).get("Config") or {}),
        match=_log_options_match,
        view=_log_options_view,
    ),
    Option(
        "stop_timeout",
        dict(type="int"),
        normalize=_normalize_stop_timeout,
        expected=lambda d, img: d["stop_timeout"],
        actual=lambda i: cfg(i).get("StopTimeout"),
        apply=set_cfg("StopTimeout"),
    ),
    Option(
        "stop_signal",
        dict(type="str"),
        normalize=lambda v, s: signal_name(v, "stop_signal"),
        expected=_expected_stop_signal,
        actual=lambda i: signal_name(cfg(i).get("StopSignal"), "StopSignal") or "",
        apply=set_cfg("StopSignal"),
        view=lambda v, img, d: v or None,
    ),
    _config_bool("tty", "Tty"),
    _config_bool("interactive", "OpenStdin"),
    # pause/unpause in place (the manager pauses a new or restarted container after starting it)
    Option(
        "paused",
        dict(type="bool"),
        normalize=_normalize_paused,
        expected=lambda d, img: d["paused"],
        actual=paused_actual,
        update_kind=PAUSE,
    ),
    Option(
        "auto_remove",
        dict(type="bool"),
        normalize=lambda v, s: bool(v),
        expected=lambda d, img: d["auto_remove"],
        actual=lambda i: bool(hc(i).get("AutoRemove")),
        apply=set_hc("AutoRemove", lambda v: True, when=bool),
    ),
]
