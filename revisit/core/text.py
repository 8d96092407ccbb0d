"""Text made safe for where it goes out: a terminal, or a message that may be read by anyone.

Visitor text (paths, user agents) and list text (names from the account CSV, RDAP answers) reach the
console through ``revisit replay``, ``history``, ``explain`` and ``accounts lint``. A terminal acts on
control characters: ``ESC [2J`` clears the screen, ``ESC ]0;…BEL`` sets the window title, a carriage
return overwrites a line and bidirectional overrides reorder what is shown. ``printable`` replaces
them, so a salesperson sees what was sent, not what it asked the terminal to do.

Database URLs carry passwords in two forms, ``scheme://user:password@host`` and
``?password=…`` in the query string (libpq reads both). ``without_credentials`` masks both in any
message, whichever URL it quotes (``--db`` on the command line is not in the settings).
"""

from __future__ import annotations

import re
import unicodedata

MASK = "***"
REPLACEMENT = "\ufffd"  # visible where a control character was, so tampering shows
# Explicit bidirectional embeddings, overrides and isolates (the "Trojan Source" characters).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# The userinfo password of any URL: scheme://user:PASSWORD@host
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)(?P<secret>[^\s/?#@]+)(?=@)")
# Query or key=value parameters naming a secret: password=, sslpassword=, passwd=, pwd=, token=, secret=.
# The value ends before a space, a parameter separator or quote; punctuation closing a sentence
# after it (``…?password=x: cannot``) stays.
_SECRET_PARAMETER = re.compile(
    r"(?P<head>(?<![A-Za-z0-9_])[A-Za-z_]*(?:password|passwd|pwd|secret|token)\s*=\s*)"
    r"(?P<secret>[^\s&;'\"]*[^\s&;'\":,.)\]])",
    re.IGNORECASE,
)


def printable(text: str) -> str:
    """One line a terminal shows as it is: control characters (C0 including newline and tab, DEL,
    C1) and bidirectional controls become U+FFFD."""
    return "".join(REPLACEMENT if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS else ch for ch in text)


def json_for_terminal(text: str) -> str:
    """JSON text with the controls ``json.dumps(ensure_ascii=False)`` leaves raw (DEL, C1 and the
    bidirectional ones) written as ``\\u`` escapes (``\\u202e``): the same data for a parser, inert on a terminal,
    Japanese still readable. C0 in its output is only the layout's newlines: strings escape C0."""
    return "".join(
        f"\\u{ord(ch):04x}" if (ch >= "\x7f" and unicodedata.category(ch) == "Cc") or ch in _BIDI_CONTROLS else ch
        for ch in text
    )


def without_credentials(text: str) -> str:
    """``text`` with the password of every URL in it and every ``password=``-style value masked."""
    masked = _URL_PASSWORD.sub(lambda match: match["head"] + MASK, text)
    return _SECRET_PARAMETER.sub(lambda match: match["head"] + MASK, masked)
