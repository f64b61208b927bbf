"""A stream trigger with a parallelization factor: keys spread over lanes, each key stays in order."""

import base64

import ripple
from ripple import App

app = App("parallel")
src = app.stream("src", shards=1)
app.stream("out", shards=1)


@app.on_stream(src, batch_size=5, starting_position="TRIM_HORIZON", parallelization=4)
def copy(event, context):
    ripple.connect().stream("out").put_many([(base64.b64decode(r["kinesis"]["data"]), "o") for r in event["Records"]])
