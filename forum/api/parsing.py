"""Reading client input: JSON bodies, path and query parameters, each value typed and bounded.

The same `Field` objects also write the request-body schemas of the OpenAPI document, so the
limits the document promises are exactly the limits the server enforces. Whatever a client
sends ends as a value of the declared type or a 4xx: never a 5xx from a driver further down.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from starlette.requests import Request

from forum.errors import BadRequest, Invalid, NotFound
from forum.i18n import _
from forum.inputs import clean_text

T = TypeVar("T")

# Ids and post numbers are 32-bit integer columns on every supported database.
ID_MAX = 2**31 - 1


class Field(ABC, Generic[T]):
    """One named value of a JSON request body; each kind of value says how it parses."""

    def __init__(self, name: str, *, nullable: bool = False, description: str = "") -> None:
        self.name = name
        self.nullable = nullable
        self.description = description

    @abstractmethod
    def parse(self, value: object) -> T: ...

    @abstractmethod
    def schema(self) -> dict[str, Any]: ...

    def document(self) -> dict[str, Any]:
        schema = self.schema()
        if self.nullable:
            schema["type"] = [schema["type"], "null"]
        if self.description:
            schema["description"] = self.description
        return schema

    def invalid(self, message: str) -> Invalid:
        return Invalid(message.replace("{name}", self.name), field=self.name)


class Text(Field[str]):
    def __init__(
        self,
        name: str,
        *,
        min_length: int = 0,
        max_length: int,
        choices: Sequence[str] = (),
        pattern: str = "",  # a whole-value match, in the syntax Python and ECMA 262 share
        pattern_message: str = "",
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(name, nullable=nullable, description=description)
        self.min_length = min_length
        self.max_length = max_length
        self.choices = tuple(choices)
        self.pattern = pattern
        self.pattern_message = pattern_message

    def parse(self, value: object) -> str:
        if not isinstance(value, str):
            raise self.invalid(_("{name} must be a string."))
        clean_text(value, self.name)
        if len(value) < self.min_length:
            raise self.invalid(
                _("{name} needs at least {n} characters.").replace("{n}", str(self.min_length))
            )
        if len(value) > self.max_length:
            raise self.invalid(
                _("{name} has at most {n} characters.").replace("{n}", str(self.max_length))
            )
        if self.choices and value not in self.choices:
            raise self.invalid(_("{name} must be one of: ") + ", ".join(self.choices))
        if self.pattern and not re.fullmatch(self.pattern, value):
            raise self.invalid(
                _(self.pattern_message)
                if self.pattern_message
                else _("{name} has characters that are not allowed here.")
            )
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length}
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.pattern:
            schema["pattern"] = f"^(?:{self.pattern})$"
        return schema


class Integer(Field[int]):
    def __init__(
        self,
        name: str,
        *,
        minimum: int,
        maximum: int,
        nullable: bool = False,
        description: str = "",
    ) -> None:
        super().__init__(name, nullable=nullable, description=description)
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, value: object) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON Schema counts 3.0 as an integer
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid(_("{name} must be an integer."))
        if not self.minimum <= value <= self.maximum:
            raise self.invalid(
                _("{name} must be between {low} and {high}.")
                .replace("{low}", str(self.minimum))
                .replace("{high}", str(self.maximum))
            )
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class Flag(Field[bool]):
    def parse(self, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.invalid(_("{name} must be true or false."))
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


class TextList(Field[list[str]]):
    def __init__(self, name: str, item: Text, *, max_items: int, description: str = "") -> None:
        super().__init__(name, description=description)
        self.item = item
        self.max_items = max_items

    def parse(self, value: object) -> list[str]:
        if not isinstance(value, list):
            raise self.invalid(_("{name} must be a list of strings."))
        if len(value) > self.max_items:
            raise self.invalid(
                _("{name} has at most {n} items.").replace("{n}", str(self.max_items))
            )
        return [self.item.parse(item) for item in value]

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.schema(), "maxItems": self.max_items}


@dataclass(frozen=True)
class BodySpec:
    """The JSON object an endpoint accepts; `name` is its OpenAPI component name."""

    name: str
    required: tuple[Field[Any], ...] = ()
    optional: tuple[Field[Any], ...] = ()
    at_least_one: bool = False  # an update that must change something

    def parse(self, data: dict[str, Any]) -> Body:
        values: dict[str, Any] = {}
        for field in self.required:
            if field.name not in data:
                raise field.invalid(_("{name} is required."))
        for field in (*self.required, *self.optional):
            if field.name not in data:
                continue
            raw = data[field.name]
            values[field.name] = None if raw is None and field.nullable else field.parse(raw)
        if self.at_least_one and not values:
            names = ", ".join(f.name for f in self.optional)
            raise Invalid(_("Send at least one of: ") + names)
        return Body(values)

    def schema(self) -> dict[str, Any]:
        fields = (*self.required, *self.optional)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {f.name: f.document() for f in fields},
        }
        if self.required:
            schema["required"] = [f.name for f in self.required]
        if self.at_least_one:
            schema["anyOf"] = [{"required": [f.name]} for f in self.optional]
        return schema


class Body:
    """A validated request body; read each value through the field that declared it."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def get(self, field: Field[T]) -> T:
        return cast(T, self._values[field.name])

    def get_optional(self, field: Field[T]) -> T | None:
        return cast("T | None", self._values.get(field.name))

    def has(self, field: Field[Any]) -> bool:
        """Was this field sent (possibly as null)?"""
        return field.name in self._values


async def read_body(request: Request, spec: BodySpec) -> Body:
    raw = await request.body()
    data: object = {}
    if raw.strip():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest(_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."))
    return spec.parse(data)


def path_id(request: Request, name: str, not_found: str) -> int:
    """A numeric id from the path; anything else names nothing, so it is a 404."""
    raw = str(request.path_params.get(name, ""))
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 1 <= int(raw) <= ID_MAX:
        raise NotFound(not_found)
    return int(raw)


def path_text(request: Request, name: str) -> str:
    return clean_text(str(request.path_params.get(name, "")), name)


def query_cursor(request: Request) -> str | None:
    """The opaque page cursor; forum.pagination decides whether it is valid (400 if not)."""
    return request.query_params.get("cursor") or None


def query_int(request: Request, name: str, *, minimum: int, maximum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not (
        minimum <= int(raw) <= maximum
    ):
        raise BadRequest(
            _("{name} must be an integer between {low} and {high}.")
            .replace("{name}", name)
            .replace("{low}", str(minimum))
            .replace("{high}", str(maximum))
        )
    return int(raw)
