"""The table tool over tables ingestion kept from CSVs (tests/api/conftest.py): aggregation with typed
columns, only the caller's tables, read-only SQL with a time limit, and an agent answer citing the result."""

from __future__ import annotations

import pytest

from citewise.errors import InvalidInputError
from citewise.identity import lookup
from tests.api.client import ask
from tests.api.test_agent import _script, _tool_call


@pytest.fixture(scope="module")
def tool(env):
    client, keys, _ = env
    services = client.app.state.services
    bob, hana = lookup(services.db, keys["bob"]), lookup(services.db, keys["hr"])
    return services.pipeline._tools()["table_query"], bob, hana


def _run(tool, who, sql=None):
    return tool.run(who, tool.arguments(sql=sql))


def test_the_schema_lists_only_the_callers_tables(tool):
    table_query, bob, hana = tool
    assert [t["table"] for t in _run(table_query, bob).data] == ["expenses"]
    mine = {t["table"]: t for t in _run(table_query, hana).data}
    assert set(mine) == {"expenses", "payroll"} and mine["payroll"]["columns"] == ["employee", "team", "salary"]
    assert mine["payroll"]["rows"] == 3 and mine["payroll"]["sample"][0] == ["Ada", "eng", "88000"]


def test_numbers_aggregate_and_the_result_is_a_citable_passage(tool):
    table_query, bob, _ = tool
    out = _run(table_query, bob, "SELECT team, SUM(amount) AS total FROM expenses GROUP BY team ORDER BY team")
    assert out.data["rows"] == [["eng", 2700.5], ["ops", 1750]] and out.data["columns"] == ["team", "total"]
    (passage,) = out.passages
    assert passage.title == "expenses" and "2700.5" in passage.text and passage.chunk_id.startswith("table:")


def test_another_principals_table_does_not_exist_for_the_caller(tool):
    table_query, bob, hana = tool
    with pytest.raises(InvalidInputError, match="no such table: payroll"):
        _run(table_query, bob, "SELECT SUM(salary) FROM payroll")
    assert _run(table_query, hana, "SELECT SUM(salary) FROM payroll").data["rows"] == [[246000]]


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE expenses",
        "INSERT INTO expenses VALUES ('March', 'eng', 1)",
        "ATTACH DATABASE '/tmp/x.db' AS x",
        "PRAGMA table_info(expenses)",
        "SELECT 1; DROP TABLE expenses",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT MAX(x) FROM c",
        "SELECT load_extension('/tmp/evil')",
        "not sql at all",
    ],
)
def test_only_a_bounded_read_runs(tool, sql):
    table_query, bob, _ = tool
    with pytest.raises(InvalidInputError, match="SQL error"):
        _run(table_query, bob, sql)
    assert _run(table_query, bob, "SELECT COUNT(*) FROM expenses").data["rows"] == [[4]]


def test_the_agent_answers_an_aggregation_from_a_table(env):
    client, keys, _ = env
    _script(
        _tool_call("table_query", {}),
        _tool_call("table_query", {"sql": "SELECT SUM(amount) FROM expenses WHERE team = 'eng'"}, "c2"),
        {"content": "The engineering team spent 2700.5 in total [1]."},
    )
    out = ask(client, keys, "bob", "How much did the eng team spend in total?", profile="agent", mode="agent")
    assert [s["tool"] for s in out["steps"][:2]] == ["table_query", "table_query"]
    assert out["grounded"] and "2700.5" in out["answer"] and out["citations"][0]["title"] == "expenses"


def test_a_number_the_result_does_not_hold_is_not_supported(tool):
    from citewise.api.orchestration.citations import cite

    table_query, bob, _ = tool
    passages = _run(table_query, bob, "SELECT SUM(amount) FROM expenses WHERE team = 'eng'").passages
    assert cite("The eng team spent 2,700.50 in total [1].", passages, 0.5).grounded
    assert not cite("The eng team spent 9999 in total [1].", passages, 0.5).grounded
