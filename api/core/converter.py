"""Steward's Temporal data converter: the SDK's JSON payloads, decoded with less work.

The SDK's JSON converter calls ``typing.get_type_hints`` on every dataclass it decodes, every
time; on a busy worker that was about 5 % of its CPU. This converter resolves each dataclass's
fields and hints once and otherwise decodes exactly as the SDK does. The wire format does not
change: any Temporal client or worker reads what this one writes, and the other way round.
"""

import dataclasses
import typing
import weakref
from typing import Any

from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
    JSONTypeConverter,
    value_to_type,
)

_Shape = tuple[tuple[dataclasses.Field[Any], ...], dict[str, Any]]


class CachedDataclassHints(JSONTypeConverter):
    """Decodes dataclasses like the SDK, with each class's type hints resolved once.

    Classes are weak keys: a workflow sandbox re-imports its modules, and the classes of a
    finished workflow must not be kept alive here.
    """

    def __init__(self) -> None:
        self._shapes: weakref.WeakKeyDictionary[type, _Shape] = weakref.WeakKeyDictionary()

    def _shape(self, hint: type) -> _Shape:
        shape = self._shapes.get(hint)
        if shape is None:
            shape = (dataclasses.fields(hint), typing.get_type_hints(hint))
            self._shapes[hint] = shape
        return shape

    def to_typed_value(self, hint: type, value: Any) -> Any:
        """Build the dataclass ``hint`` from a JSON object; anything else is the SDK's."""
        if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
            return JSONTypeConverter.Unhandled
        if not isinstance(value, dict):
            return JSONTypeConverter.Unhandled  # the SDK raises its own TypeError
        fields, hints = self._shape(hint)
        init_values: dict[str, Any] = {}
        other_values: dict[str, Any] = {}
        for field in fields:
            raw = value.get(field.name, dataclasses.MISSING)
            if raw is dataclasses.MISSING:
                continue  # instantiation below fails if the field was required
            try:
                converted = value_to_type(hints[field.name], raw, [self])
            except Exception as err:
                raise TypeError(
                    f"Failed converting field {field.name} on dataclass {hint}"
                ) from err
            (init_values if field.init else other_values)[field.name] = converted
        obj = hint(**init_values)
        for name, converted in other_values.items():
            object.__setattr__(obj, name, converted)
        return obj


class StewardJSONPayloadConverter(JSONPlainPayloadConverter):
    """``json/plain`` payloads, decoded with :class:`CachedDataclassHints`."""

    def __init__(self) -> None:
        super().__init__(custom_type_converters=[CachedDataclassHints()])


class StewardPayloadConverter(CompositePayloadConverter):
    """The SDK's default payload converters, with the JSON one replaced."""

    def __init__(self) -> None:
        super().__init__(
            *(
                StewardJSONPayloadConverter() if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER = dataclasses.replace(
    DataConverter.default, payload_converter_class=StewardPayloadConverter
)
"""The data converter every Steward client (and so every worker built on one) uses."""
