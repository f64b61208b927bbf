"""The child process of tests/test_crash.py: writes to a ripple state folder in a loop until SIGKILLed.

Usage: ``python tests/crash_worker.py STATE JOURNAL SEED RUN``

Before each operation it appends an intent line ``{"i": id, "op": ..., ...}`` to JOURNAL and after the
call returns a done line ``{"d": id, "r": result}``. Each line is flushed at once: a SIGKILL loses no
flushed byte (it sits in the page cache), so the journal tells the parent exactly which operations
returned and which one (at most) was in flight. The intent line carries everything the parent needs to
predict the operation's change records (etags, full items, condition values) without importing this file.

The operation stream is a function of SEED and RUN only; where the kill lands is up to the clock.
Resources (bucket ``objs``, table ``items``, stream ``recs``, topic ``news``) are created by the parent.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from typing import IO, Any

import ripple
from ripple.errors import ConditionalCheckFailed, NoSuchKey

INLINE_MAX = 64 * 1024  # bodies above this go to the blob folder (ripple.store.embedded.blobs)

# Small key spaces so that overwrites, deletes of present keys and conditional hits are common.
OBJECT_KEYS = [f"k{n:02d}" for n in range(10)] + [f"dir/sp ace+plus {n}" for n in range(4)] + ["ü/é€"]
ITEM_KEYS = [f"p{n:02d}" for n in range(40)]
PARTITION_KEYS = [f"pk{n}" for n in range(8)]

# (operation, weight). Large object puts are rarer because each costs ~0.5 ms of hashing and file I/O.
OPERATIONS = [
    ("obj_put_small", 14),
    ("obj_put_large", 5),
    ("obj_put_shared", 4),
    ("obj_delete", 6),
    ("obj_copy", 3),
    ("item_put", 12),
    ("item_update", 10),
    ("item_delete", 5),
    ("batch_write", 5),
    ("stream_put", 8),
    ("publish", 5),
    ("gc", 1),
]


def shared_bodies(seed: int) -> list[bytes]:
    """A few bodies reused by many puts (the same in every run), so blobs get several references and
    content deduplication, reference counting and unlinking of shared files are all exercised."""
    rng = random.Random(f"shared-{seed}")
    sizes = [0, 1, 700, INLINE_MAX, INLINE_MAX + 1, 150_000, 300_000]
    return [rng.randbytes(n) for n in sizes]


class Worker:
    def __init__(self, client: ripple.Client, journal: IO[str], seed: int, run: int):
        self.c = client
        self.journal = journal
        self.run = run
        self.rng = random.Random(f"ops-{seed}-{run}")
        self.shared = shared_bodies(seed)
        self.n = 0
        names, weights = zip(*OPERATIONS, strict=True)
        self.names, self.weights = list(names), list(weights)

    def _line(self, entry: dict[str, Any]) -> None:
        self.journal.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self.journal.flush()

    def step(self) -> None:
        self.n += 1
        op_id = f"{self.run}.{self.n}"
        op = self.rng.choices(self.names, self.weights)[0]
        getattr(self, op)(op_id)

    # -- objects -------------------------------------------------------------------------------------

    def _put(self, op_id: str, op: str, body: bytes) -> None:
        key = self.rng.choice(OBJECT_KEYS)
        intent = {"i": op_id, "op": op, "key": key, "size": len(body), "md5": hashlib.md5(body).hexdigest()}
        intent["sha256"] = hashlib.sha256(body).hexdigest()
        self._line(intent)
        info = self.c.bucket("objs").put(key, body)
        self._line({"d": op_id, "r": info.etag})

    def obj_put_small(self, op_id: str) -> None:
        # The op id inside the body makes every small put's etag unique.
        body = op_id.encode() + self.rng.randbytes(self.rng.randrange(0, 4096))
        self._put(op_id, "obj_put", body)

    def obj_put_large(self, op_id: str) -> None:
        body = op_id.encode() + self.rng.randbytes(self.rng.randrange(INLINE_MAX, 400_000))
        self._put(op_id, "obj_put", body)

    def obj_put_shared(self, op_id: str) -> None:
        self._put(op_id, "obj_put", self.rng.choice(self.shared))

    def obj_delete(self, op_id: str) -> None:
        key = self.rng.choice(OBJECT_KEYS)
        self._line({"i": op_id, "op": "obj_delete", "key": key})
        self._line({"d": op_id, "r": self.c.bucket("objs").delete(key)})

    def obj_copy(self, op_id: str) -> None:
        src, dst = self.rng.sample(OBJECT_KEYS, 2)
        self._line({"i": op_id, "op": "obj_copy", "src": src, "key": dst})
        try:
            result = self.c.bucket("objs").copy(src, dst).etag
        except NoSuchKey:
            result = None
        self._line({"d": op_id, "r": result})

    # -- items ---------------------------------------------------------------------------------------

    def _item(self, op_id: str, key: str) -> dict[str, Any]:
        return {"pk": key, "op": op_id, "ver": 1, "pad": "x" * self.rng.randrange(100, 200)}

    def item_put(self, op_id: str) -> None:
        item = self._item(op_id, self.rng.choice(ITEM_KEYS))
        self._line({"i": op_id, "op": "item_put", "item": item})
        old = self.c.table("items").put(item, return_values="ALL_OLD")
        self._line({"d": op_id, "r": _plain(old)})

    def item_update(self, op_id: str) -> None:
        key = self.rng.choice(ITEM_KEYS)
        current = self.c.table("items").get({"pk": key})
        # Mostly the version just read (the condition holds); sometimes a stale one (it fails).
        expect = int(current["ver"]) if current is not None else 1
        if self.rng.random() < 0.25:
            expect += 1
        self._line({"i": op_id, "op": "item_update", "key": key, "expect": expect})
        try:
            self.c.table("items").update(
                {"pk": key},
                update="SET ver = ver + :one, op = :op",
                condition="ver = :v",
                values={":one": 1, ":op": op_id, ":v": expect},
            )
            result = "ok"
        except ConditionalCheckFailed:
            result = "failed"
        self._line({"d": op_id, "r": result})

    def item_delete(self, op_id: str) -> None:
        key = self.rng.choice(ITEM_KEYS)
        self._line({"i": op_id, "op": "item_delete", "key": key})
        old = self.c.table("items").delete({"pk": key}, return_values="ALL_OLD")
        self._line({"d": op_id, "r": _plain(old)})

    def batch_write(self, op_id: str) -> None:
        keys = self.rng.sample(ITEM_KEYS, self.rng.randrange(2, 26))
        puts, deletes = [], []
        for j, key in enumerate(keys):
            if self.rng.random() < 0.7:
                puts.append(self._item(f"{op_id}/{j}", key))
            else:
                deletes.append({"pk": key})
        # Table.batch_write applies the puts, then the deletes; the journal lists them in that order.
        ops = [{"put": p} for p in puts] + [{"delete": d} for d in deletes]
        self._line({"i": op_id, "op": "batch_write", "ops": ops})
        self.c.table("items").batch_write(puts, deletes)
        self._line({"d": op_id, "r": None})

    # -- records -------------------------------------------------------------------------------------

    def stream_put(self, op_id: str) -> None:
        records = [(f"{op_id}/{j}", self.rng.choice(PARTITION_KEYS)) for j in range(self.rng.randrange(1, 11))]
        self._line({"i": op_id, "op": "stream_put", "records": records})
        results = self.c.stream("recs").put_many(records)
        self._line({"d": op_id, "r": [[r.shard_id, r.sequence_number] for r in results]})

    def publish(self, op_id: str) -> None:
        subject = f"s{op_id}" if self.rng.random() < 0.5 else None
        self._line({"i": op_id, "op": "publish", "message": f"m{op_id}", "subject": subject})
        message_id = self.c.topic("news").publish(f"m{op_id}", subject=subject)
        self._line({"d": op_id, "r": message_id})

    def gc(self, op_id: str) -> None:
        # Being killed inside gc must not lose a live blob either.
        self._line({"i": op_id, "op": "gc"})
        self.c.gc()
        self._line({"d": op_id, "r": None})


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item with Decimal numbers as ints, for JSON."""
    if item is None:
        return None
    return {k: int(v) if k == "ver" else v for k, v in item.items()}


def main(argv: list[str]) -> int:
    state, journal_path, seed, run = argv[0], argv[1], int(argv[2]), int(argv[3])
    with ripple.connect(state) as client, open(journal_path, "a", encoding="utf-8") as journal:
        worker = Worker(client, journal, seed, run)
        # Tell the parent the store is open, so its kill delay is measured from the first operation.
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            worker.step()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
