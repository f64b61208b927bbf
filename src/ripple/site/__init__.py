"""ripple.site: an incremental static site generator for Hugo-style content with Jinja2 layouts.

``build(src, out)`` renders only the outputs a change affects and is byte-identical to a clean build.
Importing this package loads neither the page model nor the template engine: a build imports them
once it has found something to render (see builder.py).
"""

from __future__ import annotations

from ripple.site.builder import Builder, BuildResult, build
from ripple.site.errors import BuildError
from ripple.site.scaffold import new_site

__all__ = ["BuildError", "BuildResult", "Builder", "build", "new_site"]
