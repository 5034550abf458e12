"""Redaction, ground floor: keep credentials out of every record before it is stored or logged.

Records carry text the chaos engine did not write: a task's exception (``requests`` puts the URL in
``HTTPError``), a template rendered against the task's context, what a check observed. This module
hides, in any text or JSON value:

- the userinfo of a URL (``https://user:pass@host`` -> ``https://***@host``: a user name can be a token);
- every URL query value (``?api_key=k&page=2`` -> ``?api_key=***&page=***``), whatever its name;
- the value after a sensitive name (:func:`sensitive_name`) written as a header (``Authorization: Bearer x``),
  a parameter (``password=x``), a dict or JSON entry (``'X-Api-Key': 'x'``), and a whole ``Cookie:`` line;
- in JSON, every value under a sensitive key.

It knows nothing of Airflow (DESIGN §2). The values Airflow knows to be secret (connection
passwords, secret Variables, ``mask_secret`` registrations) are hidden in the Airflow layer, by
Airflow's own secrets masker (:mod:`airflow_chaos.operators.records`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

REDACTED = "***"

_SENSITIVE_PARTS = ("authoriz", "authent", "cookie", "token", "secret", "passw", "credential", "apikey")
_SENSITIVE_TOKENS = frozenset({"auth", "key", "pwd", "pass", "bearer"})
_NOT_A_NAME_SUFFIXES = frozenset({"error", "exception", "warning"})  # KeyError: 'price' names no secret
_NAME_TOKENS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}://)(?P<userinfo>[^\s/?#@'\"<>]+)@")
_QUERY = re.compile(r"(?P<lead>[?&](?P<name>[^\s=&#?'\"<>]+)=)(?P<value>[^\s&#'\"<>]+)")
_COOKIE_LINE = re.compile(r"(?im)^(?P<lead>[ \t]*(?:set-)?cookie[ \t]*:[ \t]*)(?P<value>[^\r\n]+)")
_PAIR = re.compile(
    r"(?<![\w.-])(?P<q>['\"]?)"
    r"(?P<name>(?=[A-Za-z_])[\w.-]{0,64}?(?:auth|cookie|token|secret|passw|pwd|credential|key|pass|bearer)[\w.-]{0,64})"
    r"(?P=q)(?P<sep>[ \t]*[:=][ \t]*)"
    r"(?P<value>'[^'\n]*'|\"[^\"\n]*\"|(?:(?:bearer|basic|token|digest|negotiate|bot)[ \t]+)?[^\s,;&'\"(){}\[\]=]+)",
    re.IGNORECASE,
)
_AUTH_SCHEME = re.compile(r"^(?:bearer|basic|token|digest|negotiate|bot)[ \t]+", re.IGNORECASE)
_PAIR_HINT = re.compile(r"auth|cookie|token|secret|pass|pwd|credential|key|bearer", re.IGNORECASE)
_ANY_HINT = re.compile(r"[@=]|auth|cookie|token|secret|pass|pwd|credential|key|bearer", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def sensitive_name(name: str) -> bool:
    """Whether a header, parameter or field called ``name`` holds a secret.

    ``Authorization``, ``Cookie`` and names containing ``token``, ``secret``, ``passw``, ``credential``
    or the word ``key`` / ``auth`` / ``pwd`` (``X-Api-Key``, ``apiKey``, ``client_secret``, ``db_password``);
    not ``KeyError``, ``missing_keys`` or ``monkey``.
    """
    tokens = [t.lower() for t in _NAME_TOKENS.findall(name)]
    if not tokens or tokens[-1] in _NOT_A_NAME_SUFFIXES:
        return False
    joined = "".join(tokens)
    return any(part in joined for part in _SENSITIVE_PARTS) or any(t in _SENSITIVE_TOKENS for t in tokens)


class _Scan:
    """One pass over a text: the redacted text, and the secret values it hid (for a masker to learn)."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def userinfo(self, match: re.Match[str]) -> str:
        info = match["userinfo"]
        self.found.extend([info, *info.split(":", 1)])
        return f"{match['scheme']}{REDACTED}@"

    def query(self, match: re.Match[str]) -> str:
        if sensitive_name(match["name"]):
            self.found.append(match["value"])
        return f"{match['lead']}{REDACTED}"

    def cookie(self, match: re.Match[str]) -> str:
        self.found.append(match["value"])
        return f"{match['lead']}{REDACTED}"

    def pair(self, match: re.Match[str]) -> str:
        value = match["value"]
        head = match.group(0)[: match.start("value") - match.start()]
        if not sensitive_name(match["name"]):
            return head + self.text(value)  # the value may hold a sensitive pair of its own
        quote = value[0] if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) > 1 else ""
        bare = value[1:-1] if quote else value
        if bare and bare != REDACTED:
            self.found.extend([bare, _AUTH_SCHEME.sub("", bare)])
        return f"{head}{quote}{REDACTED}{quote}"

    def text(self, text: str) -> str:
        # each pass only where its anchor occurs: most strings of a record (ids, kinds, counts) skip them all
        if "@" in text:
            text = _USERINFO.sub(self.userinfo, text)
        if "=" in text:
            text = _QUERY.sub(self.query, text)
        if _PAIR_HINT.search(text):
            text = _COOKIE_LINE.sub(self.cookie, text)
            text = _PAIR.sub(self.pair, text)
        return text


def redact_text(text: str) -> str:
    """``text`` with URL userinfo, URL query values and values after sensitive names replaced by ``***``."""
    return _Scan().text(text) if _ANY_HINT.search(text) else text


def sensitive_values(text: str) -> list[str]:
    """The secrets :func:`redact_text` hides in ``text`` under a sensitive name or in a URL's userinfo.

    Query values under plain names (``page=2``) are redacted in records but not listed here: a masker
    that hides them everywhere would hide ordinary words.
    """
    scan = _Scan()
    scan.text(text)
    return [value for value in dict.fromkeys(scan.found) if value and value != REDACTED]


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _hide(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_hide(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return REDACTED


def redact_json(value: Any) -> Any:
    """A copy of a JSON value with every string passed through :func:`redact_text` and every value
    under a sensitive key (:func:`sensitive_name`) replaced by ``***`` (``None`` and booleans kept)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _hide(v) if isinstance(k, str) and sensitive_name(k) else redact_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_json(v) for v in value]
    return value
