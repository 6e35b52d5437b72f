"""API keys: parse API_KEYS / API_KEYS_FILE into hashes, and tell which key a token is.

An entry is `[name=]secret`, where secret is the key itself or `sha256:<64 hex digits>`
(its hash, so a keys file need not hold the key). Entries are separated by commas or
new lines; `#` starts a comment in a file. Only SHA-256 hashes are kept in memory. A
token is hashed and compared with every entry in constant time (hmac.compare_digest),
with no early exit, so timing does not tell how close a guess was.

The name is who owns a request (store: ChatRecord.owner). Rotation: give the new key the
same name as the old one, keep both listed while clients move over, then remove the old:
requests made with either key stay readable by both. An entry without a name is named
after its hash (`key-<12 hex>`), so it owns its requests alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

MIN_KEY_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HASH = re.compile(r"^sha256:([0-9a-fA-F]{64})$")


class ApiKeyError(ValueError):
    """An entry cannot be used; the message says which and why (never the key itself)."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: bytes  # SHA-256 of the key


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_entries(text: str, *, source: str) -> list[ApiKey]:
    """The keys in `text`; ApiKeyError names `source` (API_KEYS or the file) and the entry number."""
    keys: list[ApiKey] = []
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    entries = [entry.strip() for line in lines for entry in line.split(",") if entry.strip()]
    for number, entry in enumerate(entries, start=1):
        name, sep, secret = entry.partition("=")
        if not sep:
            name, secret = "", entry
        name, secret = name.strip(), secret.strip()
        if name and not _NAME.match(name):
            raise ApiKeyError(f"{source}: entry {number} has a bad name (use letters, digits, '_', '.', '-')")
        hashed = _HASH.match(secret)
        if hashed:
            key_digest = bytes.fromhex(hashed.group(1))
        elif secret.startswith("sha256:"):
            raise ApiKeyError(f"{source}: entry {number} starts with sha256: but is not 64 hex digits")
        elif len(secret) < MIN_KEY_LENGTH:
            raise ApiKeyError(
                f"{source}: entry {number} is shorter than {MIN_KEY_LENGTH} characters; "
                "make one with `learninngest api-key`"
            )
        else:
            key_digest = digest(secret)
        keys.append(ApiKey(name=name or f"key-{key_digest.hex()[:12]}", digest=key_digest))
    return keys


def load_keys(api_keys: str | None, api_keys_file: str | None) -> list[ApiKey]:
    """Every key from API_KEYS and API_KEYS_FILE (both may be set); [] means auth is off."""
    keys = parse_entries(api_keys or "", source="API_KEYS")
    if api_keys_file:
        path = Path(api_keys_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ApiKeyError(f"API_KEYS_FILE: cannot read {path}: {exc.strerror}") from None
        file_keys = parse_entries(text, source=f"API_KEYS_FILE ({path})")
        if not file_keys:
            raise ApiKeyError(f"API_KEYS_FILE: {path} holds no key; add one, or unset API_KEYS_FILE")
        keys += file_keys
    return keys


class KeyRing:
    """The valid keys; empty means authentication is off (dev mode)."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = tuple(keys)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def owner_of(self, token: str) -> str | None:
        """The name of the key `token` is, or None. Looks at every key whatever matches."""
        presented = digest(token)
        found: str | None = None
        for key in self._keys:
            if hmac.compare_digest(presented, key.digest) and found is None:
                found = key.name
        return found


def new_key_line(name: str = "client") -> tuple[str, str]:
    """A fresh random key and the line that lets it in without storing it."""
    key = secrets.token_urlsafe(32)
    return key, f"{name}=sha256:{digest(key).hex()}"
