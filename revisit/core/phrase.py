"""A sentence kept as its English template and its values, so that it can be said in another
language where it is read (``revisit explain`` in ``alerts.locale``), while logs, stored
payloads and tests keep the English (``str``).

The English template is also the key of its translations, as a gettext message id is: a
translation is the same sentence with the same ``{fields}``. A value that is itself a Phrase is
said in the same language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

_Class = TypeVar("_Class", bound=type)


@dataclass(frozen=True, slots=True)
class Phrase:
    template: str  # English, with str.format fields
    values: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, template: str, /, **values: Any) -> Phrase:
        return cls(template, tuple(values.items()))

    def __str__(self) -> str:
        return self.said_in({})

    def said_in(self, translations: Mapping[str, str]) -> str:
        """The sentence in the language of ``translations`` (template → template); English when
        the template has none."""
        values = {
            name: value.said_in(translations) if isinstance(value, Phrase) else value for name, value in self.values
        }
        return translations.get(self.template, self.template).format(**values)

    def to_record(self) -> dict[str, Any]:
        """A JSON-able record of the phrase (stored beside its English, to be said again later)."""
        values = [[name, value.to_record() if isinstance(value, Phrase) else value] for name, value in self.values]
        return {"template": self.template, "values": values}

    @classmethod
    def stored(cls, record: Any) -> Phrase | None:
        """The phrase of a stored record; None when none was stored or it does not read back (the
        English text stored beside it is then said instead)."""
        try:
            return cls.from_record(record) if record else None
        except ValueError:
            return None

    @classmethod
    def from_record(cls, record: Any) -> Phrase:
        """The phrase of ``to_record``; ValueError for anything else."""
        if not isinstance(record, dict) or not isinstance(record.get("template"), str):
            raise ValueError(f"not a phrase record: {record!r}")
        values = []
        for pair in record.get("values", ()):
            if not (isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ValueError(f"not a phrase value: {pair!r}")
            name, value = pair
            values.append((name, cls.from_record(value) if isinstance(value, dict) else value))
        return cls(record["template"], tuple(values))


def said_in_process(*names: str) -> Callable[[_Class], _Class]:
    """A frozen slots dataclass pickled without the fields ``names`` (its sentences for a reader),
    which come back as their defaults: only ``revisit explain`` says them, in the process that
    made them, while replay's workers pickle every new address's organisation and match for each
    other and for the parent (an Organization with MaxMind's clues: 10.9 against 4.8 µs a dump,
    9.6 against 4.9 µs a load; an AccountMatch 16.7 against 12.6 and 19.0 against 11.6 µs).
    Applied over ``@dataclass``."""

    def decorate(cls: _Class) -> _Class:
        kept = tuple(f.name for f in fields(cls) if f.name not in names)
        defaults = tuple((f.name, f.default) for f in fields(cls) if f.name in names)

        def getstate(self: Any) -> tuple[Any, ...]:
            return tuple(getattr(self, name) for name in kept)

        def setstate(self: Any, state: tuple[Any, ...]) -> None:
            for name, value in zip(kept, state, strict=True):
                object.__setattr__(self, name, value)
            for name, value in defaults:
                object.__setattr__(self, name, value)

        setattr(cls, "__getstate__", getstate)  # noqa: B010 (a method set on the class made by @dataclass)
        setattr(cls, "__setstate__", setstate)  # noqa: B010
        return cls

    return decorate
