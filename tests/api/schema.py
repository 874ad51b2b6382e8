"""Just enough JSON Schema to hold every API response to the OpenAPI document.

Covers the keywords forum/api/openapi.py uses; an unknown keyword fails loudly so that the
document cannot quietly outgrow this checker.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

KNOWN = {
    "$ref", "type", "properties", "required", "additionalProperties", "items", "enum", "anyOf",
    "propertyNames", "format", "minimum", "maximum", "minLength", "maxLength", "pattern",
    "maxItems", "description",
}  # fmt: skip
TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, TYPES[kind])


def problems(doc: dict[str, Any], schema: dict[str, Any], value: Any, at: str = "$") -> list[str]:
    """Everything about `value` that `schema` (resolved against `doc`) does not allow."""
    unknown = set(schema) - KNOWN
    assert not unknown, f"schema keywords the checker does not know: {unknown}"
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return problems(doc, doc["components"]["schemas"][name], value, at)
    found: list[str] = []
    if "anyOf" in schema and all(problems(doc, o, value, at) for o in schema["anyOf"]):
        found.append(f"{at}: matches none of anyOf")
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, kind) for kind in kinds):
            return [f"{at}: {value!r} is not of type {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if schema.get("format") == "date-time":
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                found.append(f"{at}: {value!r} is not an RFC 3339 date-time")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1e9):
            found.append(f"{at}: length {len(value)} out of bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{at}: {value!r} does not match {schema['pattern']}")
    if _is(value, "integer") and not schema.get("minimum", -1e99) <= value <= schema.get(
        "maximum", 1e99
    ):
        found.append(f"{at}: {value} out of range")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", 1e9):
            found.append(f"{at}: too many items")
        for i, item in enumerate(value):
            found += problems(doc, schema.get("items", {}), item, f"{at}[{i}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{at}: missing {name!r}")
        for name, item in value.items():
            if "propertyNames" in schema:
                found += problems(doc, schema["propertyNames"], name, f"{at} key")
            if name in properties:
                found += problems(doc, properties[name], item, f"{at}.{name}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{at}: unexpected property {name!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += problems(doc, schema["additionalProperties"], item, f"{at}.{name}")
    return found


def find_operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    for template, item in doc["paths"].items():
        if re.fullmatch(re.sub(r"{\w+}", "[^/]+", template), path):
            operation: dict[str, Any] | None = item.get(method.lower())
            return operation
    return None


def response_problems(
    doc: dict[str, Any], method: str, path: str, status: int, content_type: str, body: Any
) -> list[str]:
    """What is wrong with a response to `method path` according to the document."""
    operation = find_operation(doc, method, path)
    if operation is None:
        return []
    responses = operation["responses"]
    described = responses.get(str(status))
    if described is None:
        return [f"{method} {path}: status {status} is not documented"]
    content = described.get("content")
    if content is None:
        return [] if body is None else [f"{method} {path}: {status} should have no body"]
    if "application/json" not in content:  # a file (a download): its media type is listed
        media = content_type.split(";")[0].strip()
        return [] if media in content else [f"{method} {path}: {status} type {media!r}"]
    if not content_type.startswith("application/json"):
        return [f"{method} {path}: {status} content type {content_type!r} is not JSON"]
    schema = content["application/json"]["schema"]
    return [f"{method} {path} {status}: {p}" for p in problems(doc, schema, body)]
