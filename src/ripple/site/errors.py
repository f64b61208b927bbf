"""The one error a site build raises for bad input: it names the file and line at fault."""

from __future__ import annotations

from ripple.errors import ValidationError


class BuildError(ValidationError):
    """A site cannot be built from its sources: bad front matter, a template error, a missing layout,
    a bad config value. Nothing in the output folder or the state was changed.

    ``file`` is the offending source file (relative to the site folder when possible) and ``line``
    its 1-based line, or ``None`` when the problem is not tied to a line.
    """

    code = "SiteBuildError"

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = ""
        if file:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(where + message)
        self.file = file
        self.line = line
        self.reason = message
