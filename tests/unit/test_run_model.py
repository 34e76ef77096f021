"""``Run``: the fields it names, how it behaves as a value, and what a parsed run keeps."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import sys
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from globus_runs import FlowDescription, ResponseParseError, Run, RunPage
from globus_runs._converter import converter, structure, structure_streamed
from globus_runs._run_document import LAZY_FIELDS
from tests.conftest import Payloads

RUN_ID = "00000000-0000-1000-8000-000000000002"
FLOW_ID = "00000000-0000-1000-8000-000000000001"
OWNER = "urn:globus:auth:identity:00000000-0000-1000-8000-000000000003"

DESCRIPTION = {
    "id": FLOW_ID,
    "title": "My Cool Flow",
    "subtitle": "Says hello",
    "description": "A flow that says hello",
    "keywords": ["hello", "demo"],
    "flow_owner": OWNER,
    "created_at": "2023-04-11T19:00:00+00:00",
    "updated_at": "2023-04-11T20:00:06.524930+00:00",
    "globus_auth_scope": f"https://auth.globus.org/scopes/{FLOW_ID}/flow_x_user",
}


def _described(payloads: Payloads) -> dict[str, Any]:
    document: dict[str, Any] = payloads.json("flows_run_succeeded")
    document["flow_description"] = DESCRIPTION
    document["user_roles"] = ["run_owner", "run_manager"]
    return document


def test_a_run_names_when_its_flow_was_updated_and_every_role_of_the_caller(
    payloads: Payloads,
) -> None:
    run = structure(_described(payloads), Run)
    assert run.flow_last_updated == datetime(2023, 4, 11, 20, 0, 6, 524930, tzinfo=UTC)
    assert run.user_roles == ["run_owner", "run_manager"]


def test_a_run_without_those_fields_has_none_and_no_roles() -> None:
    run = structure({"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "ACTIVE"}, Run)
    assert (run.flow_last_updated, run.user_roles, run.flow_description) == (None, [], None)


def test_the_flow_description_is_typed_and_still_the_service_object(payloads: Payloads) -> None:
    description = structure(_described(payloads), Run).flow_description

    assert isinstance(description, FlowDescription)
    assert description == DESCRIPTION
    assert description["title"] == "My Cool Flow"
    assert (description.id, description.title, description.subtitle) == (
        FLOW_ID,
        "My Cool Flow",
        "Says hello",
    )
    assert description.description == "A flow that says hello"
    assert description.keywords == ["hello", "demo"]
    assert description.flow_owner == OWNER
    assert description.globus_auth_scope == DESCRIPTION["globus_auth_scope"]
    assert description.created_at == datetime(2023, 4, 11, 19, tzinfo=UTC)
    assert description.updated_at == datetime(2023, 4, 11, 20, 0, 6, 524930, tzinfo=UTC)
    assert description.deleted_at is None


def test_a_flow_description_given_as_a_dict_is_typed_too() -> None:
    run = Run(run_id="r", flow_id="f", status="ACTIVE", flow_description={"title": "T"})
    assert isinstance(run.flow_description, FlowDescription)
    assert run.flow_description.title == "T"
    assert run.flow_description == {"title": "T"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("flow_last_updated", "last tuesday"),
        ("flow_last_updated", 5),
        ("user_roles", "run_owner"),
        ("user_roles", [1]),
        ("flow_description", ["not", "an", "object"]),
        ("flow_description", {"title": 5}),
        ("flow_description", {"created_at": "yesterday"}),
        ("flow_description", {"keywords": "a,b"}),
    ],
)
def test_a_new_field_of_the_wrong_type_is_refused_when_parsed(field: str, value: Any) -> None:
    document = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "ACTIVE", field: value}
    with pytest.raises(ResponseParseError, match="unexpected Run document"):
        structure(document, Run)


@pytest.mark.parametrize("field", LAZY_FIELDS)
def test_every_field_read_later_is_checked_when_parsed(field: str) -> None:
    document = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "ACTIVE", field: 5}
    with pytest.raises(ResponseParseError, match="unexpected Run document"):
        structure(document, Run)


@pytest.mark.parametrize(
    ("field", "value"),
    [("tags", ["a", 5]), ("user_roles", [["run_owner"]]), ("start_time", "")],
)
def test_a_wrong_value_inside_a_field_is_refused_when_parsed(field: str, value: Any) -> None:
    document = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "ACTIVE", field: value}
    with pytest.raises(ResponseParseError, match="unexpected Run document"):
        structure(document, Run)


def test_a_page_listing_runs_under_actions_parses(payloads: Payloads) -> None:
    run = payloads.json("flows_run_succeeded")
    page = structure({"actions": [run], "has_next_page": True, "marker": "m2"}, RunPage)
    assert [r.run_id for r in page.runs] == [RUN_ID]
    assert (page.has_next_page, page.marker) == (True, "m2")
    assert page.runs[0] == structure(run, Run)


def test_a_page_with_neither_runs_nor_actions_is_a_parse_error() -> None:
    with pytest.raises(ResponseParseError, match="missing field 'runs'"):
        structure({"has_next_page": False}, RunPage)


def _reachable(value: object) -> list[object]:
    seen: dict[int, object] = {}
    todo = [value]
    while todo:
        item = todo.pop()
        if id(item) not in seen and not isinstance(item, type):
            seen[id(item)] = item
            todo.extend(gc.get_referents(item))
    return list(seen.values())


@pytest.mark.parametrize("key", ["runs", "actions"])
def test_a_parsed_page_keeps_no_decoded_run_and_gives_back_its_document(
    payloads: Payloads, key: str
) -> None:
    run = payloads.json("flows_run_succeeded")
    document = {"marker": "m2", key: [run, {**run, "run_id": FLOW_ID}], "has_next_page": True}
    page = structure(document, RunPage)

    assert not [item for item in _reachable(page) if isinstance(item, dict) and "flow_id" in item]
    assert list(page.raw.items()) == list(document.items())
    assert page.raw is not page.raw


def test_a_page_built_by_hand_keeps_the_mapping_given() -> None:
    raw = {"runs": [], "extra": 1}
    assert RunPage(runs=[], raw=raw).raw is raw
    assert RunPage(runs=[]).raw == {}


# -- a run as a value -------------------------------------------------------------------------


def _constructed(payloads: Payloads) -> Run:
    """The run of ``_described`` built field by field, as a caller would."""
    parsed = structure(_described(payloads), Run)
    return Run(
        run_id=parsed.run_id,
        flow_id=parsed.flow_id,
        status=parsed.status,
        flow_title=parsed.flow_title,
        display_status=parsed.display_status,
        label=parsed.label,
        tags=parsed.tags,
        start_time=parsed.start_time,
        completion_time=parsed.completion_time,
        run_owner=parsed.run_owner,
        run_managers=parsed.run_managers,
        run_monitors=parsed.run_monitors,
        user_role=parsed.user_role,
        details=parsed.details,
        flow_description=DESCRIPTION,
        blocking_web_input_id=parsed.blocking_web_input_id,
        flow_last_updated=parsed.flow_last_updated,
        user_roles=parsed.user_roles,
    )


def test_a_parsed_run_equals_the_same_run_built_field_by_field(payloads: Payloads) -> None:
    parsed = structure(_described(payloads), Run)
    built = _constructed(payloads)
    assert parsed == built
    assert repr(parsed) == repr(built)
    assert built.raw == {}
    assert parsed != Run(run_id=RUN_ID, flow_id=FLOW_ID, status="SUCCEEDED")


def test_runs_differing_only_in_raw_are_equal() -> None:
    one = Run(run_id="r", flow_id="f", status="ACTIVE", raw={"x": 1})
    assert one == Run(run_id="r", flow_id="f", status="ACTIVE", raw={"y": 2})
    assert one != Run(run_id="r", flow_id="f", status="ACTIVE", user_roles=["run_owner"])


def test_the_repr_names_every_field_but_raw_in_order() -> None:
    run = Run(
        "r",
        "f",
        "FAILED",
        tags=["a"],
        details={"code": "X"},
        raw={"secret": "s3cr3t"},
        user_roles=["run_owner"],
    )
    assert repr(run) == (
        "Run(run_id='r', flow_id='f', status='FAILED', flow_title=None, display_status=None, "
        "label=None, tags=['a'], start_time=None, completion_time=None, run_owner=None, "
        "run_managers=[], run_monitors=[], user_role=None, details={'code': 'X'}, "
        "flow_description=None, blocking_web_input_id=None, flow_last_updated=None, "
        "user_roles=['run_owner'])"
    )


def test_a_run_is_immutable_and_not_hashable(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_succeeded"), Run)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        run.status = "ACTIVE"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        del run.run_id
    with pytest.raises(TypeError, match="unhashable"):
        hash(run)


def test_a_run_survives_pickle_and_copy(payloads: Payloads) -> None:
    for run in (structure(_described(payloads), Run), _constructed(payloads)):
        for again in (pickle.loads(pickle.dumps(run)), copy.copy(run), copy.deepcopy(run)):
            assert again == run
            assert again.raw == run.raw


def test_a_run_matches_by_position_and_keyword() -> None:
    match Run("r", "f", "ACTIVE", label="scan"):
        case Run("r", "f", status, label=label):
            assert (status, label) == ("ACTIVE", "scan")
        case _:
            pytest.fail("the run did not match")


def test_a_run_is_an_attrs_class_naming_every_field() -> None:
    assert Run.__match_args__ == tuple(field.name for field in attrs.fields(Run))
    assert attrs.has(Run)
    assert [field.name for field in attrs.fields(Run)] == [
        "run_id",
        "flow_id",
        "status",
        "flow_title",
        "display_status",
        "label",
        "tags",
        "start_time",
        "completion_time",
        "run_owner",
        "run_managers",
        "run_monitors",
        "user_role",
        "details",
        "flow_description",
        "raw",
        "blocking_web_input_id",
        "flow_last_updated",
        "user_roles",
    ]


def test_evolving_a_parsed_run_changes_that_field_and_keeps_the_others(
    payloads: Payloads,
) -> None:
    document = _described(payloads)
    parsed = structure(document, Run)

    evolved = attrs.evolve(parsed, status="ACTIVE", label="again")

    assert (evolved.status, evolved.label) == ("ACTIVE", "again")
    assert evolved == attrs.evolve(_constructed(payloads), status="ACTIVE", label="again")
    assert evolved.raw == document
    assert evolved.flow_description == DESCRIPTION
    assert (parsed.status, parsed.label) == ("SUCCEEDED", "My Cool Run")


def test_asdict_gives_every_field_and_the_document(payloads: Payloads) -> None:
    document = _described(payloads)
    parsed = structure(document, Run)

    fields = attrs.asdict(parsed)

    assert list(fields) == [field.name for field in attrs.fields(Run)]
    assert fields["raw"] == document
    assert fields["flow_description"] == DESCRIPTION
    assert {name: value for name, value in fields.items() if name != "raw"} == {
        name: value for name, value in attrs.asdict(_constructed(payloads)).items() if name != "raw"
    }


def test_the_converter_unstructures_a_parsed_run_like_a_built_one(payloads: Payloads) -> None:
    parsed = structure(_described(payloads), Run)
    built = attrs.evolve(_constructed(payloads), raw=_described(payloads))
    assert converter.unstructure(parsed) == converter.unstructure(built)
    assert converter.unstructure(parsed)["label"] == "My Cool Run"


def test_a_pickled_parsed_run_stays_compact(payloads: Payloads) -> None:
    document = payloads.json("flows_run_succeeded")
    run = structure(document, Run)
    again = pickle.loads(pickle.dumps(run))
    assert _containers(again) == []
    assert again.raw == document


# -- what a parsed run keeps ------------------------------------------------------------------


def _containers(value: object) -> list[object]:
    """What ``value`` holds that could be (part of) a decoded document."""
    return [item for item in gc.get_referents(value) if isinstance(item, dict | list | tuple)]


def test_a_parsed_run_keeps_no_decoded_copy_of_its_document(payloads: Payloads) -> None:
    document = payloads.json("flows_run_succeeded")
    run = structure(document, Run)

    kept = gc.get_referents(run)
    assert _containers(run) == []
    assert all(isinstance(item, str | bytes | type | None) for item in kept)
    [packed] = [item for item in kept if isinstance(item, bytes)]
    assert len(packed) <= len(payloads.text("flows_run_succeeded"))


_CPYTHON = pytest.mark.skipif(
    sys.implementation.name != "cpython", reason="untracking is CPython's garbage collector's"
)


@_CPYTHON
def test_a_parsed_run_is_out_of_the_garbage_collectors_sight(payloads: Payloads) -> None:
    run = structure(payloads.json("flows_run_succeeded"), Run)
    assert not gc.is_tracked(run)
    assert not gc.is_tracked(pickle.loads(pickle.dumps(run)))
    # It still reads, compares, copies and frees as any run.
    assert run.label == "My Cool Run"
    assert copy.deepcopy(run) == run


def test_a_run_that_may_hold_containers_stays_tracked(payloads: Payloads) -> None:
    parsed = structure(payloads.json("flows_run_succeeded"), Run)
    assert gc.is_tracked(Run(run_id="r", flow_id="f", status="ACTIVE"))
    assert gc.is_tracked(attrs.evolve(parsed, label="again"))
    assert gc.is_tracked(pickle.loads(pickle.dumps(attrs.evolve(parsed, tags=["a"]))))
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(400):  # kept as it is: too deep to pack
        node["d"] = {}
        node = node["d"]
    document = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "INACTIVE", "details": deep}
    assert gc.is_tracked(structure(document, Run))


@_CPYTHON
@pytest.mark.parametrize("runs", [100, 5_000])  # parsed whole, and a run at a time
def test_a_page_of_runs_adds_no_object_for_the_collector_to_walk(
    payloads: Payloads, runs: int
) -> None:
    document = payloads.json("flows_run_succeeded")
    body = json.dumps(
        {
            "runs": [
                dict(document, run_id=f"{i:08d}-0000-4000-8000-000000000000") for i in range(runs)
            ]
        }
    ).encode()
    gc.collect()
    before = len(gc.get_objects())
    page = structure_streamed(body, RunPage) or structure(json.loads(body), RunPage)
    gc.collect()
    added = len(gc.get_objects()) - before
    assert len(page.runs) == runs
    assert added < 50, f"{added} tracked objects for {runs} runs"
    assert page.runs[-1].run_id == f"{runs - 1:08d}-0000-4000-8000-000000000000"


def test_raw_gives_the_whole_document_each_time_as_a_new_dict(payloads: Payloads) -> None:
    document = payloads.json("flows_run_succeeded")
    run = structure(document, Run)

    first = run.raw
    assert first == document
    first["label"] = "changed"
    assert run.raw == document
    assert run.label == "My Cool Run"


def test_a_parsed_run_keeps_its_id_once_and_gives_it_back_in_place(payloads: Payloads) -> None:
    document = payloads.json("flows_run_succeeded")
    document["action_id"] = RUN_ID
    run = structure(document, Run)

    [packed] = [item for item in gc.get_referents(run) if isinstance(item, bytes)]
    assert RUN_ID.encode() not in packed
    assert list(run.raw.items()) == list(document.items())


@pytest.mark.parametrize("action_id", [0, 0.0, False, "another-id", None, [RUN_ID]])
def test_an_action_id_other_than_the_run_id_is_kept_as_it_is(action_id: Any) -> None:
    document = {"run_id": RUN_ID, "action_id": action_id, "flow_id": FLOW_ID, "status": "ACTIVE"}
    raw = structure(document, Run).raw
    assert raw == document
    assert type(raw["action_id"]) is type(action_id)


def test_a_document_naming_its_id_only_as_action_id_gives_it_back() -> None:
    document = {"action_id": RUN_ID, "flow_id": FLOW_ID, "status": "ACTIVE"}
    run = structure(document, Run)
    assert (run.run_id, run.raw) == (RUN_ID, document)


def test_a_run_given_raw_keeps_that_very_mapping() -> None:
    raw = {"run_id": "r", "anything": [1, 2]}
    assert Run(run_id="r", flow_id="f", status="ACTIVE", raw=raw).raw is raw


def test_a_document_too_deep_to_encode_is_kept_as_it_is() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(400):  # deeper than the encoder goes
        node["d"] = {}
        node = node["d"]
    document = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": "INACTIVE", "details": deep}
    run = structure(document, Run)
    assert run.raw is document
    assert run.details is deep


# -- the compact document against the decoded one ---------------------------------------------

_JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_TIMES = st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat)
_OPTIONAL_FIELDS = {
    "label": st.text(max_size=30),
    "tags": st.lists(st.text(max_size=10), max_size=3),
    "start_time": _TIMES,
    "completion_time": _TIMES,
    "flow_last_updated": _TIMES,
    "user_roles": st.lists(st.sampled_from(["run_owner", "run_manager", "run_monitor"])),
    "details": st.dictionaries(st.text(max_size=8), _JSON, max_size=4),
    "flow_description": st.fixed_dictionaries({"title": st.text(max_size=10)}),
    "extra": _JSON,
    "action_id": st.just(RUN_ID) | _JSON_LEAVES,
}


@settings(max_examples=200, deadline=None)
@given(
    status=st.sampled_from(["ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED", "NEW"]),
    optional=st.fixed_dictionaries({}, optional=_OPTIONAL_FIELDS),
)
def test_a_parsed_run_reads_the_same_as_one_holding_the_decoded_document(
    status: str, optional: dict[str, Any]
) -> None:
    document = {"run_id": RUN_ID, "flow_id": FLOW_ID, "status": status, **optional}
    parsed = structure(document, Run)

    def time(name: str) -> datetime | None:
        return datetime.fromisoformat(document[name]) if name in document else None

    holding = Run(
        run_id=RUN_ID,
        flow_id=FLOW_ID,
        status=status,
        label=document.get("label"),
        tags=document.get("tags", []),
        start_time=time("start_time"),
        completion_time=time("completion_time"),
        details=document.get("details"),
        flow_description=document.get("flow_description"),
        raw=document,
        flow_last_updated=time("flow_last_updated"),
        user_roles=document.get("user_roles", []),
    )
    assert list(parsed.raw.items()) == list(document.items())
    assert parsed == holding
    assert repr(parsed) == repr(holding)
    assert (parsed.error, parsed.was_canceled) == (holding.error, holding.was_canceled)
    assert parsed.inactive_reason == holding.inactive_reason
