"""A sentence kept as its English template and its values, so that it can be said in another
language where it is read (``revisit explain`` in ``alerts.locale``), while logs, stored
payloads and tests keep the English (``str``).

The English template is also the key of its translations, as a gettext message id is: a
translation is the same sentence with the same ``{fields}``. A value that is itself a Phrase is
said in the same language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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
