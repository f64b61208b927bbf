"""The app `--app` finds by default: app.py in the current directory."""

from ripple.app import App

app = App("app-default")


@app.function()
def hello(event, context):
    return "hello"
