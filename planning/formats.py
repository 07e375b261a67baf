"""A plan as a document: its own YAML and JSON (published as a JSON Schema), and CSV.

Pure: no Django. :func:`to_document` and :func:`from_document` round-trip a plan without loss
(node ids kept). Reading is bounded and hostile-proof: a document over
:data:`MAX_DOCUMENT_BYTES`, with more than :data:`MAX_NODES` nodes, nested deeper than
:data:`MAX_NESTING`, or with YAML aliases is refused before it is looked at closely; every
problem found is a :class:`Problem` with the path of the value it concerns
(``nodes[3].intent.prefix_length``), raised together as a :class:`FormatError`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

import fastjsonschema
import jsonschema
import yaml
from netaddr import IPNetwork

from awsipam import addressing
from awsipam.constants import (
    AWS_ID_PATTERN,
    FAMILY_VERSION,
    MAX_POOL_DEPTH,
    MAX_TAG_VALUE_LENGTH,
    NETMASK_LIMITS,
)
from awsipam.rules import XML_UNSAFE
from planning import spec as plan_spec
from planning.spec import Intent, Need, NodeSpec, PlanSpec, Tree, new_key

SCHEMA_VERSION = plan_spec.SCHEMA_VERSION
SCHEMA_FILE = f"plan-v{SCHEMA_VERSION}.schema.json"

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # a plan of MAX_NODES plain nodes is some 9 MB of JSON
MAX_NODES = 20_000
MAX_NESTING = 16  # a plan document is 6 levels deep; anything far deeper is not one
MAX_PROBLEMS = 50  # reported; the rest are counted
MAX_SPACE_CIDRS = 1000
# What the node table's columns hold (planning.models): the formats refuse what they cannot.
MAX_KEY_LENGTH = 32
MAX_LOCALE_LENGTH = 64
MAX_POOL_ID_LENGTH = 64
MAX_SPARE_SLOTS = 32767
KEY_PATTERN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_KEY_LENGTH}}}")
POOL_ID_PATTERN = re.compile(AWS_ID_PATTERN)

FORMATS = ("yaml", "json", "csv")
CSV_COLUMNS = ("id", "name", "parent", "cidr", "locale", "prefix_length", "description")
CSV_REQUIRED = ("name",)
# A spreadsheet takes a cell that starts with one of =+-@ (or a tab or CR) as a formula: such a
# text cell (or one that already starts with apostrophes before one) is written with one more
# apostrophe in front, which reading takes off again.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


class Problem(NamedTuple):
    """One thing wrong with a document: where (a path, or ``row 3, cidr``), what, a code."""

    path: str
    message: str
    code: str = "invalid"
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


class FormatError(Exception):
    """A document that cannot become a plan, with every problem found (up to a limit)."""

    def __init__(self, problems: Iterable[Problem | tuple[str, str]], *, more: int = 0) -> None:
        found = [p if isinstance(p, Problem) else Problem(*p) for p in problems]
        self.problems = found[:MAX_PROBLEMS]
        self.more = more + max(0, len(found) - MAX_PROBLEMS)
        super().__init__("; ".join(str(p) for p in self.problems[:3]))

    @classmethod
    def one(
        cls, path: str, message: str, code: str = "invalid", line: int | None = None
    ) -> FormatError:
        return cls([Problem(path, message, code, line)])


@dataclass(frozen=True)
class PlanMeta:
    """A document's plan fields (what :class:`~planning.spec.PlanSpec` has besides nodes)."""

    name: str = ""
    address_family: str | None = None
    description: str = ""
    ipam_id: str = ""
    scope_id: str = ""
    parent_pool_id: str = ""
    space: tuple[IPNetwork, ...] = ()
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)  # the document's ``meta``

    def spec(self, nodes: Iterable[NodeSpec]) -> PlanSpec:
        return PlanSpec(
            name=self.name,
            address_family=self.address_family or "ipv4",
            nodes=tuple(nodes),
            space=self.space,
            parent_pool_id=self.parent_pool_id,
            ipam_id=self.ipam_id,
            scope_id=self.scope_id,
            description=self.description,
        )


# --- writing ------------------------------------------------------------------------------


def ordered(spec: PlanSpec) -> list[NodeSpec]:
    """The nodes parents first, siblings by name; nodes no walk reaches (a cycle) last."""
    tree = Tree.of(spec.nodes)
    walked = list(tree.walk())
    reached = {n.key for n in walked}
    return walked + sorted((n for n in spec.nodes if n.key not in reached), key=lambda n: n.key)


def _intent(node: NodeSpec) -> dict[str, Any]:
    if node.intent == Intent.CIDR:
        return {"cidr": str(node.cidr) if node.cidr is not None else None}
    if node.intent == Intent.NEED:
        need = node.need
        if need is None:
            return {"need": None}
        return {
            "need": {
                "count": need.count,
                "prefix_length": need.length,
                "hosts": need.hosts,
                "growth_percent": need.growth,
            }
        }
    return {"prefix_length": node.prefix_length}


def node_document(node: NodeSpec) -> dict[str, Any]:
    return {
        "id": node.key,
        "parent": node.parent,
        "name": node.name,
        "locale": node.locale,
        "intent": _intent(node),
        "cidr": str(node.cidr) if node.cidr is not None else None,
        "spare_slots": node.spare_slots,
        "allocation": {
            "min": node.min_netmask,
            "max": node.max_netmask,
            "default": node.default_netmask,
        },
        "tags": dict(node.tags),
        "allocation_resource_tags": dict(node.allocation_resource_tags),
        "description": node.description,
        "pool_id": node.pool_id or None,
    }


def to_document(
    spec: PlanSpec, *, meta: Mapping[str, Any] | None = None, schema_url: str = ""
) -> dict[str, Any]:
    """The plan as the schema's document; ``meta`` (the plan's id, version, address) goes in
    as information, ``schema_url`` as ``$schema`` for editors that validate as one types."""
    document: dict[str, Any] = {"$schema": schema_url} if schema_url else {}
    document.update(
        schema_version=SCHEMA_VERSION,
        name=spec.name,
        description=spec.description,
        address_family=spec.address_family,
        ipam_id=spec.ipam_id or None,
        scope_id=spec.scope_id or None,
        parent_pool_id=spec.parent_pool_id or None,
        space=[str(c) for c in spec.space],
    )
    if meta:
        document["meta"] = dict(meta)
    document["nodes"] = [node_document(n) for n in ordered(spec)]
    return document


def to_json(spec: PlanSpec, **kwargs: Any) -> str:
    return json.dumps(to_document(spec, **kwargs), indent=2, ensure_ascii=False) + "\n"


# YAML is written here, not by PyYAML's dumper, which takes milliseconds a node. A string is
# written plain when it is unmistakably text (and PyYAML's resolver agrees), else double-quoted
# with JSON's escapes, plus escapes for what YAML's reader refuses or folds (C1 controls, NEL,
# the line and paragraph separators, BOM, non-characters). A property test reads it back.
_YAML = "tag:yaml.org,2002:"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _./:@+-]*")
_NOT_TEXT = frozenset({"null", "true", "false", "yes", "no", "on", "off", "~"})
_YAML_ESCAPE = re.compile(r"[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
_RESOLVER = yaml.resolver.Resolver()
MAX_IMPLICIT_KEY = 1000  # YAML reads a key written inline up to 1024 characters


def yaml_string(text: str) -> str:
    if (
        _PLAIN.fullmatch(text)
        and (text[0].isalpha() or "/" in text)
        and not text.endswith((" ", ":"))
        and ": " not in text
        and " #" not in text
        and text.lower() not in _NOT_TEXT
        and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _YAML + "str"
    ):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    return _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m[0]):04x}", quoted)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return yaml_string(value)
    if isinstance(value, dict | list) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    return yaml_string(str(value))


def _yaml_block(value: dict | list, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            name = yaml_string(str(key))
            nested = isinstance(item, dict | list) and bool(item)
            if len(name) > MAX_IMPLICIT_KEY:
                out.append(f"{pad}? {name}")
                head = f"{pad}:"
            else:
                head = f"{pad}{name}:"
            if not nested:
                out.append(f"{head} {_yaml_scalar(item)}")
                continue
            out.append(head)
            _yaml_block(item, indent + 1 if isinstance(item, dict) else indent, out)
        return
    for item in value:
        if isinstance(item, dict | list) and item:
            inner: list[str] = []
            _yaml_block(item, indent + 1, inner)
            out.append(f"{pad}- " + inner[0][len(pad) + 2 :])
            out.extend(inner[1:])
        else:
            out.append(f"{pad}- {_yaml_scalar(item)}")


def to_yaml(spec: PlanSpec, **kwargs: Any) -> str:
    document = to_document(spec, **kwargs)
    lines: list[str] = []
    if document.get("$schema"):
        url = re.sub(r"\s", "", document.pop("$schema"))
        lines.append(f"# yaml-language-server: $schema={url}")
    _yaml_block(document, 0, lines)
    return "\n".join(lines) + "\n"


# --- reading: the outer bounds --------------------------------------------------------------


def decode(data: bytes | str, *, path: str = "") -> str:
    """Text from an upload: at most :data:`MAX_DOCUMENT_BYTES`, UTF-8 (a BOM is dropped)."""
    if isinstance(data, str):
        if len(data) > MAX_DOCUMENT_BYTES:  # (a character is at least a byte)
            raise too_large(path)
        return data.removeprefix("\ufeff")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError.one(
            path, f"This is not UTF-8 text (byte {exc.start + 1} is not).", "not_utf8"
        ) from None


def too_large(path: str) -> FormatError:
    return FormatError.one(
        path,
        f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.",
        "document_too_large",
    )


def detect_format(text: str, filename: str = "") -> str:
    """``yaml``, ``json`` or ``csv``: by the file's extension, else by the text's look."""
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    if extension in ("yaml", "yml", "json", "csv"):
        return "yaml" if extension == "yml" else extension
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return "json"
    first = stripped.partition("\n")[0]
    header = [c.strip().lower() for c in re.split(r"[,;\t]", first)]
    if len(header) > 1 and "name" in header and ":" not in first:
        return "csv"
    return "yaml"


def loads(text: str, fmt: str, *, address_family: str | None = None):
    """(PlanMeta, nodes) from a document in ``fmt``."""
    if fmt == "json":
        return from_json(text)
    if fmt == "csv":
        return from_csv(text, address_family=address_family)
    return from_yaml(text)


def _nesting_ok(value: Any) -> bool:
    """Whether ``value`` is nested at most :data:`MAX_NESTING` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_NESTING:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _deep() -> FormatError:
    return FormatError.one(
        "", f"The document is nested more than {MAX_NESTING} levels deep.", "too_deep"
    )


def _unreadable(exc: Exception) -> FormatError:
    if "digits" in str(exc):
        return FormatError.one("", "A number in it has too many digits.", "number_too_long")
    return FormatError.one("", f"A value cannot be read: {_short(str(exc), 120)}.", "unreadable")


class _JsonDuplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonDuplicate(key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def from_json(text: str | bytes) -> tuple[PlanMeta, list[NodeSpec]]:
    text = decode(text)
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise FormatError.one(
            f"column {exc.colno}", exc.msg + ".", "json_syntax", line=exc.lineno
        ) from None
    except _JsonDuplicate as exc:
        raise FormatError.one(
            "", f"The key {_short(str(exc))!r} is given twice in one object.", "duplicate_key"
        ) from None
    except RecursionError:
        raise _deep() from None
    except ValueError as exc:  # a number of more digits than Python reads, NaN, Infinity
        raise _unreadable(exc) from None
    return from_document(data)


# --- YAML: safe, without aliases, duplicate keys refused, lines kept for messages -----------


# libyaml's parser when there, resolving no types: _yaml_data resolves the plain scalars that
# may be other than text (by their first character, as PyYAML's resolver does), which is most
# of the time reading takes otherwise. (So ``!!str 5`` is read as the number 5.)
class _Loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader)):  # type: ignore[misc]
    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """Every untagged node is text, a list or a mapping (PyYAML's own resolver, called
        for each node, is the slowest part of reading)."""
        if kind is yaml.ScalarNode:
            return _YAML + "str"
        return _YAML + ("seq" if kind is yaml.SequenceNode else "map")


_MAY_BE_TYPED = frozenset(_RESOLVER.yaml_implicit_resolvers)
_SafeConstructor = yaml.constructor.SafeConstructor
# YAML's scalar types, as PyYAML's safe loader reads them; "=" (the value type) as text.
_SCALARS = {
    _YAML + "str": lambda loader, node: node.value,
    _YAML + "value": lambda loader, node: node.value,
    _YAML + "null": lambda loader, node: None,
    _YAML + "bool": _SafeConstructor.construct_yaml_bool,
    _YAML + "int": _SafeConstructor.construct_yaml_int,
    _YAML + "float": _SafeConstructor.construct_yaml_float,
    _YAML + "timestamp": _SafeConstructor.construct_yaml_timestamp,
    _YAML + "binary": _SafeConstructor.construct_yaml_binary,
}


def _scalar_tag(node: Any) -> str:
    plain = not node.style  # (None from PyYAML, "" from libyaml)
    if node.tag == _YAML + "str" and plain and node.value[:1] in _MAY_BE_TYPED:
        return _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))
    return node.tag


def _at(node: Any, message: str, code: str) -> FormatError:
    mark = node.start_mark
    return FormatError.one(f"column {mark.column + 1}", message, code, line=mark.line + 1)


def _yaml_data(loader: Any, root: Any) -> Any:
    """The value of a composed YAML document, built without recursion (PyYAML's constructor
    takes milliseconds a node): plain mappings, lists and scalars only, a key given twice in
    a mapping refused, as are other types (sets, ordered maps, application tags)."""
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, holder, 0)]
    while stack:
        node, parent, slot = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            make = _SCALARS.get(_scalar_tag(node))
            if make is None:
                raise _at(
                    node, f"The YAML tag {_short(node.tag, 60)} is not taken here.", "yaml_tag"
                )
            value: Any = make(loader, node)
        elif isinstance(node, yaml.SequenceNode) and node.tag == _YAML + "seq":
            value = [None] * len(node.value)
            stack.extend((child, value, i) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode) and node.tag == _YAML + "map":
            value = {}
            for key_node, value_node in node.value:
                key_tag = _scalar_tag(key_node) if isinstance(key_node, yaml.ScalarNode) else ""
                if key_tag not in _SCALARS:  # a list or a mapping as a key, or a merge (<<)
                    raise _at(key_node, "A key must be plain text.", "yaml_key")
                key = _SCALARS[key_tag](loader, key_node)
                if key in value:
                    raise _at(
                        key_node, f"The key {_short(str(key))!r} is given twice.", "duplicate_key"
                    )
                value[key] = None
                stack.append((value_node, value, key))
        else:
            raise _at(node, f"The YAML tag {_short(node.tag, 60)} is not taken here.", "yaml_tag")
        parent[slot] = value
    return holder[0]


def _yaml_problem(exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        character = exc.character if isinstance(exc.character, str) else chr(exc.character or 0)
        return Problem(
            "",
            f"The text holds a character YAML does not allow (U+{ord(character):04X} at "
            f"position {exc.position + 1}).",
            "text_not_xml_safe",
        )
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{context}: {problem}" if context and problem else str(problem)
    column = f"column {mark.column + 1}" if mark is not None else ""
    return Problem(
        column, _short(message, 200) + ".", "yaml_syntax", mark.line + 1 if mark else None
    )


def _screen_yaml(text: str) -> None:
    """Refuse aliases (a 'billion laughs' document is a few lines of them) and deep nesting
    before anything is built: libyaml's events, counted, cost little."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise FormatError.one(
                f"column {event.start_mark.column + 1}",
                "YAML aliases (*name) are not taken here; write the values out.",
                "yaml_alias",
                line=event.start_mark.line + 1,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise _deep()
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def from_yaml(text: str | bytes) -> tuple[PlanMeta, list[NodeSpec]]:
    text = decode(text)
    try:
        _screen_yaml(text)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = _yaml_data(loader, root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise FormatError([_yaml_problem(exc)]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # an int of too many digits, say
        raise _unreadable(exc) from None
    except RecursionError:
        raise _deep() from None
    try:
        return from_document(data)
    except FormatError as error:
        raise FormatError(
            [p._replace(line=p.line or _line_of(root, p.path)) for p in error.problems],
            more=error.more,
        ) from None


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _line_of(root: Any, path: str) -> int | None:
    """The line of the value at ``path`` in the composed YAML (or of its nearest parent)."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for name, index in _STEP.findall(path):
        if index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            node = node.value[int(index)]
        elif name and isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if getattr(k, "value", None) == name]
            if not found:
                break
            node = found[0]
        else:
            break
        line = node.start_mark.line + 1
    return line


# --- the document: schema, then meaning -----------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of the plan document."""
    text = resources.files("planning").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def schema_text() -> str:
    return resources.files("planning").joinpath("schema", SCHEMA_FILE).read_text("utf-8")


def _is_integer(checker: Any, instance: Any) -> bool:
    """An integer is an int (not 16.0, not True): a float in a count is a mistake."""
    return isinstance(instance, int) and not isinstance(instance, bool)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@cache
def _validator() -> Any:
    return _Validator(schema())


def _node_schema() -> dict[str, Any]:
    whole = schema()
    return {"$schema": whole["$schema"], "$defs": whole["$defs"], "$ref": "#/$defs/node"}


@cache
def _node_validator() -> Any:
    return _Validator(_node_schema())


@cache
def _fast_node_check() -> Any:
    """The node schema compiled to Python (fastjsonschema): some fifty times faster than
    jsonschema, which takes milliseconds a node; it says only whether a node passes, and takes
    16.0 for an integer, so a node with a float is judged by jsonschema too."""
    return fastjsonschema.compile(_node_schema())


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _node_passes(node: Any) -> bool:
    try:
        _fast_node_check()(node)
    except fastjsonschema.JsonSchemaException:
        return False
    return not _has_float(node)


def _schema_errors(data: Any) -> list[jsonschema.ValidationError]:
    """The schema's errors (up to a bound): the plan's fields by jsonschema, and each node
    that fails the fast check by jsonschema too, for the words of each error."""
    limit = 10 * MAX_PROBLEMS
    nodes = data.get("nodes") if isinstance(data, Mapping) else None
    if not isinstance(nodes, list):
        return list(itertools.islice(_validator().iter_errors(data), limit))
    errors = list(itertools.islice(_validator().iter_errors({**data, "nodes": []}), limit))
    for index, node in enumerate(nodes):
        if len(errors) >= limit:
            break
        if _node_passes(node):
            continue
        for error in itertools.islice(_node_validator().iter_errors(node), limit):
            error.path.extendleft(["nodes", index][::-1])
            errors.append(error)
    return errors


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{_short(str(part), 40)}" if text else _short(str(part), 40)
    return text


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


_TYPE_NAMES = {
    "string": "text",
    "integer": "a whole number",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _schema_problem(error: jsonschema.ValidationError) -> Problem:
    """A schema error in words of our own (jsonschema's quote the value, which may be huge)."""
    path = list(error.absolute_path)
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        missing = [name for name in expected if name not in error.instance]
        return Problem(_path([*path, missing[0] if missing else "?"]), "is missing.", "required")
    if keyword == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        name = _short(str(extra[0]), 40) if extra else "?"
        return Problem(_path([*path, name]), "is not a field of this schema.", "unknown_field")
    if keyword == "type":
        names = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        hint = " (quote it)" if "string" in names and not isinstance(error.instance, str) else ""
        return Problem(_path(path), f"must be {wanted}{hint}.", "type")
    codes = {"const": "schema_version", "minProperties": "intent_not_one"}
    code = codes.get(keyword, "intent_not_one" if keyword == "maxProperties" else keyword)
    return Problem(_path(path), _message(keyword, expected, error.schema), code)


def _message(keyword: str, expected: Any, schema_part: Mapping[str, Any]) -> str:
    if keyword == "const":
        return f"must be {expected!r}."
    if keyword == "enum":
        return "must be one of " + ", ".join(map(str, expected)) + "."
    if keyword in ("minimum", "maximum"):
        return f"must be at {'least' if keyword == 'minimum' else 'most'} {expected}."
    if keyword == "minLength":
        return "cannot be empty." if expected == 1 else f"needs {expected} characters."
    if keyword == "maxLength":
        return f"is longer than {expected} characters."
    if keyword == "maxItems":
        return f"has more than {expected} entries."
    if keyword == "pattern":
        return "holds characters an id cannot have (letters, digits, - and _ only)."
    if keyword in ("minProperties", "maxProperties"):
        return "must hold exactly one of " + ", ".join(schema_part.get("properties", {})) + "."
    return "is not valid here."


def from_document(data: Any) -> tuple[PlanMeta, list[NodeSpec]]:
    """The plan fields and nodes of a parsed document, checked by the schema and for meaning."""
    if data is None:
        raise FormatError.one("", "The document is empty.", "empty")
    if not _nesting_ok(data):
        raise _deep()
    nodes = data.get("nodes") if isinstance(data, Mapping) else None
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        raise FormatError.one("nodes", f"A plan has at most {MAX_NODES} nodes.", "too_many_nodes")
    if isinstance(data, Mapping) and "schema_version" in data:
        version = data["schema_version"]
        if version != SCHEMA_VERSION and isinstance(version, int):
            raise FormatError.one(
                "schema_version",
                f"This is schema version {_short(str(version), 20)}; this app reads "
                f"version {SCHEMA_VERSION}.",
                "schema_version",
            )
    errors = sorted(
        _schema_errors(data),
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in e.path],
    )
    if errors:
        problems = []
        for error in errors:
            problem = _schema_problem(error)
            if problem not in problems:
                problems.append(problem)
        raise FormatError(problems)
    return _Reader(data).read()


class _Reader:
    """The checks of meaning, on a document the schema has passed: every type is right."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.family: str = data["address_family"]
        self.bits = NETMASK_LIMITS[self.family]
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str, code: str) -> None:
        self.problems.append(Problem(path, message, code))

    def text(self, value: str, path: str) -> str:
        found = XML_UNSAFE.search(value)
        if found is not None:
            self.problem(
                path,
                f"contains a character AWS cannot carry (U+{ord(found[0]):04X} at position "
                f"{found.start() + 1}).",
                "text_not_xml_safe",
            )
        return value

    def cidr(self, value: str, path: str) -> IPNetwork | None:
        if XML_UNSAFE.search(value):
            self.text(value, path)
            return None
        parsed = addressing.parse_cidr(value, self.family, field=path)
        if parsed.violation is not None:
            self.problem(path, parsed.violation.message, parsed.violation.code)
        return parsed.network

    def length(self, value: int | None, path: str) -> int | None:
        if value is not None and value > self.bits:
            self.problem(
                path,
                f"A prefix length for {self.family} is between 0 and {self.bits}.",
                "prefix_length_out_of_range",
            )
        return value

    def read(self) -> tuple[PlanMeta, list[NodeSpec]]:
        data = self.data
        name = self.text(data["name"], "name")
        if not name.strip():
            self.problem("name", "cannot be blank.", "name_blank")
        space = [self.cidr(c, f"space[{i}]") for i, c in enumerate(data.get("space") or [])]
        meta = PlanMeta(
            name=name,
            address_family=self.family,
            description=self.text(data.get("description") or "", "description"),
            ipam_id=data.get("ipam_id") or "",
            scope_id=data.get("scope_id") or "",
            parent_pool_id=data.get("parent_pool_id") or "",
            space=tuple(c for c in space if c is not None),
            schema_version=data["schema_version"],
            extra=data.get("meta") or {},
        )
        nodes = [self.node(item, f"nodes[{i}]") for i, item in enumerate(data["nodes"])]
        self.tree(nodes)
        if self.problems:
            raise FormatError(self.problems)
        return meta, nodes

    def node(self, item: Mapping[str, Any], path: str) -> NodeSpec:
        intent_doc = item["intent"]
        cidr = self.cidr(item["cidr"], f"{path}.cidr") if item.get("cidr") else None
        kind, prefix_length, need = Intent.LENGTH, None, None
        if "cidr" in intent_doc:
            kind = Intent.CIDR
            pin = self.cidr(intent_doc["cidr"], f"{path}.intent.cidr")
            if cidr is not None and pin is not None and cidr != pin:
                self.problem(
                    f"{path}.cidr",
                    f"differs from the pinned CIDR {pin}; a pinned node is where it is pinned.",
                    "pin_differs",
                )
            cidr = pin if cidr is None else cidr
        elif "need" in intent_doc:
            kind = Intent.NEED
            need = self.need(intent_doc["need"], f"{path}.intent.need")
        else:
            prefix_length = self.length(intent_doc["prefix_length"], f"{path}.intent.prefix_length")
        rules = item.get("allocation") or {}
        locale = item.get("locale")
        if locale is not None:
            self.text(locale, f"{path}.locale")
            if not locale.strip():
                locale = None  # blank: the parent's, as the table keeps it
        return NodeSpec(
            key=item["id"],
            name=self.text(item["name"], f"{path}.name"),
            parent=item.get("parent"),
            intent=kind,
            prefix_length=prefix_length,
            need=need,
            cidr=cidr,
            locale=locale,
            spare_slots=item.get("spare_slots", 0),
            min_netmask=self.length(rules.get("min"), f"{path}.allocation.min"),
            max_netmask=self.length(rules.get("max"), f"{path}.allocation.max"),
            default_netmask=self.length(rules.get("default"), f"{path}.allocation.default"),
            description=self.text(item.get("description") or "", f"{path}.description"),
            tags=self.tags(item.get("tags") or {}, f"{path}.tags"),
            allocation_resource_tags=self.tags(
                item.get("allocation_resource_tags") or {}, f"{path}.allocation_resource_tags"
            ),
            pool_id=item.get("pool_id") or "",
        )

    def need(self, value: Mapping[str, Any] | None, path: str) -> Need | None:
        if value is None:
            return None
        length = self.length(value.get("prefix_length"), f"{path}.prefix_length")
        hosts = value.get("hosts")
        if length is None and hosts is None:
            self.problem(path, "needs a prefix_length or a number of hosts.", "need_incomplete")
        return Need(
            count=value.get("count", 1),
            length=length,
            hosts=hosts,
            growth=value.get("growth_percent", 0),
        )

    def tags(self, value: Mapping[str, str], path: str) -> tuple[tuple[str, str], ...]:
        for key, text in value.items():
            self.text(key, f"{path}.{_short(key, 40)}")
            self.text(text, f"{path}.{_short(key, 40)}")
        return tuple(sorted(value.items()))

    def tree(self, nodes: list[NodeSpec]) -> None:
        index: dict[str, int] = {}
        for i, node in enumerate(nodes):
            if node.key in index:
                self.problem(
                    f"nodes[{i}].id",
                    f"is the id of nodes[{index[node.key]}] too; ids are unique.",
                    "duplicate_id",
                )
            else:
                index[node.key] = i
        for i, node in enumerate(nodes):
            if node.parent is not None and node.parent not in index:
                self.problem(
                    f"nodes[{i}].parent",
                    f"names no node of this document ({node.parent}).",
                    "parent_unknown",
                )
        _tree_problems(nodes, index, self.problem, lambda i: f"nodes[{i}].parent")


def _tree_problems(nodes: list[NodeSpec], index: Mapping[str, int], report, where) -> None:
    """Cycles and depth past AWS's: each reported once, at the node where it shows."""
    by_key = {n.key: n for n in nodes}
    depth: dict[str, int] = {}
    for node in nodes:
        chain: list[str] = []
        key: str | None = node.key
        while key is not None and key in by_key and key not in depth:
            if key in chain:
                start = chain.index(key)
                for member in chain[start:]:
                    depth[member] = -1
                report(
                    where(index[key]),
                    f"{_short(by_key[key].name or key, 40)} is its own ancestor.",
                    "cycle",
                )
                break
            chain.append(key)
            key = by_key[key].parent
        base = depth.get(key, 0) if key is not None and key in by_key else 0
        for offset, member in enumerate(reversed(chain)):
            if member in depth:
                continue
            depth[member] = -1 if base < 0 else base + offset + 1
            if depth[member] == MAX_POOL_DEPTH + 1:
                report(
                    where(index[member]),
                    f"is at depth {depth[member]}; AWS nests pools at most {MAX_POOL_DEPTH} deep.",
                    "too_deep",
                )


# --- CSV --------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return "'" + text if _FORMULA.match(text) else text


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") and _FORMULA.match(text[1:]) else text


def to_csv(spec: PlanSpec) -> str:
    """id, name, parent, cidr, locale, prefix_length, description: one row per node. The parent
    is named by its name where that name is the plan's only one, else by its id."""
    nodes = ordered(spec)
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node.name] = counts.get(node.name, 0) + 1
    by_key = {n.key: n for n in nodes}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for node in nodes:
        parent = by_key.get(node.parent) if node.parent else None
        if parent is None:
            parent_cell = ""
        elif counts[parent.name] == 1 and parent.name and parent.name not in by_key:
            parent_cell = parent.name
        else:
            parent_cell = parent.key
        length = node.cidr.prefixlen if node.cidr is not None else None
        if length is None:
            length = node.wanted_length(spec.address_family)
        writer.writerow(
            [
                node.key,
                _cell(node.name),
                _cell(parent_cell),
                str(node.cidr) if node.cidr is not None else "",
                _cell(node.locale or ""),
                "" if length is None else str(length),
                _cell(node.description),
            ]
        )
    return out.getvalue()


def _csv_rows(text: str) -> Iterator[list[str]]:
    first = text.partition("\n")[0]
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else ("\t" if "\t" in first else ",")
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def from_csv(
    text: str | bytes, *, address_family: str | None = None
) -> tuple[PlanMeta, list[NodeSpec]]:
    """Nodes from ``name,parent,cidr`` rows (parent by name, or by id with an ``id`` column;
    optional ``locale``, ``prefix_length``, ``description``). A node with a CIDR is pinned;
    one without needs a prefix length. The family is ``address_family``, else the CIDRs'."""
    text = decode(text)
    try:
        rows = list(_bounded(_csv_rows(text)))
    except csv.Error as exc:
        raise FormatError.one(
            "", f"This is not CSV: {_short(str(exc), 120)}.", "csv_syntax"
        ) from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise FormatError.one("row 1", "A header row is missing (name,parent,cidr).", "csv_header")
    return _CsvReader(rows, address_family).read()


def _bounded(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for count, row in enumerate(rows):
        if count > MAX_NODES + 1:
            raise FormatError.one("", f"A plan has at most {MAX_NODES} nodes.", "too_many_nodes")
        yield row


class _CsvReader:
    def __init__(self, rows: list[list[str]], address_family: str | None) -> None:
        self.header = [c.strip().lower().removeprefix("\ufeff") for c in rows[0]]
        self.rows = rows[1:]
        self.family = address_family
        self.problems: list[Problem] = []

    def problem(self, row: int, column: str, message: str, code: str) -> None:
        self.problems.append(Problem(f"row {row}, {column}", message, code))

    def read(self) -> tuple[PlanMeta, list[NodeSpec]]:
        unknown = [c for c in self.header if c not in CSV_COLUMNS]
        missing = [c for c in CSV_REQUIRED if c not in self.header]
        twice = sorted({c for c in self.header if self.header.count(c) > 1})
        header_problems = [
            *(
                Problem(
                    "row 1",
                    f"The column {_short(c, 30)!r} is not one of " + ", ".join(CSV_COLUMNS) + ".",
                    "csv_column_unknown",
                )
                for c in unknown
            ),
            *(
                Problem("row 1", f"The column {c!r} is missing.", "csv_column_missing")
                for c in missing
            ),
            *(
                Problem("row 1", f"The column {c!r} is given twice.", "csv_column_twice")
                for c in twice
            ),
        ]
        if header_problems:
            raise FormatError(header_problems)
        records = []
        for number, row in enumerate(self.rows, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(self.header):
                self.problem(
                    number,
                    "cells",
                    f"has {len(row)} cells; the header has {len(self.header)}.",
                    "csv_row_long",
                )
                continue
            cells = {c: row[i].strip() if i < len(row) else "" for i, c in enumerate(self.header)}
            for column in ("name", "parent", "locale", "description"):
                if column in cells:
                    cells[column] = _uncell(cells[column])
            records.append((number, cells))
        if self.family is None:
            self.family = self._family(records)
        if self.family is None:  # the rows are still read, as if of the longer family
            self.problems.append(
                Problem(
                    "address_family",
                    "No CIDR says whether this is an ipv4 or an ipv6 plan; choose the family.",
                    "family_unknown",
                )
            )
        bits = NETMASK_LIMITS[self.family or "ipv6"]
        nodes, numbers = [], []
        for number, cells in records:
            node = self._node(number, cells, bits)
            if node is not None:
                nodes.append(node)
                numbers.append(number)
        nodes = self._parents(nodes, numbers, records)
        index = {n.key: i for i, n in enumerate(nodes)}
        _tree_problems(
            nodes,
            index,
            lambda where, message, code: self.problems.append(Problem(where, message, code)),
            lambda i: f"row {numbers[i]}, parent",
        )
        if self.problems:
            raise FormatError(self.problems)
        return PlanMeta(address_family=self.family or None), nodes

    def _family(self, records: list[tuple[int, dict[str, str]]]) -> str | None:
        for _, cells in records:
            parsed = addressing.parse_cidr(cells.get("cidr", "")) if cells.get("cidr") else None
            if parsed is not None and parsed.network is not None:
                return next(f for f, v in FAMILY_VERSION.items() if v == parsed.network.version)
        return None

    def _text(self, number: int, column: str, value: str, limit: int | None = None) -> str:
        found = XML_UNSAFE.search(value)
        if found is not None:
            self.problem(
                number,
                column,
                f"contains a character AWS cannot carry (U+{ord(found[0]):04X} at position "
                f"{found.start() + 1}).",
                "text_not_xml_safe",
            )
        elif limit is not None and len(value) > limit:
            self.problem(number, column, f"is longer than {limit} characters.", "too_long")
        return value

    def _node(self, number: int, cells: dict[str, str], bits: int) -> NodeSpec | None:
        before = len(self.problems)
        name = self._text(number, "name", cells["name"], MAX_TAG_VALUE_LENGTH)
        if not name:
            self.problem(number, "name", "is empty; every node needs a name.", "name_blank")
        key = cells.get("id", "")
        if key and not KEY_PATTERN.fullmatch(key):
            self.problem(
                number,
                "id",
                f"holds characters an id cannot have, or more than {MAX_KEY_LENGTH}.",
                "pattern",
            )
        self._text(number, "parent", cells.get("parent", ""), MAX_TAG_VALUE_LENGTH)
        locale = self._text(number, "locale", cells.get("locale", ""), MAX_LOCALE_LENGTH)
        description = self._text(number, "description", cells.get("description", ""))
        cidr = None
        if cells.get("cidr"):
            if XML_UNSAFE.search(cells["cidr"]):
                self._text(number, "cidr", cells["cidr"])
            else:
                parsed = addressing.parse_cidr(cells["cidr"], self.family)
                if parsed.violation is not None:
                    self.problem(number, "cidr", parsed.violation.message, parsed.violation.code)
                cidr = parsed.network
        length = None
        text = cells.get("prefix_length", "")
        if text:
            if not (text.isascii() and text.isdigit() and len(text) <= 3) or int(text) > bits:
                self.problem(
                    number,
                    "prefix_length",
                    f"A prefix length for {self.family or 'ipv6'} is a number between 0 and "
                    f"{bits}.",
                    "prefix_length_out_of_range",
                )
            else:
                length = int(text)
        if cidr is not None and length is not None and length != cidr.prefixlen:
            self.problem(
                number,
                "prefix_length",
                f"differs from the CIDR's (/{cidr.prefixlen}).",
                "pin_differs",
            )
        if not cells.get("cidr") and not text:
            self.problem(number, "cidr", "Give a CIDR (pinned) or a prefix length.", "size_missing")
        if len(self.problems) > before:
            return None
        return NodeSpec(
            key=key or new_key(),
            name=name,
            parent=cells.get("parent") or None,  # a name or an id: resolved below
            intent=Intent.CIDR if cidr is not None else Intent.LENGTH,
            prefix_length=None if cidr is not None else length,
            cidr=cidr,
            locale=locale or None,
            description=description,
        )

    def _parents(
        self, nodes: list[NodeSpec], numbers: list[int], records: list[tuple[int, dict[str, str]]]
    ) -> list[NodeSpec]:
        """Each parent cell as a key: a row's id, else a name only one row has."""
        keys: dict[str, int] = {}
        for i, node in enumerate(nodes):
            if node.key in keys:
                self.problem(
                    numbers[i], "id", f"is row {numbers[keys[node.key]]}'s id too.", "duplicate_id"
                )
            keys.setdefault(node.key, i)
        named: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            named.setdefault(node.name, []).append(i)
        has_ids = "id" in self.header
        resolved = []
        for i, node in enumerate(nodes):
            parent = node.parent
            if parent is not None:
                if has_ids and parent in keys:
                    parent = nodes[keys[parent]].key
                elif len(named.get(parent, [])) == 1:
                    parent = nodes[named[parent][0]].key
                elif named.get(parent):
                    rows = ", ".join(str(numbers[j]) for j in named[parent][:5])
                    self.problem(
                        numbers[i],
                        "parent",
                        f"{_short(parent, 40)!r} names rows {rows}; give the rows ids and "
                        "name the parent by its id.",
                        "parent_ambiguous",
                    )
                    parent = None
                else:
                    self.problem(
                        numbers[i],
                        "parent",
                        f"no row is named {_short(parent, 40)!r}.",
                        "parent_unknown",
                    )
                    parent = None
            resolved.append(replace(node, parent=parent))
        return resolved
