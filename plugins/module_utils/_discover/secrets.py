# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeping secret values out of discovery results.

A value is secret when its variable or option name looks like one (PASSWORD,
SECRET, TOKEN, KEY, ...) or it is the password part of a URL. Such values are
replaced by ``MARKER`` where they are found, collected, and finally scrubbed
from every string of the whole result (so a secret that also appears in an
argv, a description or a path is removed there too).
"""

from __future__ import annotations

import re

MARKER = "********"
# matched against upper-cased names; KEY alone would also match MONKEY, which is
# acceptable: over-redacting is the safe side.
_SECRET_NAME = re.compile(r"PASS(WORD|WD|PHRASE)?|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|COOKIE|SALT|PWD")
# PWD/OLDPWD are the shell's working directory, not passwords
_NOT_SECRET = frozenset(("PWD", "OLDPWD", "KEYMAP", "XKBLAYOUT"))
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^/:@\s]*:)(?P<password>[^@/\s]+)(?=@)")
# only values at least this long are scrubbed as substrings; shorter secrets are
# replaced only where a whole string equals them (scrubbing "1" everywhere would
# garble the result without protecting anything)
MIN_SCRUB = 3


_REFERENCE_NAME = re.compile(r"(FILE|PATH|DIR|DIRECTORY)$")


def is_secret_name(name):
    """True for names like DB_PASSWORD, api-token, SECRET_KEY (not KEY_FILE, PWD)."""
    upper = (name or "").upper().lstrip("-").replace("-", "_")
    if upper in _NOT_SECRET or _REFERENCE_NAME.search(upper):
        return False
    return bool(_SECRET_NAME.search(upper))


def _is_path(value):
    return value.startswith("/") and not any(c.isspace() for c in value)


def redact_env(pairs, secrets):
    """[(key, value)] -> {key: value or MARKER}; secret values are added to ``secrets``."""
    result = {}
    for key, value in pairs:
        if is_secret_name(key) and value:
            secrets.add(value)
            result[key] = MARKER
        else:
            result[key] = redact_text(value, secrets)
    return result


def redact_text(text, secrets):
    """Mask URL passwords (scheme://user:PASSWORD@host) inside a string."""
    if not isinstance(text, str):
        return text

    def repl(match):
        secrets.add(match.group("password"))
        return match.group("head") + MARKER

    return _URL_PASSWORD.sub(repl, text)


def redact_argv(argv, secrets):
    """Mask values of secret-looking options: --password=x, --token x, -e DB_PASSWORD=x."""
    result = []
    mask_next = False
    for word in argv:
        if mask_next:
            mask_next = False
            if not word.startswith("-") and not _is_path(word):
                secrets.add(word)
                result.append(MARKER)
                continue
        if word.startswith("-") and "=" not in word and is_secret_name(word):
            mask_next = True
            result.append(word)
            continue
        name, sep, value = word.partition("=")
        if sep and value and is_secret_name(name) and not _is_path(value):
            secrets.add(value)
            result.append(name + "=" + MARKER)
            continue
        result.append(redact_text(word, secrets))
    return result


def scrub(obj, secrets):
    """Return ``obj`` with every secret value replaced by MARKER in all strings (keys too)."""
    long_values = sorted((s for s in secrets if s and len(s) >= MIN_SCRUB), key=len, reverse=True)
    exact = set(s for s in secrets if s)

    def clean(value):
        if isinstance(value, str):
            if value in exact:
                return MARKER
            for secret in long_values:
                if secret in value:
                    value = value.replace(secret, MARKER)
            return value
        if isinstance(value, dict):
            return dict((clean(k), clean(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value

    return clean(obj)
