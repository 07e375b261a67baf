"""The Terraform export: its structure (read back by a small reader of the HCL subset it writes,
which refuses anything else), references between resources, imports and string escapes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from netaddr import IPNetwork

from planning import terraform
from planning.spec import Intent, NodeSpec, PlanSpec

from .test_formats import plans, safe_text

# --- a reader of what to_terraform writes ------------------------------------------------------

TOKEN = re.compile(
    r"""
    (?P<space>[ \t]+|\#[^\n]*)
  | (?P<newline>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)
  | (?P<punct>[{}\[\]=,])
    """,
    re.VERBOSE,
)
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def decode_string(token: str) -> str:
    """An HCL quoted string's value; a template sequence (an unescaped ``${`` or ``%{``) fails."""
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            code = body[i + 1]
            if code == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            if code == "U":
                out.append(chr(int(body[i + 2 : i + 10], 16)))
                i += 10
                continue
            out.append(ESCAPES[code])
            i += 2
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i + 1 : i + 3])
            i += 3
        elif body.startswith(("${", "%{"), i):
            raise AssertionError(f"a template in {token}")
        else:
            out.append(char)
            i += 1
    return "".join(out)


class Reference(str):
    pass


def tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    while at < len(text):
        match = TOKEN.match(text, at)
        assert match, f"cannot read {text[at : at + 40]!r}"
        kind = match.lastgroup
        if kind != "space":
            found.append((kind, match.group()))
        at = match.end()
    return found


class Reader:
    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        got_kind, got = self.peek()
        assert kind in (None, got_kind), (kind, got_kind, got)
        assert value in (None, got), (value, got)
        self.at += 1
        return got

    def skip_newlines(self) -> None:
        while self.peek()[0] == "newline":
            self.at += 1

    def body(self) -> list[tuple[str, Any]]:
        """Blocks and attributes until the closing brace (or the end)."""
        items = []
        while True:
            self.skip_newlines()
            kind, value = self.peek()
            if kind == "end" or value == "}":
                return items
            name = self.take("ident")
            if self.peek()[1] == "=":
                self.take(value="=")
                items.append((name, self.value()))
                self.take("newline")
            else:
                labels = []
                while self.peek()[0] == "string":
                    labels.append(decode_string(self.take("string")))
                self.take(value="{")
                inner = self.body()
                self.take(value="}")
                items.append(((name, *labels), inner))

    def value(self) -> Any:
        kind, value = self.peek()
        if kind == "string":
            return decode_string(self.take())
        if kind == "number":
            return int(self.take())
        if kind == "ident":
            return Reference(self.take())
        if value == "[":
            self.take()
            values = []
            while self.peek()[1] != "]":
                values.append(self.value())
                if self.peek()[1] == ",":
                    self.take()
            self.take(value="]")
            return values
        self.take(value="{")
        mapping = {}
        while True:
            self.skip_newlines()
            if self.peek()[1] == "}":
                self.take()
                return mapping
            key = self.take("string")
            self.take(value="=")
            mapping[decode_string(key)] = self.value()


def read(text: str) -> dict[str, Any]:
    reader = Reader(text)
    items = reader.body()
    assert reader.peek()[0] == "end"
    found: dict[str, Any] = {"resource": {}, "import": [], "blocks": []}
    for head, body in items:
        if head[0] == "resource":
            _, kind, name = head
            assert (kind, name) not in found["resource"], "a resource twice"
            found["resource"][kind, name] = dict(body)
        elif head[0] == "import":
            found["import"].append(dict(body))
        else:
            found["blocks"].append((head, body))
    return found


# --- the export -------------------------------------------------------------------------------


def sample() -> PlanSpec:
    return PlanSpec(
        "plan",
        "ipv4",
        (
            NodeSpec(
                "n-top",
                "Top",
                intent=Intent.CIDR,
                cidr=IPNetwork("10.0.0.0/8"),
                pool_id="ipam-pool-0123456789abcdef0",
                tags=(("env", "prod"),),
            ),
            NodeSpec(
                "n-east",
                "us-east-1",
                "n-top",
                prefix_length=16,
                cidr=IPNetwork("10.0.0.0/16"),
                locale="us-east-1",
                min_netmask=20,
                max_netmask=28,
                default_netmask=24,
                allocation_resource_tags=(("team", "net"),),
            ),
            NodeSpec("n-vpc", "vpc", "n-east", prefix_length=20, description='a "b" ${c}'),
            NodeSpec("n-deep", "deep", "n-vpc", prefix_length=24, cidr=IPNetwork("10.0.0.0/24")),
        ),
        scope_id="ipam-scope-0123456789abcdef0",
    )


def test_every_node_is_a_pool_and_every_placed_node_a_cidr():
    found = read(terraform.to_terraform(sample()))
    names = terraform.identifiers(sample().nodes)
    pools = {name for kind, name in found["resource"] if kind == terraform.POOL}
    cidrs = {name for kind, name in found["resource"] if kind == terraform.POOL_CIDR}
    assert pools == set(names.values())
    assert cidrs == {names["n-top"], names["n-east"], names["n-deep"]}  # n-vpc has no CIDR yet
    east = found["resource"][terraform.POOL, names["n-east"]]
    assert east["address_family"] == "ipv4"
    assert east["ipam_scope_id"] == "local.ipam_scope_id"
    assert east["source_ipam_pool_id"] == f"{terraform.POOL}.{names['n-top']}.id"
    assert east["locale"] == "us-east-1"
    assert east["allocation_min_netmask_length"] == 20
    assert east["allocation_max_netmask_length"] == 28
    assert east["allocation_default_netmask_length"] == 24
    assert east["allocation_resource_tags"] == {"team": "net"}
    assert east["tags"] == {"Name": "us-east-1"}
    top = found["resource"][terraform.POOL, names["n-top"]]
    assert "source_ipam_pool_id" not in top
    assert "locale" not in top
    assert top["tags"] == {"Name": "Top", "env": "prod"}
    vpc = found["resource"][terraform.POOL, names["n-vpc"]]
    assert vpc["locale"] == "us-east-1"  # inherited: AWS wants the source pool's
    assert vpc["description"] == 'a "b" ${c}'


def test_a_child_cidr_waits_for_its_placed_ancestor_s():
    found = read(terraform.to_terraform(sample()))
    names = terraform.identifiers(sample().nodes)
    east = found["resource"][terraform.POOL_CIDR, names["n-east"]]
    assert east["cidr"] == "10.0.0.0/16"
    assert east["ipam_pool_id"] == f"{terraform.POOL}.{names['n-east']}.id"
    assert east["depends_on"] == [f"{terraform.POOL_CIDR}.{names['n-top']}"]
    deep = found["resource"][terraform.POOL_CIDR, names["n-deep"]]
    assert deep["depends_on"] == [f"{terraform.POOL_CIDR}.{names['n-east']}"]  # vpc: none yet
    assert "depends_on" not in found["resource"][terraform.POOL_CIDR, names["n-top"]]


def test_bound_pools_and_their_cidrs_are_imported():
    found = read(terraform.to_terraform(sample()))
    name = terraform.identifiers(sample().nodes)["n-top"]
    assert found["import"] == [
        {"to": f"{terraform.POOL}.{name}", "id": "ipam-pool-0123456789abcdef0"},
        {"to": f"{terraform.POOL_CIDR}.{name}", "id": "10.0.0.0/8_ipam-pool-0123456789abcdef0"},
    ]
    (terraform_block,) = [b for h, b in found["blocks"] if h == ("terraform",)]
    assert dict(terraform_block)["required_version"] == terraform.REQUIRED_TERRAFORM


def test_top_level_pools_come_from_the_parent_pool_when_the_plan_has_one():
    spec = sample()
    text = terraform.to_terraform(spec, parent_pool_id="ipam-pool-00000000000000001")
    found = read(text)
    (locals_,) = [dict(b) for h, b in found["blocks"] if h == ("locals",)]
    assert locals_["parent_pool_id"] == "ipam-pool-00000000000000001"
    top = found["resource"][terraform.POOL, terraform.identifiers(spec.nodes)["n-top"]]
    assert top["source_ipam_pool_id"] == "local.parent_pool_id"


def test_the_scope_given_wins_over_the_plan_s():
    found = read(terraform.to_terraform(sample(), scope_id="ipam-scope-fffffffffffffffff"))
    (locals_,) = [dict(b) for h, b in found["blocks"] if h == ("locals",)]
    assert locals_["ipam_scope_id"] == "ipam-scope-fffffffffffffffff"


@pytest.mark.parametrize(
    "text",
    [
        '"',
        "\\",
        "${var.x}",
        "%{ if true }",
        "$${",
        "a\nb\r\tc",
        "\x00\x1b\x7f\x85",
        "é 🙂",
        "\u2028",
    ],
)
def test_strings_are_escaped_for_hcl(text):
    written = terraform.hcl_string(text)
    assert "\n" not in written
    assert decode_string(written) == text


def test_identifiers_are_hcl_unique_and_stable():
    nodes = [
        NodeSpec("n-1", "Prod East!"),
        NodeSpec("n-2", "9 lives"),
        NodeSpec("n-3", ""),
        NodeSpec("n-4", "ünïcode"),
        NodeSpec("b_c", "a"),
        NodeSpec("c", "a_b"),
    ]
    names = terraform.identifiers(nodes)
    assert names["n-1"] == "prod_east_n-1"
    assert names["n-2"] == "pool_9_lives_n-2"
    assert names["n-3"] == "pool_n-3"
    assert len(set(names.values())) == len(nodes)  # a_b_c twice: one gets a number
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", n) for n in names.values())
    assert terraform.identifiers(reversed(nodes)) == names


def test_a_cycle_is_left_out_with_a_note():
    spec = PlanSpec(
        "p", "ipv4", (NodeSpec("a", "a", "b", prefix_length=8), NodeSpec("b", "b", "a"))
    )
    text = terraform.to_terraform(spec)
    assert read(text)["resource"] == {}
    assert "own ancestor" in text


@given(spec=plans(max_nodes=12), scope=safe_text())
def test_any_plan_is_readable_terraform(spec, scope):
    found = read(terraform.to_terraform(spec, scope_id=scope))
    names = terraform.identifiers(spec.nodes)
    pools = {n for k, n in found["resource"] if k == terraform.POOL}
    assert pools <= set(names.values())
    for (kind, name), body in found["resource"].items():
        if kind == terraform.POOL:
            node = next(n for n in spec.nodes if names[n.key] == name)
            assert body.get("tags", {}).get("Name", "") == node.name
            assert body.get("description", "") == node.description
        for ref in body.get("depends_on", []):
            assert (terraform.POOL_CIDR, ref.split(".")[1]) in found["resource"]
