"""TransactWriteItems on the embedded store: up to 100 conditional puts, updates, deletes and
condition checks over any tables, all applied in one SQLite transaction or none.

Every condition is evaluated against the items as they stand before any action applies (DynamoDB's
rule: the actions of one transaction never see each other), and a failed one cancels the whole
transaction with a reason per action. Each applied write appends its stream record, as a single
write would; a write that changes nothing appends none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ripple.errors import TransactionCanceled, ValidationError
from ripple.store import codec
from ripple.store import expressions as ex
from ripple.store import values as vals

if TYPE_CHECKING:
    from ripple.store.embedded.tables import EmbeddedTables, _Table

MAX_ACTIONS = 100
MAX_BYTES = 4 * 1024 * 1024  # DynamoDB's aggregate size limit for one transaction
_KINDS = {"put": "item", "update": "key", "delete": "key", "check": "key"}
_OPTIONS = {"table", "item", "key", "update", "condition", "names", "values", "return_old_on_failure"}


@dataclass
class _Action:
    kind: str
    table: str
    body: dict[str, Any]  # the item (put) or the key
    cond: Any
    upd: Any
    want_old: bool
    raw: bytes | None = None  # a put's canonical attribute-value JSON


#: Per kind, the fields it must not have (a put takes an item, the others a key, only an update an
#: expression): computed once, the checks below are set operations on the request's keys.
_MISPLACED = {
    kind: frozenset({"item", "key", "update"} - {field, "update" if kind == "update" else field})
    for kind, field in _KINDS.items()
}


def _parse(index: int, action: Any) -> _Action:
    # The first checks skip the ABC isinstance (a plain dict is what every caller passes) and
    # format the action's position only for a message: this runs once per action of every
    # transaction.
    if (
        (type(action) is not dict and not isinstance(action, Mapping))
        or len(action) != 1
        or next(iter(action)) not in _KINDS
    ):
        raise ValidationError(
            f"transact_write action {index} must be one of {{'put'|'update'|'delete'|'check': {{...}}}}, not {action!r}"
        )
    kind, spec = next(iter(action.items()))
    where = f"transact_write action {index}"
    if type(spec) is not dict and not isinstance(spec, Mapping):
        raise ValidationError(f"{where} ({kind}) must be a mapping, not {type(spec).__name__}")
    keys = spec.keys()
    if not keys <= _OPTIONS:
        raise ValidationError(f"{where} ({kind}): unknown option(s) {', '.join(sorted(set(spec) - _OPTIONS))}")
    field = _KINDS[kind]
    if "table" not in spec or field not in spec:
        raise ValidationError(f"{where} ({kind}) needs 'table' and '{field}'")
    if not keys.isdisjoint(_MISPLACED[kind]):
        raise ValidationError(f"{where} ({kind}) does not take {', '.join(sorted(_MISPLACED[kind] & set(spec)))}")
    if kind == "update" and "update" not in spec:
        raise ValidationError(f"{where} (update) needs an 'update' expression")
    if kind == "check" and "condition" not in spec:
        raise ValidationError(f"{where} (check) needs a 'condition'")
    names = None if spec.get("names") is None else dict(spec["names"])
    values = None if spec.get("values") is None else dict(spec["values"])
    cond = ex.compile_condition(spec["condition"], names, values) if spec.get("condition") is not None else None
    upd = ex.compile_update(spec["update"], names, values) if kind == "update" else None
    ex.check_unused(names, values, *[c for c in (cond, upd) if c is not None])
    want_old = bool(spec.get("return_old_on_failure"))
    if kind == "put":
        # One validating pass to attribute-value JSON, as put_item does.
        return _Action(kind, spec["table"], spec[field], cond, upd, want_old, raw=codec.encode_item(spec[field]))
    return _Action(kind, spec["table"], vals.normalize_item(spec[field]), cond, upd, want_old)


def transact_write(tables: EmbeddedTables, actions: Sequence[Mapping[str, Any]]) -> None:
    """Apply ``actions`` atomically. Raises ValidationError (malformed input, more than 100
    actions, two actions on one item, over 4 MB), NotFound (a table), ItemTooLarge, or
    TransactionCanceled with one reason per action when a condition fails; nothing is written
    in any of those cases."""
    if not isinstance(actions, Sequence) or isinstance(actions, str | bytes):
        raise ValidationError("transact_write takes a list of actions")
    if not 1 <= len(actions) <= MAX_ACTIONS:
        raise ValidationError(f"transact_write takes 1 to {MAX_ACTIONS} actions, not {len(actions)}")
    parsed = [_parse(i, a) for i, a in enumerate(actions)]
    size = sum(len(a.raw) for a in parsed if a.raw is not None)
    if size > MAX_BYTES:
        raise ValidationError(f"Transaction request exceeds the {MAX_BYTES} bytes limit ({size} bytes of items)")
    with tables._db.write() as con:
        loaded: dict[str, _Table] = {}
        keyed = []
        for a in parsed:
            t = loaded.get(a.table) or loaded.setdefault(a.table, tables._load(con, a.table))
            if a.kind == "put":
                hk, rk, record_keys = t.put_keys(a.body)
            else:
                hk, rk = t.encode(a.body, exact=True)
                record_keys = t.keys_json(a.body)
            if a.upd is not None:
                a.upd.check_keys(t.key_names)
            keyed.append((a, t, hk, rk, record_keys))
        keys = [(t.id, hk, rk) for _, t, hk, rk, _ in keyed]
        if len(set(keys)) != len(keys):
            raise ValidationError("Transaction request cannot include multiple operations on one item")
        olds = tables._olds(con, keys)
        reasons: list[dict[str, Any]] = []
        for (a, *_), key in zip(keyed, keys, strict=True):
            # A condition decodes only the attributes it reads (a view item's version, not its
            # hundreds of games), unless the old item is to be returned with a failure.
            only = None if a.want_old or a.cond is None else a.cond.attributes
            old = tables._old_item(olds.get(key), a.cond is not None, only)
            if a.cond is not None and not a.cond.evaluate(old):
                reason: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                if a.want_old and old is not None:
                    reason["Item"] = old
                reasons.append(reason)
            else:
                reasons.append({"Code": "None"})
        if any(r["Code"] != "None" for r in reasons):
            raise TransactionCanceled(reasons)
        changes = []
        for (a, t, hk, rk, record_keys), key in zip(keyed, keys, strict=True):
            old_raw = olds.get(key)
            if a.kind == "check":
                continue
            if a.kind == "put":
                new_raw = a.raw
            elif a.kind == "delete":
                new_raw = None
            else:
                old = tables._old_item(old_raw, True)
                base = dict(old) if old is not None else dict(a.body)
                new_raw = codec.encode_item(vals.normalize_item(a.upd.apply(base)))
            changes.append((t, hk, rk, record_keys, old_raw, new_raw))
        tables._write(con, changes)
