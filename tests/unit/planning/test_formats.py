"""The plan's formats: YAML and JSON round-trip any plan without loss (node ids kept), CSV keeps
a plan's tree, and every hostile or broken document is refused with the path and code of each
problem, never an exception of another kind."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from awsipam.constants import (
    AWS_ID_PATTERN,
    MAX_POOL_DEPTH,
    MAX_TAG_VALUE_LENGTH,
    NETMASK_LIMITS,
)
from awsipam.rules import XML_UNSAFE
from planning import formats
from planning import spec as plan_spec
from planning.formats import FormatError
from planning.spec import Intent, Need, NodeSpec, PlanSpec, Tree

REGIONS = ["us-east-1", "us-west-2", "eu-central-1", "us-west-2-lax-1"]

# --- random plans ---------------------------------------------------------------------------------

SAFE_CHAR = st.characters(exclude_categories=("Cs",)).filter(lambda c: not XML_UNSAFE.match(c))
TRICKY = st.sampled_from(
    ["null", "~", "yes", "No", "1e5", "0x1F", "1_000", "<<", "- x", "a: b", "#", "'", '"',
     "${x}", "%{y}", "\\", "\u2028", "\x85", "\ufeff", "é", "🙂", " lead", "trail ", "a\nb",
     "=cmd", "'=x", "@", "\t", ""]
)  # fmt: skip


def safe_text(max_size: int = 40) -> st.SearchStrategy[str]:
    return st.one_of(st.text(SAFE_CHAR, max_size=max_size), TRICKY)


def network(family: str) -> st.SearchStrategy[IPNetwork]:
    bits = NETMASK_LIMITS[family]
    version = 4 if family == "ipv4" else 6
    return st.builds(
        lambda value, length: IPNetwork((value, length), version=version).cidr,
        st.integers(0, (1 << bits) - 1),
        st.integers(0, bits),
    )


def tags() -> st.SearchStrategy[tuple[tuple[str, str], ...]]:
    return st.dictionaries(safe_text(20), safe_text(30), max_size=4).map(
        lambda d: tuple(sorted(d.items()))
    )


HEX = "0123456789abcdef"
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=False),
    st.sampled_from(["n-1", "a b", "10.0.0.0/8", "", "x" * 300, 16.0, 2**70]),
    st.text(max_size=5),
)
POOL_ID = st.text(HEX, min_size=17, max_size=17).map("ipam-pool-".__add__)
KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
KEY = st.text(KEY_CHARS, min_size=1, max_size=formats.MAX_KEY_LENGTH)


@st.composite
def nodes_of(draw, family: str, max_nodes: int = 25) -> tuple[NodeSpec, ...]:
    bits = NETMASK_LIMITS[family]
    length = st.one_of(st.none(), st.integers(0, bits))
    keys = draw(st.lists(KEY, min_size=0, max_size=max_nodes, unique=True))
    nodes: list[NodeSpec] = []
    depth: dict[str, int] = {}
    for key in keys:
        parents = [n.key for n in nodes if depth[n.key] < MAX_POOL_DEPTH]
        parent = draw(st.one_of(st.none(), st.sampled_from(parents))) if parents else None
        depth[key] = 1 + (depth[parent] if parent else 0)
        intent = draw(st.sampled_from([Intent.CIDR, Intent.LENGTH, Intent.NEED]))
        cidr = draw(network(family)) if intent == Intent.CIDR else draw(st.none() | network(family))
        need = None
        if intent == Intent.NEED:
            need = draw(
                st.none()
                | st.builds(
                    Need,
                    count=st.integers(1, plan_spec.MAX_NEED_COUNT),
                    length=st.integers(0, bits),
                    hosts=st.none(),
                    growth=st.integers(0, plan_spec.MAX_GROWTH_PERCENT),
                )
                | st.builds(
                    Need,
                    count=st.integers(1, plan_spec.MAX_NEED_COUNT),
                    length=length,
                    hosts=st.integers(1, plan_spec.MAX_HOSTS),
                    growth=st.integers(0, plan_spec.MAX_GROWTH_PERCENT),
                )
            )
        locale = draw(
            st.one_of(
                st.none(),
                st.just("None"),
                st.sampled_from(REGIONS),
                st.text(SAFE_CHAR, min_size=1, max_size=64).filter(str.strip),
            )
        )
        nodes.append(
            NodeSpec(
                key=key,
                name=draw(safe_text() | st.just("n" * MAX_TAG_VALUE_LENGTH)),
                parent=parent,
                intent=intent,
                prefix_length=draw(length) if intent == Intent.LENGTH else None,
                need=need,
                cidr=cidr,
                locale=locale,
                spare_slots=draw(st.integers(0, formats.MAX_SPARE_SLOTS)),
                min_netmask=draw(length),
                max_netmask=draw(length),
                default_netmask=draw(length),
                description=draw(safe_text()),
                tags=draw(tags()),
                allocation_resource_tags=draw(tags()),
                pool_id=draw(st.one_of(st.just(""), POOL_ID)),
            )
        )
    return tuple(nodes)


@st.composite
def plans(draw, max_nodes: int = 15) -> PlanSpec:
    family = draw(st.sampled_from(["ipv4", "ipv6"]))
    return PlanSpec(
        name=draw(st.text(SAFE_CHAR, min_size=1, max_size=40).filter(str.strip)),
        address_family=family,
        nodes=draw(nodes_of(family, max_nodes)),
        space=tuple(draw(st.lists(network(family), max_size=3))),
        parent_pool_id=draw(st.one_of(st.just(""), POOL_ID)),
        ipam_id=draw(
            st.one_of(st.just(""), st.text(HEX, min_size=17, max_size=17).map("ipam-".__add__))
        ),
        scope_id=draw(st.just("ipam-scope-0123456789abcdef0")),
        description=draw(safe_text()),
    )


def same_plan(meta: formats.PlanMeta, nodes: list[NodeSpec], spec: PlanSpec) -> None:
    assert meta.spec(sorted(nodes, key=lambda n: n.key)) == spec.with_nodes(
        sorted(spec.nodes, key=lambda n: n.key)
    )
    assert {n.key for n in nodes} == {n.key for n in spec.nodes}


# --- the round trips ------------------------------------------------------------------------------


@given(spec=plans())
def test_the_document_round_trips_any_plan(spec):
    meta, nodes = formats.from_document(formats.to_document(spec, meta={"plan_id": 7}))
    same_plan(meta, nodes, spec)
    assert meta.extra == {"plan_id": 7}


@given(spec=plans())
def test_yaml_round_trips_any_plan(spec):
    text = formats.to_yaml(spec, schema_url="http://testserver/plans/schema/v1.json")
    same_plan(*formats.from_yaml(text), spec)
    same_plan(*formats.from_yaml(text.encode()), spec)


@given(spec=plans())
def test_json_round_trips_any_plan(spec):
    text = formats.to_json(spec)
    same_plan(*formats.from_json(text), spec)
    assert json.loads(text)["schema_version"] == formats.SCHEMA_VERSION


def csv_plans() -> st.SearchStrategy[PlanSpec]:
    """Plans CSV can carry: names without surrounding spaces, pinned or sized by length."""

    def carried(spec: PlanSpec) -> PlanSpec:
        nodes = []
        for n in spec.nodes:
            pinned = n.cidr is not None
            length = n.prefix_length if n.prefix_length is not None else 8
            nodes.append(
                NodeSpec(
                    key=n.key,
                    name=n.name.strip() or n.key,
                    parent=n.parent,
                    intent=Intent.CIDR if pinned else Intent.LENGTH,
                    prefix_length=None if pinned else length,
                    cidr=n.cidr,
                    locale=n.locale.strip() if n.locale else None,
                    description=n.description.strip(),
                )
            )
        return spec.with_nodes(nodes)

    return plans().map(carried)


@given(spec=csv_plans())
def test_csv_keeps_the_tree(spec):
    meta, nodes = formats.from_csv(formats.to_csv(spec), address_family=spec.address_family)
    assert meta.address_family == spec.address_family
    assert sorted(nodes, key=lambda n: n.key) == sorted(spec.nodes, key=lambda n: n.key)


def test_the_document_names_parents_before_children_and_keeps_ids():
    spec = PlanSpec(
        "p",
        "ipv4",
        (
            NodeSpec("n-2", "b", "n-1", prefix_length=16),
            NodeSpec("n-1", "a", None, intent=Intent.CIDR, cidr=IPNetwork("10.0.0.0/8")),
        ),
    )
    document = formats.to_document(spec)
    assert [n["id"] for n in document["nodes"]] == ["n-1", "n-2"]
    assert document["nodes"][0]["intent"] == {"cidr": "10.0.0.0/8"}
    assert document["nodes"][1]["intent"] == {"prefix_length": 16}
    assert document["nodes"][1]["locale"] is None  # inherited
    assert formats._validator().is_valid(document)


def test_a_need_is_written_with_its_parts():
    node = NodeSpec("n", "n", intent=Intent.NEED, need=Need(count=3, length=24, growth=20))
    document = formats.to_document(PlanSpec("p", "ipv4", (node,)))
    assert document["nodes"][0]["intent"] == {
        "need": {"count": 3, "prefix_length": 24, "hosts": None, "growth_percent": 20}
    }


# --- the schema -----------------------------------------------------------------------------------


def test_the_schema_is_a_valid_json_schema_of_its_version():
    schema = formats.schema()
    formats._Validator.check_schema(schema)
    assert schema["properties"]["schema_version"]["const"] == formats.SCHEMA_VERSION
    assert formats.SCHEMA_FILE.endswith(f"v{plan_spec.SCHEMA_VERSION}.schema.json")


def test_the_schema_s_limits_are_the_project_s():
    """The published schema restates limits whose one home is Python: they must agree."""
    schema = formats.schema()
    defs = schema["$defs"]
    assert schema["properties"]["nodes"]["maxItems"] == formats.MAX_NODES
    assert schema["properties"]["space"]["maxItems"] == formats.MAX_SPACE_CIDRS
    assert schema["properties"]["name"]["maxLength"] == MAX_TAG_VALUE_LENGTH
    assert defs["netmask_or_none"]["maximum"] == max(NETMASK_LIMITS.values())
    need = defs["need"]["properties"]
    assert need["count"]["maximum"] == plan_spec.MAX_NEED_COUNT
    assert need["hosts"]["maximum"] == plan_spec.MAX_HOSTS
    assert need["growth_percent"]["maximum"] == plan_spec.MAX_GROWTH_PERCENT
    node = defs["node"]["properties"]
    assert node["id"]["pattern"] == f"^{formats.KEY_PATTERN.pattern}$"
    assert node["name"]["maxLength"] == MAX_TAG_VALUE_LENGTH
    assert node["locale"]["maxLength"] == formats.MAX_LOCALE_LENGTH
    assert node["spare_slots"]["maximum"] == formats.MAX_SPARE_SLOTS
    assert defs["aws_id_or_none"]["pattern"] == f"^({AWS_ID_PATTERN})?$"
    assert defs["aws_id_or_none"]["maxLength"] == formats.MAX_POOL_ID_LENGTH


# --- refusals: each with its path and code --------------------------------------------------------


def good_document() -> dict:
    spec = PlanSpec(
        "plan",
        "ipv4",
        (
            NodeSpec("top", "top", intent=Intent.CIDR, cidr=IPNetwork("10.0.0.0/8")),
            NodeSpec("east", "east", "top", prefix_length=16, locale="us-east-1"),
            NodeSpec("vpc", "vpc", "east", intent=Intent.NEED, need=Need(count=2, length=24)),
        ),
        space=(IPNetwork("10.0.0.0/8"),),
        scope_id="ipam-scope-0123456789abcdef0",
    )
    return formats.to_document(spec)


def refused(document) -> list[tuple[str, str]]:
    with pytest.raises(FormatError) as caught:
        formats.from_document(document)
    return [(p.path, p.code) for p in caught.value.problems]


def changed(**edits) -> dict:
    """The good document with ``path=value`` edits (``nodes__1__intent`` is nodes[1].intent)."""
    document = good_document()
    for path, value in edits.items():
        *steps, last = [int(s) if s.isdigit() else s for s in path.split("__")]
        target = document
        for step in steps:
            target = target[step]
        target[last] = value
    return document


def test_a_good_document_is_read():
    meta, nodes = formats.from_document(good_document())
    assert meta.name == "plan"
    assert meta.scope_id == "ipam-scope-0123456789abcdef0"
    assert [n.key for n in nodes] == ["top", "east", "vpc"]


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        (
            {"nodes__1__intent": {"prefix_length": 33}},
            ("nodes[1].intent.prefix_length", "prefix_length_out_of_range"),
        ),
        (
            {"nodes__1__intent": {"prefix_length": 129}},
            ("nodes[1].intent.prefix_length", "maximum"),
        ),
        ({"nodes__1__intent": {"prefix_length": 16.0}}, ("nodes[1].intent.prefix_length", "type")),
        ({"nodes__1__intent": {"prefix_length": True}}, ("nodes[1].intent.prefix_length", "type")),
        ({"nodes__1__intent": {"prefix_length": "16"}}, ("nodes[1].intent.prefix_length", "type")),
        ({"nodes__1__intent": {}}, ("nodes[1].intent", "intent_not_one")),
        (
            {"nodes__1__intent": {"prefix_length": 16, "cidr": "10.0.0.0/16"}},
            ("nodes[1].intent", "intent_not_one"),
        ),
        ({"nodes__1__intent": {"cidr": None}}, ("nodes[1].intent.cidr", "type")),
        (
            {"nodes__0__intent": {"cidr": "10.0.0.1/8"}},
            ("nodes[0].intent.cidr", "cidr_host_bits_set"),
        ),
        (
            {"nodes__0__intent": {"cidr": "2001:db8::/32"}},
            ("nodes[0].intent.cidr", "cidr_wrong_family"),
        ),
        ({"nodes__0__intent": {"cidr": "10.0.0.0/33"}}, ("nodes[0].intent.cidr", "cidr_invalid")),
        ({"nodes__0__cidr": "11.0.0.0/8"}, ("nodes[0].cidr", "pin_differs")),
        (
            {"nodes__2__intent": {"need": {"count": 0, "prefix_length": 24}}},
            ("nodes[2].intent.need.count", "minimum"),
        ),
        ({"nodes__2__intent": {"need": {"count": 2}}}, ("nodes[2].intent.need", "need_incomplete")),
        (
            {"nodes__2__intent": {"need": {"hosts": 2**65}}},
            ("nodes[2].intent.need.hosts", "maximum"),
        ),
        (
            {"nodes__2__intent": {"need": {"prefix_length": 24, "growth_percent": 5000}}},
            ("nodes[2].intent.need.growth_percent", "maximum"),
        ),
        (
            {"nodes__2__intent": {"need": {"prefix_length": 24, "size": 1}}},
            ("nodes[2].intent.need.size", "unknown_field"),
        ),
        ({"nodes__1__parent": "nowhere"}, ("nodes[1].parent", "parent_unknown")),
        ({"nodes__1__parent": "has space"}, ("nodes[1].parent", "pattern")),
        ({"nodes__0__parent": "vpc"}, ("nodes[0].parent", "cycle")),
        ({"nodes__0__parent": "top"}, ("nodes[0].parent", "cycle")),
        ({"nodes__1__id": "top"}, ("nodes[1].id", "duplicate_id")),
        ({"nodes__1__id": "x" * 33}, ("nodes[1].id", "pattern")),
        ({"nodes__1__name": "a\x00b"}, ("nodes[1].name", "text_not_xml_safe")),
        ({"nodes__1__name": "\ufffe"}, ("nodes[1].name", "text_not_xml_safe")),
        ({"nodes__1__name": "x" * 257}, ("nodes[1].name", "maxLength")),
        ({"nodes__1__description": "bell\x07"}, ("nodes[1].description", "text_not_xml_safe")),
        ({"nodes__1__locale": "us\x00east"}, ("nodes[1].locale", "text_not_xml_safe")),
        ({"nodes__1__locale": "x" * 65}, ("nodes[1].locale", "maxLength")),
        ({"nodes__1__tags": {"k": 5}}, ("nodes[1].tags.k", "type")),
        ({"nodes__1__tags": {"k\x1f": "v"}}, ("nodes[1].tags.k\x1f", "text_not_xml_safe")),
        (
            {"nodes__1__allocation": {"min": 40}},
            ("nodes[1].allocation.min", "prefix_length_out_of_range"),
        ),
        ({"nodes__1__allocation": {"least": 4}}, ("nodes[1].allocation.least", "unknown_field")),
        ({"nodes__1__spare_slots": -1}, ("nodes[1].spare_slots", "minimum")),
        ({"nodes__1__spare_slots": 40000}, ("nodes[1].spare_slots", "maximum")),
        ({"nodes__1__pool_id": "ipam pool"}, ("nodes[1].pool_id", "pattern")),
        ({"nodes__1__colour": "red"}, ("nodes[1].colour", "unknown_field")),
        ({"address_family": "ipv5"}, ("address_family", "enum")),
        ({"schema_version": "1"}, ("schema_version", "schema_version")),
        ({"schema_version": 2}, ("schema_version", "schema_version")),
        ({"name": ""}, ("name", "minLength")),
        ({"name": "   "}, ("name", "name_blank")),
        ({"space": ["10.0.0.0/8", "172.16.0.1/12"]}, ("space[1]", "cidr_host_bits_set")),
        ({"scope_id": "scope\x00"}, ("scope_id", "pattern")),
        ({"nodes": {}}, ("nodes", "type")),
    ],
)
def test_a_broken_document_is_refused_at_the_value(edits, expected):
    assert expected in refused(changed(**edits))


def test_a_missing_field_is_named():
    document = good_document()
    del document["nodes"][1]["intent"]
    del document["address_family"]
    problems = refused(document)
    assert ("address_family", "required") in problems
    assert ("nodes[1].intent", "required") in problems


def test_a_tree_deeper_than_aws_allows_is_refused():
    nodes = [{"id": "n0", "name": "n0", "intent": {"prefix_length": 8}}]
    nodes += [
        {"id": f"n{i}", "name": f"n{i}", "parent": f"n{i - 1}", "intent": {"prefix_length": 8}}
        for i in range(1, MAX_POOL_DEPTH + 3)
    ]
    document = {**good_document(), "nodes": nodes}
    assert refused(document) == [(f"nodes[{MAX_POOL_DEPTH}].parent", "too_deep")]
    document["nodes"] = nodes[:MAX_POOL_DEPTH]
    formats.from_document(document)


def test_too_many_nodes_are_refused_before_anything_else():
    document = {**good_document(), "nodes": [{}] * (formats.MAX_NODES + 1)}
    assert refused(document) == [("nodes", "too_many_nodes")]


def test_problems_are_capped_and_counted():
    document = good_document()
    document["nodes"] = [{"id": f"n{i}", "name": 1, "intent": {}} for i in range(200)]
    with pytest.raises(FormatError) as caught:
        formats.from_document(document)
    assert len(caught.value.problems) == formats.MAX_PROBLEMS
    assert caught.value.more > 0


@pytest.mark.parametrize("value", [None, [], "plan", 5, [{"a": 1}]])
def test_a_document_that_is_no_mapping_is_refused(value):
    with pytest.raises(FormatError):
        formats.from_document(value)


# --- the text's own bounds: YAML and JSON ---------------------------------------------------------


def yaml_refused(text: str | bytes) -> list[tuple[str, str]]:
    with pytest.raises(FormatError) as caught:
        formats.from_yaml(text)
    return [p.code for p in caught.value.problems]


def json_refused(text: str | bytes) -> list[str]:
    with pytest.raises(FormatError) as caught:
        formats.from_json(text)
    return [p.code for p in caught.value.problems]


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (BILLION_LAUGHS, "yaml_alias"),
        ("a: &x 1\nb: *x\n", "yaml_alias"),
        ("[" * 50 + "]" * 50, "too_deep"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 40)), "too_deep"),
        ("nodes: [", "yaml_syntax"),
        ("name: a\nname: b\n", "duplicate_key"),
        ("a: !!set {x}\n", "yaml_tag"),
        ("a: !custom x\n", "yaml_tag"),
        ("<<: {a: 1}\n", "yaml_key"),
        ("--- 1\n--- 2\n", "yaml_syntax"),
        ("x: !!python/object/apply:os.system ['true']", "yaml_tag"),
        ("x: 1" + "9" * 5000, "number_too_long"),
        ("a\x00b: 1", "text_not_xml_safe"),
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- 1\n- 2\n", "type"),
        ("name: [unhashable]\n? [a]\n: b\n", "yaml_key"),
        ("a: =\n", "unknown_field"),  # "=" is read as text, then refused by the schema
    ],
)
def test_hostile_yaml_is_refused(text, code):
    assert code in yaml_refused(text)


def test_a_yaml_problem_has_its_line():
    text = formats.to_yaml(PlanSpec("p", "ipv4", (NodeSpec("a", "a", prefix_length=16),)))
    text = text.replace("prefix_length: 16", "prefix_length: 99")
    with pytest.raises(FormatError) as caught:
        formats.from_yaml(text)
    (problem,) = caught.value.problems
    assert problem.path == "nodes[0].intent.prefix_length"
    assert text.splitlines()[problem.line - 1].strip() == "prefix_length: 99"
    assert str(problem).startswith(f"line {problem.line}: nodes[0].intent.prefix_length")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("[" * 100_000, "too_deep"),
        ("[" * 200 + "]" * 200, "too_deep"),
        ('{"a": 1, "a": 2}', "duplicate_key"),
        ("NaN", "unreadable"),
        ('{"x": Infinity}', "unreadable"),
        ("1" * 5000, "number_too_long"),
        ("{", "json_syntax"),
        ('{"a": "\x00"}', "json_syntax"),
        ('{"name": "\\u0000"}', "required"),
        ("", "json_syntax"),
    ],
)
def test_hostile_json_is_refused(text, code):
    assert code in json_refused(text)


def test_a_nul_escaped_in_json_is_refused_at_its_field():
    document = changed(nodes__1__name="a\x00")
    assert "text_not_xml_safe" in json_refused(json.dumps(document))


def test_documents_over_the_size_limit_are_refused_unread():
    big = b"#" * (formats.MAX_DOCUMENT_BYTES + 1)
    assert yaml_refused(big) == ["document_too_large"]
    assert json_refused(big.decode()) == ["document_too_large"]
    with pytest.raises(FormatError) as caught:
        formats.from_csv(big)
    assert caught.value.problems[0].code == "document_too_large"


def test_text_that_is_not_utf8_is_refused():
    assert yaml_refused(b"name: caf\xe9\n") == ["not_utf8"]


def test_a_byte_order_mark_is_dropped():
    text = formats.to_yaml(PlanSpec("p", "ipv4", ()))
    assert formats.from_yaml(("\ufeff" + text).encode())[0].name == "p"


@pytest.mark.parametrize(
    ("text", "filename", "fmt"),
    [
        ("", "plan.yml", "yaml"),
        ("", "PLAN.JSON", "json"),
        ("", "pools.csv", "csv"),
        ('  {"a": 1}', "", "json"),
        ("name,parent,cidr\n", "", "csv"),
        ("Name;Parent;CIDR\n", "", "csv"),
        ("name: x\nnodes: []\n", "", "yaml"),
        ("schema_version: 1\n", "upload.txt", "yaml"),
    ],
)
def test_the_format_is_detected(text, filename, fmt):
    assert formats.detect_format(text, filename) == fmt


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_export_has_the_columns_and_names_parents():
    spec = PlanSpec(
        "p",
        "ipv4",
        (
            NodeSpec("a", "top", intent=Intent.CIDR, cidr=IPNetwork("10.0.0.0/8"), locale="None"),
            NodeSpec("b", "=SUM(A1)", "a", prefix_length=16, cidr=IPNetwork("10.0.0.0/16")),
            NodeSpec("c", "dup", "b", prefix_length=24),
            NodeSpec("d", "dup", "a", prefix_length=24),
            NodeSpec("e", "leaf", "d", prefix_length=28),
        ),
    )
    rows = [line.split(",") for line in formats.to_csv(spec).splitlines()]
    assert rows[0] == list(formats.CSV_COLUMNS)
    by_id = {r[0]: dict(zip(formats.CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert by_id["a"]["locale"] == "None"
    assert by_id["b"]["name"] == "'=SUM(A1)"  # no formula for a spreadsheet
    assert by_id["b"]["parent"] == "top"
    assert by_id["c"]["parent"] == "'=SUM(A1)"
    assert by_id["e"]["parent"] == "d"  # two nodes are named dup: the parent goes by id
    assert by_id["b"]["prefix_length"] == "16"
    _, nodes = formats.from_csv(formats.to_csv(spec), address_family="ipv4")
    assert {n.key: n.parent for n in nodes} == {n.key: n.parent for n in spec.nodes}


def test_csv_import_of_name_parent_cidr():
    text = (
        "Name,Parent,CIDR,prefix_length,locale\n"
        "global,,10.0.0.0/8,,\n"
        "us-east-1,global,,12,us-east-1\n"
        "prod,us-east-1,,16,\n"
    )
    meta, nodes = formats.from_csv(text)
    assert meta.address_family == "ipv4"
    by_name = {n.name: n for n in nodes}
    assert by_name["global"].pinned
    assert str(by_name["global"].cidr) == "10.0.0.0/8"
    assert by_name["us-east-1"].parent == by_name["global"].key
    assert by_name["us-east-1"].intent == Intent.LENGTH
    assert by_name["us-east-1"].prefix_length == 12
    assert by_name["us-east-1"].locale == "us-east-1"
    assert by_name["prod"].locale is None
    assert len({n.key for n in nodes}) == 3


def test_csv_with_semicolons_and_a_bom():
    meta, nodes = formats.from_csv("\ufeffname;cidr\nv6;2001:db8::/32\n".encode())
    assert meta.address_family == "ipv6"
    assert nodes[0].cidr == IPNetwork("2001:db8::/32")


def csv_refused(text: str, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(FormatError) as caught:
        formats.from_csv(text, **kwargs)
    return [(p.path, p.code) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name,colour\n", ("row 1", "csv_column_unknown")),
        ("parent,cidr\n", ("row 1", "csv_column_missing")),
        ("name,name\n", ("row 1", "csv_column_twice")),
        ("", ("row 1", "csv_header")),
        ("name,cidr\na,10.0.0.1/8\n", ("row 2, cidr", "cidr_host_bits_set")),
        ("name,cidr\na,10.0.0.0/8\nb,2001:db8::/32\n", ("row 3, cidr", "cidr_wrong_family")),
        ("name,cidr\n,10.0.0.0/8\n", ("row 2, name", "name_blank")),
        ("name,cidr\na\x00,10.0.0.0/8\n", ("row 2, name", "text_not_xml_safe")),
        (
            "name,cidr,description\na,10.0.0.0/8,\ufffe\n",
            ("row 2, description", "text_not_xml_safe"),
        ),
        ("name,cidr\n" + "x" * 300 + ",10.0.0.0/8\n", ("row 2, name", "too_long")),
        ("name,prefix_length\na,²\n", ("row 2, prefix_length", "prefix_length_out_of_range")),
        (
            "name,prefix_length\na," + "9" * 5000 + "\n",
            ("row 2, prefix_length", "prefix_length_out_of_range"),
        ),
        (
            "name,cidr,prefix_length\nv4,10.0.0.0/8,\na,,33\n",
            ("row 3, prefix_length", "prefix_length_out_of_range"),
        ),
        ("name,cidr,prefix_length\na,10.0.0.0/8,9\n", ("row 2, prefix_length", "pin_differs")),
        ("name,parent\na,\n", ("row 2, cidr", "size_missing")),
        ("name,parent,cidr\na,b,10.0.0.0/8\n", ("row 2, parent", "parent_unknown")),
        ("name,parent,cidr\na,a,10.0.0.0/8\n", ("row 2, parent", "cycle")),
        ("name,parent,cidr\na,b,10.0.0.0/8\nb,a,10.0.0.0/9\n", ("row 2, parent", "cycle")),
        (
            "name,parent,cidr\nx,,10.0.0.0/8\nx,,11.0.0.0/8\nc,x,10.0.0.0/9\n",
            ("row 4, parent", "parent_ambiguous"),
        ),
        ("id,name,cidr\nn 1,a,10.0.0.0/8\n", ("row 2, id", "pattern")),
        ("id,name,cidr\nn1,a,10.0.0.0/8\nn1,b,11.0.0.0/8\n", ("row 3, id", "duplicate_id")),
        ("name,cidr\na,10.0.0.0/8,extra\n", ("row 2, cells", "csv_row_long")),
        ('name,cidr\n"a,10.0.0.0/8\n', ("", "csv_syntax")),
        ("name,prefix_length\na,16\n", ("address_family", "family_unknown")),
    ],
)
def test_a_broken_csv_is_refused_at_the_row_and_column(text, expected):
    assert expected in csv_refused(text)


def test_a_csv_deeper_than_aws_allows_is_refused():
    rows = ["name,parent,prefix_length"] + [
        f"n{i},{f'n{i - 1}' if i else ''},{8 + i}" for i in range(MAX_POOL_DEPTH + 1)
    ]
    assert csv_refused("\n".join(rows), address_family="ipv4") == [
        (f"row {MAX_POOL_DEPTH + 2}, parent", "too_deep")
    ]


def test_a_csv_parent_by_id_wins_over_a_name():
    text = "id,name,parent,cidr\nx,a,,10.0.0.0/8\ny,x,,11.0.0.0/8\nz,c,x,10.0.0.0/9\n"
    _, nodes = formats.from_csv(text)
    assert {n.key: n.parent for n in nodes}["z"] == "x"


@settings(max_examples=60)
@given(text=st.text(max_size=300))
def test_any_text_is_read_or_refused_with_problems(text):
    for read in (formats.from_yaml, formats.from_json, formats.from_csv):
        problems: list = []
        try:
            read(text)
        except FormatError as err:
            problems = err.problems or [None]
        assert all(p is not None and p.code for p in problems)


def test_the_tree_of_a_read_document_is_whole():
    _, nodes = formats.from_document(good_document())
    assert len(list(Tree.of(nodes).walk())) == len(nodes)


def test_yaml_export_carries_the_schema_for_editors():
    text = formats.to_yaml(PlanSpec("p", "ipv4", ()), schema_url="http://h/plans/schema/v1.json")
    assert text.startswith("# yaml-language-server: $schema=http://h/plans/schema/v1.json\n")
    assert "$schema" not in yaml.safe_load(text)
    document = json.loads(formats.to_json(PlanSpec("p", "ipv4", ()), schema_url="http://h/s"))
    assert document["$schema"] == "http://h/s"


def test_long_keys_and_odd_text_read_back_from_yaml():
    node = NodeSpec(
        "n",
        "yes",
        tags=tuple(sorted([("k" * 1100, "v"), ("a: b", "#x"), ("<<", "=")])),
        description="x\x85y\u2028z\x7f",
        locale="None",
    )
    spec = PlanSpec("1_000", "ipv4", (node,))
    assert formats.from_yaml(formats.to_yaml(spec))[1] == [node]


def test_a_large_plan_reads_back():
    nodes = [NodeSpec("root", "root", intent=Intent.CIDR, cidr=IPNetwork("10.0.0.0/8"))]
    nodes += [NodeSpec(f"n{i}", f"n{i}", "root", prefix_length=28) for i in range(2000)]
    spec = PlanSpec("big", "ipv4", tuple(nodes))
    for write, read in ((formats.to_yaml, formats.from_yaml), (formats.to_json, formats.from_json)):
        assert len(read(write(spec))[1]) == len(nodes)


@settings(max_examples=40)
@given(
    node=st.dictionaries(
        st.sampled_from([*sorted(formats._node_schema()["$defs"]["node"]["properties"]), "x"]),
        st.one_of(
            HOSTILE_SCALARS,
            st.dictionaries(
                st.sampled_from(["cidr", "prefix_length", "need", "min", "k"]),
                HOSTILE_SCALARS,
                max_size=2,
            ),
        ),
    )
)
def test_the_fast_node_check_agrees_with_the_schema(node):
    assert formats._node_passes(node) == formats._node_validator().is_valid(node)
