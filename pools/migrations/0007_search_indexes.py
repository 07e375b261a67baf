"""Indexes for the tree's search, the source-pool suggestions and the scope page's sync time.

On every database: pool CIDRs by their text (an address searched for is looked up among the
CIDRs that could contain it), pools by scope and sync time (the newest read from AWS), pools
in the order the source-pool suggestions list them, pools by scope and state (the home page
counts them from this index alone), and tags by key and lower-cased value.

On PostgreSQL only, trigram indexes (``pg_trgm``) make the text searches index-backed:
Django's ``icontains`` there is ``UPPER(x::text) LIKE UPPER(%s)``, so that expression is
indexed; ``startswith`` on CIDRs, ``x::text LIKE 'x%'``, has a pattern index. SQLite has
no trigram index: its text searches scan, and stay correct.

The indexes are created in SQL rather than declared on the models: the trigram ones are
expressions with an operator class that only PostgreSQL has.
"""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

EVERYWHERE = {
    "pools_cidr_text_idx": "pools_ipampoolcidr (cidr)",
    "pools_pool_synced_idx": "pools_ipampool (scope_id, last_synced_at)",
    "pools_pool_source_order_idx": (
        "pools_ipampool (scope_id, address_family, depth, name, pool_id)"
    ),
    "pools_pool_count_idx": "pools_ipampool (scope_id, missing_since, state)",
    # key=value searches: the key as written, the value in any case.
    "pools_tag_key_lower_value_idx": "pools_pooltag (key, lower(value))",
}
TRIGRAM = {
    "pools_pool_name_trgm": "pools_ipampool USING gin ((UPPER(name::text)) gin_trgm_ops)",
    "pools_pool_description_trgm": (
        "pools_ipampool USING gin ((UPPER(description::text)) gin_trgm_ops)"
    ),
    "pools_pool_pool_id_trgm": "pools_ipampool USING gin ((UPPER(pool_id::text)) gin_trgm_ops)",
    "pools_tag_key_trgm": "pools_pooltag USING gin ((UPPER(key::text)) gin_trgm_ops)",
    "pools_tag_value_trgm": "pools_pooltag USING gin ((UPPER(value::text)) gin_trgm_ops)",
    # A prefix search of CIDRs (``10.16.``) is a LIKE 'x%': a pattern index serves it (and the
    # equality of an address's containing CIDRs, better than a trigram index would).
    "pools_cidr_pattern_idx": "pools_ipampoolcidr (cidr varchar_pattern_ops)",
}


def _indexes(vendor: str) -> dict[str, str]:
    return EVERYWHERE | (TRIGRAM if vendor == "postgresql" else {})


def create(apps, schema_editor) -> None:
    for name, target in _indexes(schema_editor.connection.vendor).items():
        schema_editor.execute(f"CREATE INDEX {name} ON {target}")


def drop(apps, schema_editor) -> None:
    for name in _indexes(schema_editor.connection.vendor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("pools", "0006_follow_tasks_first_cidr_notes"),
    ]

    operations = [
        TrigramExtension(),  # PostgreSQL only: Django skips it on other databases
        migrations.RunPython(create, drop, elidable=False),
    ]
