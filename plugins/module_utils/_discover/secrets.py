# -*- coding: utf-8 -*-
# Copyright: hybridops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeping secret values out of discovery results.

A value is secret when its variable or option name looks like one (PASSWORD,
SECRET, TOKEN, KEY, PAT, PW, ...), when it is the password (or a token used as
the user) of a URL, a ``password=``/``Pwd=`` pair of a connection string or
query string, the credential of an ``Authorization:`` header, or the value of
an option that a known program takes as a password (``mysql -pSECRET``,
``sshpass -p SECRET``, ``curl -u user:SECRET``). Options are program-specific:
``-p`` is a password only for the programs listed in ``_PASSWORD_OPTIONS``
(``docker run -p 8080:80``, ``mkdir -p`` and ``ssh -p 22`` are left alone).
Such values are replaced by ``MARKER`` where they are found, collected, and
finally scrubbed from every string of the whole result (so a secret that also
appears in an argv, a description or a path is removed there too).
"""

from __future__ import annotations

import os
import re
import shlex

MARKER = "********"
# matched against upper-cased names; KEY alone would also match MONKEY, which is
# acceptable: over-redacting is the safe side. PAT and PW only as whole parts
# (GITHUB_PAT, --pw), so that PATH and PWM are not secrets.
_SECRET_NAME = re.compile(r"PASS(WORD|WD|PHRASE)?|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|COOKIE|SALT|PWD"
                          r"|(^|[_.])(PAT|PW)($|[_.])")
# PWD/OLDPWD are the shell's working directory, not passwords
_NOT_SECRET = frozenset(("PWD", "OLDPWD", "KEYMAP", "XKBLAYOUT"))
# only values at least this long are scrubbed as substrings; shorter secrets are
# replaced only where a whole string equals them (scrubbing "1" everywhere would
# garble the result without protecting anything)
MIN_SCRUB = 3
# values of secret-named settings that are settings, not secrets (--auth=none):
# recording them would scrub every "none" of the result
_NOT_SECRET_VALUES = frozenset(("none", "true", "false", "yes", "no", "on", "off", "null", "required", "optional",
                                "disabled", "enabled", "md5", "trust", "peer", "scram-sha-256", "basic", "digest",
                                "plain", "login", "ldap", "pam"))

_REFERENCE_NAME = re.compile(r"(FILE|PATH|DIR|DIRECTORY)$")
# settings about authentication, not credentials (mongodb's authSource=admin)
_AUTH_SETTING = re.compile(r"(^|_)AUTH_?(SOURCE|MECHANISM|METHOD|TYPE|MODE|DB|DATABASE|PROVIDER|PLUGIN|URL|URI|HOST"
                           r"|PORT|SERVER|ENDPOINT|ENABLED|REQUIRED)$|^AUTHORS?$")

# scheme://USERINFO@host: everything up to the last "@" of the authority, so a
# password containing "@" is masked whole
_URL_AUTHORITY = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<authority>[^\s/?#\"']*)")
# a URL user without a password is a token when it looks like one (git over
# https with a personal access token); short names (git@, admin@) are users
_TOKEN_PREFIX = re.compile(r"^(gh[pousr]_|github_pat_|glpat-|xox[abpr]-|sk-|AKIA)")
# key=value inside a string: query strings (?access_token=x&), JDBC URLs
# (;password=x), ODBC/ADO.NET connection strings (Password=x; Pwd={x}),
# -Dfoo.password=x in JAVA_OPTS; the key starts the string or follows a separator
_PAIR = re.compile(r"(?<![^\s?&;,(\[{])(?P<key>-{0,2}[A-Za-z_][A-Za-z0-9_.\-]*)(?P<eq>\s*=\s*)"
                   r"(?P<value>\{[^}]*\}|\"[^\"]*\"|'[^']*'|[^\s;&\"']+)")
# ADO.NET/ODBC connection strings: Password= and Pwd= run to the next ";" (spaces included)
_CONNECTION_PASSWORD = re.compile(r"(?i)(?P<head>(?:^|;)\s*(?:password|pwd)\s*=\s*)(?P<value>\{[^}]*\}|[^;]+)")
_HEADER = re.compile(r"(?i)(?P<head>\b(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|token|digest|negotiate|bot)\s+)?"
                     r"|\b(?:x-api-key|api-key|apikey|x-auth-token|x-access-token|private-token|job-token"
                     r"|x-vault-token)\s*:\s*)(?P<value>[^\s\"',;]+)")
_HEADER_WORD = re.compile(r"(?i)^(proxy-)?authorization:$|^(x-api-key|api-key|apikey|x-auth-token|x-access-token"
                          r"|private-token|job-token|x-vault-token):$")
_AUTH_SCHEMES = frozenset(("bearer", "basic", "token", "digest", "negotiate", "bot"))

_MYSQL = ("mysql", "mysqldump", "mysqladmin", "mysqlcheck", "mysqlimport", "mysqlshow", "mysqlpump", "mysqlslap",
          "mysqlbinlog", "mariadb", "mariadb-dump", "mariadb-admin", "mariadb-check", "mariadb-import",
          "mariadb-show", "mariadb-slap", "mariadb-binlog")
_MONGO = ("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop",
          "mongofiles")
_LDAP = ("ldapsearch", "ldapmodify", "ldapadd", "ldapdelete", "ldapwhoami", "ldappasswd", "ldapcompare",
         "ldapmodrdn", "ldapexop")
_LOGIN = ("docker", "podman", "nerdctl", "buildah", "skopeo", "helm", "oc")


def _password_options(*rows):
    table = {}
    for names, separate, attached in rows:
        for name in names:
            table[name] = (frozenset(separate), attached)
    return table


# program -> (options followed by a password, options with the password attached)
# mysql's "-p WORD" is a prompt and a database name, so only "-pSECRET" counts
_PASSWORD_OPTIONS = _password_options(
    (_MYSQL, (), ("-p",)),
    (("sshpass",), ("-p",), ("-p",)),
    (_MONGO, ("-p",), ()),
    (("redis-cli", "keydb-cli"), ("-a",), ()),
    (_LDAP, ("-w",), ()),
    (("sqlcmd", "bcp", "ipmitool", "zip", "unzip"), ("-P",), ()),
    (("7z", "7za", "7zr", "rar", "unrar"), (), ("-p",)),
    (tuple(n + " login" for n in _LOGIN), ("-p",), ()),
)
# program -> (options followed by USER<sep>PASSWORD, sep)
_USERPASS_OPTIONS = {
    "curl": (frozenset(("-u", "--user", "-U", "--proxy-user")), ":"),
    "smbclient": (frozenset(("-U", "--user")), "%"),
}
# commands that run another command: their options that take a value, and how
# many positionals come before the command (timeout 5 CMD, chroot DIR CMD)
_WRAPPERS = {
    "sudo": (frozenset(("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-U")), 0),
    "env": (frozenset(("-u", "-C", "-S")), 0),
    "timeout": (frozenset(("-k", "-s")), 1),
    "nice": (frozenset(("-n",)), 0),
    "ionice": (frozenset(("-c", "-n")), 0),
    "nohup": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "exec": (frozenset(("-a",)), 0),
    "chroot": (frozenset(), 1),
    "runuser": (frozenset(("-u", "-g", "-G")), 0),
    "stdbuf": (frozenset(("-i", "-o", "-e")), 0),
    "sshpass": (frozenset(("-p", "-f", "-d", "-P")), 0),
}
_SEPARATORS = frozenset((";", "&&", "||", "|", "&"))


def is_secret_name(name):
    """True for names like DB_PASSWORD, api-token, SECRET_KEY, GITHUB_PAT, --pw (not KEY_FILE, PWD, PATH)."""
    upper = (name or "").upper().lstrip("-").replace("-", "_")
    if upper in _NOT_SECRET or _REFERENCE_NAME.search(upper) or _AUTH_SETTING.search(upper):
        return False
    return bool(_SECRET_NAME.search(upper))


def _is_path(value):
    return value.startswith("/") and not any(c.isspace() for c in value)


def _hide(value, secrets):
    """MARKER for a secret value (recorded for the final scrub); settings like "none" are kept."""
    if not value or value.lower() in _NOT_SECRET_VALUES or MARKER in value:
        return value
    secrets.add(value)
    return MARKER


def _hide_after(word, sep, secrets):
    """USER<sep>PASSWORD -> USER<sep>MARKER (curl -u user:pw, smbclient -U user%pw)."""
    user, sep, password = word.partition(sep)
    return user + sep + _hide(password, secrets)


def _looks_like_token(user):
    if _TOKEN_PREFIX.match(user):
        return True
    return len(user) >= 16 and any(c.isdigit() for c in user) and any(c.isalpha() for c in user)


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


def _redact_url(match, secrets):
    authority = match.group("authority")
    if "@" not in authority:
        return match.group(0)
    userinfo, host = authority.rsplit("@", 1)
    user, colon, password = userinfo.partition(":")
    if colon and password:
        userinfo = user + ":" + _hide(password, secrets)
    elif not colon and _looks_like_token(user):
        userinfo = _hide(user, secrets)
    return match.group("head") + userinfo + "@" + host


def _redact_connection(match, secrets):
    value = match.group("value").rstrip()
    if _is_path(value):
        return match.group(0)
    inner = value[1:-1] if value.startswith("{") and value.endswith("}") and len(value) > 2 else value
    return match.group("head") + value.replace(inner, _hide(inner, secrets), 1) + match.group("value")[len(value):]


def _redact_pair(match, secrets):
    key, value = match.group("key"), match.group("value")
    secret = is_secret_name(key) or key.upper() == "PWD"  # Pwd= of ODBC connection strings
    if not secret or _is_path(value):
        return match.group(0)
    inner = value[1:-1] if value[:1] in "{\"'" and len(value) > 1 else value
    if not inner:
        return match.group(0)
    masked = _hide(inner, secrets)
    return key + match.group("eq") + (value.replace(inner, masked, 1) if inner != value else masked)


def redact_text(text, secrets):
    """Mask secrets inside a string: URL passwords and token users, secret key=value pairs, auth headers."""
    if not isinstance(text, str):
        return text
    text = _URL_AUTHORITY.sub(lambda m: _redact_url(m, secrets), text)
    text = _CONNECTION_PASSWORD.sub(lambda m: _redact_connection(m, secrets), text)
    text = _HEADER.sub(lambda m: m.group("head") + _hide(m.group("value"), secrets), text)
    return _PAIR.sub(lambda m: _redact_pair(m, secrets), text)


def _command_words(argv):
    """For each word: the command (program basename, or "docker login") it is an argument of, or None."""
    owners = []
    program, expect, values, positionals, sub_seen = None, True, 0, 0, False
    for word in argv:
        if word in _SEPARATORS:
            owners.append(None)
            program, expect, values, positionals = None, True, 0, 0
            continue
        wrapper = _WRAPPERS.get(program) if expect else None
        if values:
            values -= 1
        elif wrapper is not None and (word.startswith("-") or (program == "env" and "=" in word)):
            values = 1 if word in wrapper[0] else 0
        elif wrapper is not None and positionals:
            positionals -= 1
        elif expect:
            program = os.path.basename(word)
            expect = program in _WRAPPERS
            positionals = _WRAPPERS[program][1] if expect else 0
            sub_seen = False
            owners.append(None)
            continue
        elif program in _LOGIN and not sub_seen and not word.startswith("-"):
            sub_seen = True
            if word == "login":
                program += " login"
        owners.append(program)
    return owners


def redact_argv(argv, secrets, _depth=0):
    """Mask secrets in a command line: values of secret-looking options (--password=x, --token x, --pw x,
    -e DB_PASSWORD=x), program-specific password options (mysql -pX, sshpass -p X, curl -u user:X),
    Authorization headers, URLs and connection strings; shell strings (sh -c '...') word by word."""
    result = []
    owners = _command_words(argv)
    pending = None
    for word, owner in zip(argv, owners):
        separate, attached = _PASSWORD_OPTIONS.get(owner, ((), ()))
        userpass, sep = _USERPASS_OPTIONS.get(owner, ((), None))
        if pending is not None:
            kind, pending = pending, None
            if kind == "scheme" and word.lower() in _AUTH_SCHEMES:
                pending = "value"
                result.append(word)
                continue
            if kind in ("value", "scheme") or (kind == "option" and not word.startswith("-")):
                result.append(_hide(word, secrets))
                continue
            if kind == "named" and not word.startswith("-") and not _is_path(word):
                result.append(_hide(word, secrets))
                continue
            if isinstance(kind, tuple) and kind[0] == "userpass" and kind[1] in word:
                result.append(_hide_after(word, kind[1], secrets))
                continue
        if word in separate:
            pending = "option"
            result.append(word)
            continue
        short = [o for o in attached if word.startswith(o) and len(word) > len(o) and not word.startswith("--")]
        if short:
            result.append(short[0] + _hide(word[len(short[0]):], secrets))
            continue
        if word in userpass:
            pending = ("userpass", sep)
            result.append(word)
            continue
        joined = [o for o in userpass if word.startswith(o + "=") or (not o.startswith("--") and word.startswith(o))]
        if joined and sep in word:
            result.append(_hide_after(word, sep, secrets))
            continue
        if _HEADER_WORD.match(word):
            pending = "scheme" if "authorization" in word.lower() else "value"
            result.append(word)
            continue
        if word.startswith("-") and "=" not in word and is_secret_name(word):
            pending = "named"
            result.append(word)
            continue
        name, eq, value = word.partition("=")
        if eq and value and is_secret_name(name) and not _is_path(value):
            result.append(name + "=" + _hide(value, secrets))
            continue
        word = redact_text(word, secrets)
        if _depth < 3 and any(c.isspace() for c in word):
            word = _redact_shell_string(word, secrets, _depth)
        result.append(word)
    return result


def _redact_shell_string(word, secrets, depth):
    """A shell command in one word (sh -c '...', a quoted header): redact its words, keep its spelling."""
    try:
        words = shlex.split(word)
    except ValueError:
        words = word.split()
    found = set()
    masked = redact_argv(words, found, depth + 1)
    secrets.update(found)
    # put each changed word back where it was (quoting kept); a word whose
    # quotes hid it from that search has its secrets replaced instead
    pos = 0
    for before, after in zip(words, masked):
        at = word.find(before, pos)
        if at < 0:
            continue
        if before != after:
            word = word[:at] + after + word[at + len(before):]
        pos = at + len(after)
    for secret in sorted((s for s in found if len(s) >= MIN_SCRUB), key=len, reverse=True):
        word = word.replace(secret, MARKER)
    return word


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
