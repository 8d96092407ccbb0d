"""Errors that end a command with a message for the user rather than a traceback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revisit.core.phrase import Phrase


class BadInput(Exception):
    """The user gave us a file or value we cannot use; the CLI exits with status 2.

    The message names the file, and where it can the line and field, so it can be fixed at once.
    Made with ``BadInput.of``, it keeps its phrase too, and the CLI says it in the run's language.
    """

    def __init__(self, message: str, said: Phrase | None = None) -> None:
        super().__init__(message)
        self.said = said

    @classmethod
    def of(cls, template: str, /, **values: Any) -> BadInput:
        said = Phrase.of(template, **values)
        return cls(str(said), said)

    def said_in(self, translations: Mapping[str, str]) -> str:
        return self.said.said_in(translations) if self.said is not None else str(self)


class ServiceFailure(Exception):
    """Something the command depends on failed at run time (a full disk, a broker refusing data);
    the CLI exits with status 1 and this message, which says what was kept and how to go on."""
