"""insert_rows, update_rows and reserve_ids: many rows in one statement, stored as the ORM would
store them, within the connection's real limits and without changing Django's view of them."""

from __future__ import annotations

import datetime
import math
import sqlite3

import netaddr
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, models
from django.test.utils import isolate_apps
from django.utils import timezone

from pools import bulk
from pools.bulk import check_supported, insert_rows, query_param_limit, reserve_ids, update_rows
from pools.models import Ipam, IpamPool, IpamPoolAllocation, IpamPoolCidr, IpamScope, PoolTag

pytestmark = pytest.mark.django_db


@pytest.fixture
def scope() -> IpamScope:
    ipam = Ipam.objects.create(ipam_id="ipam-1", arn="arn:ipam-1", region="us-east-1")
    return IpamScope.objects.create(scope_id="scope-1", arn="arn:scope-1", ipam=ipam)


def pool_row(scope: IpamScope, number: int, **values) -> dict:
    return {
        "pool_id": f"ipam-pool-{number}",
        "ipam_id": scope.ipam_id,
        "scope_id": scope.pk,
        "address_family": "ipv4",
        "allocation_max_netmask_length": 32,  # no default: AWS always gives it
        **values,
    }


def test_rows_are_stored_as_the_orm_would_store_them(scope):
    synced = timezone.now().replace(microsecond=123456)
    awkward = "quote ' double \" backslash \\ percent %s newline \n unicode ñ 🌐"
    rows = [
        pool_row(
            scope,
            1,
            description=awkward,
            tags={"Name": awkward, "nested": {"list": [1, None, True]}},
            source_resource={"ResourceId": "vpc-1"},
            publicly_advertisable=False,
            allocation_default_netmask_length=24,
            last_synced_at=synced,
        ),
        pool_row(scope, 2),
    ]

    insert_rows(IpamPool, rows)

    first, second = (IpamPool.objects.get(pool_id=f"ipam-pool-{n}") for n in (1, 2))
    assert first.description == awkward
    assert first.tags == {"Name": awkward, "nested": {"list": [1, None, True]}}
    assert first.source_resource == {"ResourceId": "vpc-1"}
    assert first.publicly_advertisable is False
    assert first.allocation_default_netmask_length == 24
    assert first.last_synced_at == synced  # microseconds kept
    # Left out: the field's default, as Model() would give it.
    assert (second.description, second.depth, second.auto_import) == ("", 1, False)
    assert second.publicly_advertisable is None
    assert second.tags == {}
    assert IpamPool.objects.filter(pk=second.pk, source_resource__isnull=True).exists()
    assert second.first_seen_at is not None  # auto_now_add
    assert second.last_synced_at is None


def test_callable_defaults_are_not_shared_between_rows(scope):
    insert_rows(IpamPool, [pool_row(scope, n) for n in range(3)])

    assert [p.tags for p in IpamPool.objects.all()] == [{}, {}, {}]


def test_more_rows_than_one_statement_holds(scope, django_assert_max_num_queries):
    rows = [pool_row(scope, n, name=f"pool-{n}") for n in range(2500)]

    with django_assert_max_num_queries(5 if connection.vendor == "sqlite" else 1):
        insert_rows(IpamPool, rows)

    assert IpamPool.objects.count() == 2500
    assert IpamPool.objects.get(pool_id="ipam-pool-2499").name == "pool-2499"


def test_reserved_ids_let_rows_of_one_statement_refer_to_each_other(scope):
    IpamPool.objects.create(**pool_row(scope, 0))  # the sequence has moved on
    parent, child = reserve_ids(IpamPool, 2)

    insert_rows(
        IpamPool,
        [
            pool_row(scope, 2, id=child, source_pool_id=parent, depth=2),
            pool_row(scope, 1, id=parent),
        ],
    )

    assert IpamPool.objects.get(pool_id="ipam-pool-2").source_pool.pool_id == "ipam-pool-1"
    # Later rows, however made, get later keys.
    later = IpamPool.objects.create(**pool_row(scope, 3))
    assert later.pk > child
    assert reserve_ids(IpamPool, 3)[0] > later.pk


def test_reserving_ids_of_a_table_never_written(scope):
    first, second = reserve_ids(IpamPool, 2)

    assert 0 < first < second
    assert IpamPool.objects.create(**pool_row(scope, 1)).pk > second


def test_rows_without_a_key_of_their_own(scope):
    pool = IpamPool.objects.create(**pool_row(scope, 1))

    insert_rows(PoolTag, [{"pool_id": pool.pk, "key": "team", "value": "net"}])

    assert list(pool.tag_rows.values_list("key", "value")) == [("team", "net")]


def test_nothing_to_write_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(IpamPool, [])
        assert reserve_ids(IpamPool, 0) == []


def test_times_from_another_zone_are_stored_as_the_same_instant(scope):
    there = datetime.datetime(
        2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))
    )

    insert_rows(IpamPool, [pool_row(scope, 1, last_synced_at=there)])

    assert IpamPool.objects.get().last_synced_at == there


def test_rows_are_updated_as_the_orm_would_store_them(scope):
    insert_rows(IpamPool, [pool_row(scope, n) for n in range(3)])
    first, second, third = IpamPool.objects.order_by("pool_id")
    synced = timezone.now().replace(microsecond=654321)
    awkward = "quote ' double \" backslash \\ percent %s unicode ñ 🌐"

    update_rows(
        IpamPool,
        [
            {"id": first.pk, "description": awkward, "tags": {"Name": awkward}, "depth": 3},
            {"id": second.pk, "description": "", "tags": {}, "depth": 2},
        ],
        ["description", "tags", "depth"],
    )
    update_rows(IpamPool, [{"id": second.pk, "last_synced_at": synced}], ["last_synced_at"])

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.description, first.tags, first.depth) == (awkward, {"Name": awkward}, 3)
    assert (second.description, second.tags, second.depth) == ("", {}, 2)
    assert second.last_synced_at == synced
    assert IpamPool.objects.get(pk=third.pk).depth == 1  # rows not given are left alone


@pytest.fixture
def variable_limit():
    """Sets the connection's limit on query variables (SQLite), and puts it back after."""
    if connection.vendor != "sqlite":
        yield lambda limit: None
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    yield lambda limit: raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def test_statements_fit_the_connections_own_limit(scope, variable_limit, django_assert_num_queries):
    variable_limit(500)
    rows = [pool_row(scope, n, name=f"pool-{n}") for n in range(200)]
    columns = len(IpamPool._meta.concrete_fields) - 1  # all but the key
    sqlite = connection.vendor == "sqlite"

    with django_assert_num_queries(math.ceil(200 / (500 // columns)) if sqlite else 1):
        insert_rows(IpamPool, rows)
    pks = list(IpamPool.objects.order_by("pk").values_list("pk", flat=True))
    with django_assert_num_queries(math.ceil(200 / (500 // 3)) if sqlite else 1):
        update_rows(
            IpamPool,
            [{"id": pk, "name": f"renamed-{pk}", "depth": 2} for pk in pks],
            ["name", "depth"],
        )

    assert IpamPool.objects.filter(name__startswith="renamed-", depth=2).count() == 200
    if sqlite:
        assert query_param_limit() == 500


def test_the_limit_is_the_connections_and_djangos_features_are_left_alone(scope):
    features = vars(connection.features).copy()
    rows = [pool_row(scope, n) for n in range(2000)]

    insert_rows(IpamPool, rows)
    pks = IpamPool.objects.values_list("pk", flat=True)
    update_rows(IpamPool, [{"id": pk, "depth": 2} for pk in pks], ["depth"])

    assert {name: vars(connection.features)[name] for name in features} == features
    assert "max_query_params" not in vars(connection.features)  # Django's own, for all queries
    if connection.vendor == "sqlite":
        assert connection.features.max_query_params == 999  # Django 5.2's assumption, as it was
        assert query_param_limit() == connection.connection.getlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
        )
    else:
        assert query_param_limit() == 65535


class NetworkField(models.CharField):
    """A CharField whose values are ``netaddr.IPNetwork``s, stored as the network they are in:
    the internal type of a CharField, values only its own ``get_prep_value`` can write."""

    def get_prep_value(self, value):
        return None if value is None else str(netaddr.IPNetwork(str(value)).cidr)


@pytest.fixture
def cidr_field_class(monkeypatch):
    """Makes IpamPoolCidr.cidr an instance of another class for the test (bulk's view of the
    model redone each time)."""

    def swap(cls: type[models.Field]) -> None:
        monkeypatch.setattr(IpamPoolCidr._meta.get_field("cidr"), "__class__", cls)
        bulk._fields.cache_clear()

    yield swap
    bulk._fields.cache_clear()


def test_a_subclass_of_a_plain_field_is_written_as_it_prepares_its_values(scope, cidr_field_class):
    cidr_field_class(NetworkField)
    pool = IpamPool.objects.create(**pool_row(scope, 1))
    check_supported(IpamPoolCidr)

    insert_rows(
        IpamPoolCidr,
        [
            {"cidr_id": "c-1", "pool_id": pool.pk, "cidr": netaddr.IPNetwork("10.1.2.3/16")},
            {"cidr_id": "c-2", "pool_id": pool.pk, "cidr": "10.2.3.4/24"},  # a string: the same
            {"cidr_id": "c-3", "pool_id": pool.pk, "cidr": netaddr.IPNetwork("fd00:ec2::1/56")},
        ],
    )
    stored = dict(IpamPoolCidr.objects.values_list("cidr_id", "cidr"))
    assert stored == {"c-1": "10.1.0.0/16", "c-2": "10.2.3.0/24", "c-3": "fd00:ec2::/56"}

    pk = IpamPoolCidr.objects.get(cidr_id="c-2").pk
    update_rows(IpamPoolCidr, [{"id": pk, "cidr": netaddr.IPNetwork("10.9.9.9/20")}], ["cidr"])

    assert IpamPoolCidr.objects.get(pk=pk).cidr == "10.9.0.0/20"


class ListField(models.CharField):
    def get_prep_value(self, value):
        return [value]


def test_a_prepared_value_the_statement_cannot_carry_is_refused(scope, cidr_field_class):
    cidr_field_class(ListField)
    pool = IpamPool.objects.create(**pool_row(scope, 1))

    # PostgreSQL: bulk itself refuses it; SQLite: the driver does.
    with pytest.raises((TypeError, DatabaseError)) as refused:
        insert_rows(IpamPoolCidr, [{"cidr_id": "c-1", "pool_id": pool.pk, "cidr": "10.0.0.0/8"}])

    if connection.vendor == "postgresql":
        assert "pools.IpamPoolCidr.cidr: get_db_prep_save gave a list" in str(refused.value)
    assert not IpamPoolCidr.objects.exists()


def test_every_model_the_mirror_writes_is_supported():
    from pools import mirror  # checks them as it is imported

    assert set(mirror.WRITTEN_IN_BULK) == {
        Ipam,
        IpamScope,
        IpamPool,
        IpamPoolCidr,
        IpamPoolAllocation,
        PoolTag,
    }
    for model in mirror.WRITTEN_IN_BULK:
        check_supported(model)


class Unwritable(models.Model):
    class Meta:
        abstract = True
        app_label = "pools"

    def __str__(self) -> str:
        return str(self.pk)


@isolate_apps("pools")
def test_a_field_bulk_cannot_write_is_named():
    class Keyed(Unwritable):
        id = models.UUIDField(primary_key=True)

    class Odd(Unwritable):
        name = models.CharField(max_length=8)
        amount = models.DecimalField(max_digits=5, decimal_places=2)

    class Encoded(Unwritable):
        data = models.JSONField(encoder=bulk.DjangoJSONEncoder)

    class Pointing(Unwritable):
        keyed = models.ForeignKey(Keyed, on_delete=models.CASCADE)

    for model, named in [
        (Keyed, "pools.Keyed.id"),
        (Odd, "pools.Odd.amount"),
        (Encoded, "pools.Encoded.data"),
        (Pointing, "pools.Pointing.keyed"),
    ]:
        with pytest.raises(ImproperlyConfigured, match=named.replace(".", r"\.")):
            check_supported(model)
        with pytest.raises(ImproperlyConfigured, match=named.replace(".", r"\.")):
            insert_rows(model, [{}])  # before any statement
