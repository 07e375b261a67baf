"""The EC2 Query protocol, driven by botocore's service model.

``parse_params`` reads a form-encoded request into the operation's input (as boto3 would have
passed it), and ``write_response`` writes any output shape as EC2 XML. Both derive member names
from the model, so adding an operation needs no protocol code.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationModel, Shape, StructureShape

from awsipam.rules import XML_UNSAFE
from ipamsim.errors import ApiError

XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"


@cache
def service_model():
    return botocore.session.get_session().get_service_model("ec2")


@cache
def operation_model(action: str) -> OperationModel:
    return service_model().operation_model(action)


def request_id() -> str:
    return str(uuid.uuid4())


# --- reading requests -----------------------------------------------------------------------


def _query_name(name: str, shape: Shape) -> str:
    """The key EC2 uses for a member in a request, as botocore's EC2 serializer names it."""
    serialization = shape.serialization
    if "queryName" in serialization:
        return serialization["queryName"]
    if "name" in serialization:
        located = serialization["name"]
        return located[0].upper() + located[1:]
    return name


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    """``{"Filter.1.Name": "x"}`` -> ``{"Filter": {"1": {"Name": "x"}}}``."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ApiError("MalformedQueryString", f"The parameter {key} is malformed.")
            node = child
        if isinstance(node.get(last), dict):
            raise ApiError("MalformedQueryString", f"The parameter {key} is malformed.")
        node[last] = value
    return tree


def parse_params(model: OperationModel, flat: dict[str, str]) -> dict[str, Any]:
    """The operation's input from the request's parameters (Action and Version removed)."""
    tree = _nest(flat)
    if model.input_shape is None:
        params: dict[str, Any] = {}
    else:
        params = _read_structure(model.input_shape, tree, "")
    if tree:
        key = next(iter(tree))
        raise ApiError("UnknownParameter", f"The parameter {key} is not recognized")
    return params


def _read_structure(shape: StructureShape, node: dict[str, Any], path: str) -> dict[str, Any]:
    result = {}
    for name, member in shape.members.items():
        key = _query_name(name, member)
        if key in node:
            result[name] = _read(member, node.pop(key), f"{path}{key}")
    return result


def _read(shape: Shape, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise ApiError("MalformedQueryString", f"The parameter {path} must be a structure.")
        result = _read_structure(shape, value, f"{path}.")
        if value:
            raise ApiError(
                "UnknownParameter", f"The parameter {path}.{next(iter(value))} is not recognized"
            )
        return result
    if kind == "list":
        if not isinstance(value, dict):
            raise ApiError("MalformedQueryString", f"The parameter {path} must be a list.")
        try:
            items = sorted((int(index), item) for index, item in value.items())
        except ValueError:
            raise ApiError("MalformedQueryString", f"The list {path} has a bad index.") from None
        if any(index < 1 for index, _ in items):
            raise ApiError("MalformedQueryString", f"The list {path} has a bad index.")
        return [_read(shape.member, item, f"{path}.{index}") for index, item in items]
    if isinstance(value, dict):
        raise ApiError("MalformedQueryString", f"The parameter {path} must be a single value.")
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise ApiError(
                "InvalidParameterValue",
                f"Value ({value}) for parameter {path} is invalid. Expected a boolean.",
            )
        return value.lower() == "true"
    if kind in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            raise ApiError(
                "InvalidParameterValue",
                f"Value ({value}) for parameter {path} is invalid. Expected an integer.",
            ) from None
    return value


def validate_input(model: OperationModel, params: dict[str, Any]) -> None:
    """What the model itself says: required members, enum values, integer ranges."""
    if model.input_shape is not None:
        _validate_structure(model.input_shape, params)


def _validate_structure(shape: StructureShape, params: dict[str, Any]) -> None:
    for name in shape.required_members:
        if name not in params:
            raise ApiError(
                "MissingParameter",
                f"The request must contain the parameter {_query_name(name, shape.members[name])}",
            )
    for name, value in params.items():
        _validate(shape.members[name], name, value)


def _validate(shape: Shape, name: str, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        _validate_structure(shape, value)
    elif kind == "list":
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and len(value) < low) or (high is not None and len(value) > high):
            raise ApiError(
                "InvalidParameterValue",
                f"The parameter {name} must have between {low} and {high} items; "
                f"it has {len(value)}.",
            )
        for item in value:
            _validate(shape.member, name, item)
    elif kind == "string" and shape.enum and value not in shape.enum:
        raise ApiError(
            "InvalidParameterValue",
            f"Value ({value}) for parameter {name} is invalid. "
            f"Expected one of: {', '.join(shape.enum)}.",
        )
    elif kind in ("integer", "long"):
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ApiError(
                "InvalidParameterValue",
                f"Value ({value}) for parameter {name} is invalid. "
                f"Expected a value between {low} and {high}.",
            )


# --- writing responses ----------------------------------------------------------------------


def _element_name(name: str, shape: Shape) -> str:
    return shape.serialization.get("name", name[0].lower() + name[1:])


@cache
def _structure_members(shape: StructureShape) -> tuple[tuple[str, str, Shape], ...]:
    return tuple(
        (name, _element_name(name, member), member) for name, member in shape.members.items()
    )


def _write(shape: Shape, value: Any, out: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        for name, tag, member in _structure_members(shape):
            child = value.get(name)
            if child is None:
                continue
            out.append(f"<{tag}>")
            _write(member, child, out)
            out.append(f"</{tag}>")
    elif kind == "list":
        tag = _element_name("item", shape.member)
        for item in value:
            out.append(f"<{tag}>")
            _write(shape.member, item, out)
            out.append(f"</{tag}>")
    elif kind == "boolean":
        out.append("true" if value else "false")
    elif kind == "timestamp":
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append(escape(str(value)))
    else:
        out.append(escape(str(value)))


def write_response(model: OperationModel, output: dict[str, Any], rid: str) -> bytes:
    root = f"{model.name}Response"
    out = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{XMLNS}">',
        f"<requestId>{rid}</requestId>",
    ]
    if model.output_shape is not None:
        _write(model.output_shape, output, out)
    out.append(f"</{root}>")
    return _document("".join(out))


def write_error(code: str, message: str, rid: str) -> bytes:
    return _document(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{escape(rid)}</RequestID></Response>"
    )


def _document(xml: str) -> bytes:
    """The bytes of an answer, which any XML 1.0 parser reads, whatever the state holds.

    Every character XML 1.0 cannot carry (a control character, a lone surrogate, U+FFFE ...,
    in state written before the endpoint refused them, or in a message quoting a request) is
    written as U+FFFD; a CR is written as a reference, which a parser keeps (a raw one it
    would read as LF). The markup itself has neither, so the whole document is done at once.
    """
    if XML_UNSAFE.search(xml) is not None:
        xml = XML_UNSAFE.sub("\ufffd", xml)
    return xml.replace("\r", "&#13;").encode()
