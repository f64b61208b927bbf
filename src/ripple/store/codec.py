"""The write path's item codec: a user's item as canonical attribute-value JSON, the form items are
stored in and stream records carry.

Canonical means keys sorted at every level and sets sorted, so equal items give equal bytes (a put
of an unchanged item is recognised by comparing bytes). The common shapes go through the compiled
``ripple.store._codec`` when it was built at install time; everything else, and everything when it
was not built, goes through :mod:`ripple.store.values`. Both give the same bytes
(``tests/test_codec.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ripple.errors import ValidationError
from ripple.store import values as vals

try:
    from ripple.store._codec import encode_item as _compiled_item
    from ripple.store._codec import encode_keys

    COMPILED = True
except ImportError:  # built without a C compiler: the Python path does everything
    COMPILED = False

    def _compiled_item(item: Any) -> bytes | None:
        return None

    def encode_keys(item: Any, names: tuple[str, ...]) -> bytes | None:
        """The attribute-value JSON of ``item``'s attributes ``names`` (in that order), or None
        when the caller must take the validating path."""
        return None


def encode_item(item: Mapping[str, Any]) -> bytes:
    """A user's item, validated, as canonical attribute-value JSON bytes.

    Raises ValidationError naming the bad attribute (a wrong type, an empty set, an invalid number,
    nesting deeper than 32, ...) and ItemTooLarge over DynamoDB's 400 KB. Pure: nothing is written.
    """
    raw = _compiled_item(item)
    if raw is None:
        raw = dumps_av(vals.item_to_av_checked(item))
    if len(raw) > vals.MAX_ITEM_SIZE:
        # The JSON is never shorter than DynamoDB's size of the item: only long JSON needs the exact size.
        vals.check_item_size(vals.normalize_item(item))
    return raw


def dumps_av(av: dict[str, Any]) -> bytes:
    """Attribute-value JSON (an item's, validated) as canonical bytes. Raises ValidationError naming
    the attribute when a string holds a lone surrogate, which has no UTF-8 form."""
    try:
        return orjson.dumps(av, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        for name, value in av.items():
            try:
                orjson.dumps({name: value})
            except orjson.JSONEncodeError:
                raise ValidationError(
                    f"One or more parameter values were invalid: attribute {name!r} is not valid UTF-8 "
                    "(it holds a lone surrogate)"
                ) from None
        raise
