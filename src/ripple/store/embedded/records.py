"""Kinesis-like streams and SNS-like topics. Their data is their change records: a put or a publish
appends to the change log and nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ripple.errors import Conflict, NotFound, PayloadTooLarge, ValidationError
from ripple.events import kinesis, sns
from ripple.store.base import PutRecordResult, RecordStore, StreamSpec
from ripple.store.names import check_resource_name

MAX_RECORD_BYTES = 1024 * 1024  # data + partition key (Kinesis)
MAX_PUT_RECORDS = 500
MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024
MAX_SHARDS = 1024  # a local sanity bound, not Kinesis's account quota
MAX_MESSAGE_BYTES = 256 * 1024  # SNS, message plus attributes
MAX_RETENTION_HOURS = 8760  # Kinesis: 365 days


def _check_attributes(attributes: Mapping[str, Any] | None) -> dict[str, dict[str, str]]:
    """SNS message attributes: plain strings or numbers, or ``{"Type": ..., "Value": ...}``."""
    out: dict[str, dict[str, str]] = {}
    for name, value in (attributes or {}).items():
        if not isinstance(name, str) or not name or len(name) > 256:
            raise ValidationError(f"message attribute name {name!r} must be 1 to 256 characters")
        if isinstance(value, bool):
            raise ValidationError(f"message attribute {name!r}: booleans are not an SNS type; use a string")
        if isinstance(value, str):
            out[name] = {"Type": "String", "Value": value}
        elif isinstance(value, int | float):
            out[name] = {"Type": "Number", "Value": str(value)}
        elif isinstance(value, Mapping) and set(value) == {"Type", "Value"}:
            kind = value["Type"]
            if not isinstance(kind, str) or kind.split(".")[0] not in ("String", "Number", "Binary", "String.Array"):
                raise ValidationError(f"message attribute {name!r} has unknown type {kind!r}")
            out[name] = {"Type": kind, "Value": str(value["Value"])}
        else:
            raise ValidationError(f"message attribute {name!r} must be a string, a number or {{Type, Value}}")
    return out


class EmbeddedRecords(RecordStore):
    # Supplied by EmbeddedStore: _db, _log, _clock.

    # -- streams ----------------------------------------------------------------------------------

    def create_stream(self, name: str, *, shards: int = 1, retention_hours: float = 24) -> StreamSpec:
        check_resource_name("stream", name, max_len=128)
        if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= MAX_SHARDS:
            raise ValidationError(f"shards must be an integer from 1 to {MAX_SHARDS}, not {shards!r}")
        if not isinstance(retention_hours, int | float) or not 24 <= retention_hours <= MAX_RETENTION_HOURS:
            raise ValidationError(
                f"retention_hours must be from 24 to {MAX_RETENTION_HOURS} (as Kinesis), not {retention_hours!r}"
            )
        now = self._clock()
        with self._db.write() as con:
            if con.execute("SELECT 1 FROM streams WHERE name=?", (name,)).fetchone():
                raise Conflict(f"stream {name!r} already exists")
            con.execute(
                "INSERT INTO streams(name, shards, retention_s, created) VALUES(?,?,?,?)",
                (name, shards, retention_hours * 3600.0, now),
            )
        return StreamSpec(name, shards, retention_hours * 3600.0, now, kinesis.stream_arn(name))

    def describe_stream(self, name: str) -> StreamSpec:
        row = self._db.con.execute("SELECT shards, retention_s, created FROM streams WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"stream {name!r} does not exist")
        return StreamSpec(name, row[0], row[1], row[2], kinesis.stream_arn(name))

    def delete_stream(self, name: str) -> None:
        with self._db.write() as con:
            if con.execute("DELETE FROM streams WHERE name=?", (name,)).rowcount == 0:
                raise NotFound(f"stream {name!r} does not exist")
            con.execute("DELETE FROM changes WHERE source=?", (f"stream:{name}",))

    def list_streams(self) -> list[str]:
        return [n for (n,) in self._db.con.execute("SELECT name FROM streams ORDER BY name")]

    def put_records(self, stream: str, records: Sequence[tuple[bytes, str, str | None]]) -> list[PutRecordResult]:
        if not 1 <= len(records) <= MAX_PUT_RECORDS:
            raise ValidationError(f"put_records takes 1 to {MAX_PUT_RECORDS} records, not {len(records)}")
        checked: list[tuple[bytes, str, int]] = []
        total = 0
        for data, pkey, explicit in records:
            if isinstance(data, str):
                data = data.encode("utf-8")
            if not isinstance(data, bytes | bytearray | memoryview):
                raise ValidationError(f"record data must be bytes, not {type(data).__name__}")
            data = bytes(data)
            if not isinstance(pkey, str) or not 1 <= len(pkey) <= 256:
                raise ValidationError(f"partition key {pkey!r} must be a string of 1 to 256 characters")
            size = len(data) + len(pkey.encode("utf-8"))
            if size > MAX_RECORD_BYTES:
                raise PayloadTooLarge(f"record for partition key {pkey!r} is {size} bytes; the limit is 1 MiB")
            total += size
            if explicit is not None:
                if not isinstance(explicit, str) or not explicit.isdigit() or int(explicit) >= kinesis.HASH_SPACE:
                    raise ValidationError(f"explicit hash key {explicit!r} must be a decimal integer below 2**128")
                hv = int(explicit)
            else:
                hv = kinesis.hash_key(pkey)
            checked.append((data, pkey, hv))
        if total > MAX_PUT_RECORDS_BYTES:
            raise PayloadTooLarge(f"put_records request is {total} bytes; the limit is 5 MiB")
        now = self._clock()
        source = f"stream:{stream}"
        results = []
        with self._db.write() as con:
            row = con.execute("SELECT shards FROM streams WHERE name=?", (stream,)).fetchone()
            if row is None:
                raise NotFound(f"stream {stream!r} does not exist")
            app = self._log.appender(con)
            for data, pkey, hv in checked:
                shard = kinesis.shard_for(hv, row[0])
                seq = app.add(
                    source,
                    kinesis.shard_id(shard),
                    now,
                    lambda s, d=data, k=pkey, sh=shard: kinesis.record(stream, sh, k, d, seq=s, ts=now),
                )
                results.append(PutRecordResult(kinesis.shard_id(shard), kinesis.sequence_number(seq)))
        return results

    # -- topics -----------------------------------------------------------------------------------

    def create_topic(self, name: str) -> str:
        check_resource_name("topic", name, max_len=256)
        with self._db.write() as con:
            con.execute("INSERT OR IGNORE INTO topics(name, created) VALUES(?,?)", (name, self._clock()))
        return sns.topic_arn(name)

    def delete_topic(self, name: str) -> None:
        with self._db.write() as con:
            if con.execute("DELETE FROM topics WHERE name=?", (name,)).rowcount == 0:
                raise NotFound(f"topic {name!r} does not exist")

    def list_topics(self) -> list[str]:
        return [n for (n,) in self._db.con.execute("SELECT name FROM topics ORDER BY name")]

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        if not isinstance(message, str) or message == "":
            raise ValidationError("message must be a non-empty string (SNS delivers text; JSON-encode structures)")
        if subject is not None and (
            not isinstance(subject, str)
            or not 1 <= len(subject) <= 100
            or not subject.isascii()
            or any(c in subject for c in "\r\n")
        ):
            raise ValidationError(f"subject {subject!r} must be 1 to 100 ASCII characters without line breaks")
        attrs = _check_attributes(attributes)
        size = len(message.encode("utf-8")) + sum(len(k) + len(v["Type"]) + len(v["Value"]) for k, v in attrs.items())
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"message is {size} bytes with its attributes; SNS allows 262144")
        message_id = str(uuid.uuid4())
        now = self._clock()
        with self._db.write() as con:
            if con.execute("SELECT 1 FROM topics WHERE name=?", (topic,)).fetchone() is None:
                raise NotFound(f"topic {topic!r} does not exist")
            self._log.appender(con).add(
                f"topic:{topic}",
                "",
                now,
                lambda seq: sns.record(
                    topic, message, message_id=message_id, ts=now, subject=subject, attributes=attrs
                ),
            )
        return message_id
