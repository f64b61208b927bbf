"""Name and key rules, as AWS states them. Each check raises a ValidationError naming the bad value."""

from __future__ import annotations

import ipaddress
import re

from ripple.errors import InvalidBucketName, InvalidKey, ValidationError

MAX_KEY_BYTES = 1024

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# DynamoDB table names, Kinesis stream names and SNS topic names share this shape closely enough;
# each caller passes its own length limit.
_RESOURCE_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_bucket_name(name: object) -> str:
    """Return ``name`` if it is a valid S3 bucket name; raise InvalidBucketName otherwise."""
    if not isinstance(name, str):
        raise InvalidBucketName(f"bucket name must be a string, not {type(name).__name__}")
    why = None
    if not 3 <= len(name) <= 63:
        why = "must be 3 to 63 characters long"
    elif not _BUCKET_RE.match(name):
        why = (
            "may contain only lowercase letters, digits, dots and hyphens, "
            "and must begin and end with a letter or digit"
        )
    elif ".." in name:
        why = "must not contain two adjacent dots"
    elif name.startswith(_BAD_PREFIXES):
        why = "must not start with a reserved prefix (xn--, sthree-, amzn-s3-demo-)"
    elif name.endswith(_BAD_SUFFIXES):
        why = "must not end with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)"
    else:
        try:
            ipaddress.IPv4Address(name)
            why = "must not be formatted as an IP address"
        except ValueError:
            pass
    if why:
        raise InvalidBucketName(f"invalid bucket name {name!r}: {why}")
    return name


def check_key(key: object) -> str:
    """Return the object key as ``str`` if it is valid UTF-8 of 1..1024 bytes without NUL.

    Bytes are decoded strictly. Keys are never used as file paths, so ``../`` and absolute paths are
    ordinary (if odd) keys; NUL is refused because S3's XML wire format cannot carry it.
    """
    if type(key) is str and 0 < len(key) <= MAX_KEY_BYTES // 4 and key.isascii() and "\x00" not in key:
        return key  # the common key, valid on sight: ASCII is UTF-8, and short enough in any case
    if isinstance(key, bytes | bytearray | memoryview):
        try:
            key = bytes(key).decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidKey(f"object key {bytes(key)[:60]!r} is not valid UTF-8") from e
    if not isinstance(key, str):
        raise InvalidKey(f"object key must be a string, not {type(key).__name__}")
    if key == "":
        raise InvalidKey("object key must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidKey(f"object key {key[:60]!r} is not valid UTF-8 (it holds a lone surrogate)") from e
    if size > MAX_KEY_BYTES:
        raise InvalidKey(f"object key {key[:40]!r}... is {size} bytes; the limit is {MAX_KEY_BYTES} bytes")
    if "\x00" in key:
        raise InvalidKey(f"object key {key[:60]!r} contains a NUL character")
    return key


def check_resource_name(kind: str, name: object, *, min_len: int = 1, max_len: int = 255) -> str:
    """Table, stream and topic names: letters, digits, ``_ . -``; ``kind`` names the noun in errors."""
    if not isinstance(name, str):
        raise ValidationError(f"{kind} name must be a string, not {type(name).__name__}")
    if not min_len <= len(name) <= max_len:
        raise ValidationError(f"invalid {kind} name {name!r}: must be {min_len} to {max_len} characters long")
    if not _RESOURCE_RE.match(name):
        raise ValidationError(
            f"invalid {kind} name {name!r}: may contain only letters, digits, underscores, dots and hyphens"
        )
    return name
