"""Functions that trigger themselves: the chain must stop after 16 hops."""

import ripple
from ripple import App

app = App("loops")
ping = app.bucket("ping-bucket")
echo = app.stream("echo", shards=1)
app.topic("stopped")


@app.on_object(ping, events=["s3:ObjectCreated:*"])
def bounce(event, context):
    # Writes back into the bucket that triggers it: a loop.
    key = event["Records"][0]["s3"]["object"]["key"]
    n = int(key.split("-")[1])
    ripple.connect().bucket("ping-bucket").put(f"ping-{n + 1}", b"again")


@app.on_stream(echo, batch_size=10, starting_position="TRIM_HORIZON", on_failure="topic:stopped")
def repeat(event, context):
    r = ripple.connect()
    r.stream("echo").put(b"again", partition_key="k")
