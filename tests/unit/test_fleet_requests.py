"""What ``POST /batch/runs`` sends, built without I/O."""

from __future__ import annotations

import json

import pytest

from globus_runs import InvalidRequestError, RunNotFoundError
from globus_runs._auth import FLOWS_RESOURCE_SERVER
from globus_runs.flows._fleet import update_runs_request

RUN = "00000000-0000-4000-8000-000000000001"


def test_set_tags_and_cancel_share_the_set_section() -> None:
    request = update_runs_request([RUN], {"set": {"tags": ["a"]}}, cancel=True)

    assert (request.method, request.path, request.resource_server) == (
        "POST",
        "/batch/runs",
        FLOWS_RESOURCE_SERVER,
    )
    assert (request.idempotent, request.not_found) == (True, RunNotFoundError)
    assert json.loads(request.body or b"") == {
        "filters": {"run_ids": [RUN]},
        "set": {"tags": ["a"], "status": "cancel"},
    }


def test_empty_sections_are_not_sent() -> None:
    request = update_runs_request([RUN], {"set": {}, "remove": {"run_monitors": []}}, cancel=False)

    assert json.loads(request.body or b"") == {
        "filters": {"run_ids": [RUN]},
        "remove": {"run_monitors": []},
    }


def test_a_str_instead_of_a_list_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="add_tags must be a sequence of str"):
        update_runs_request([RUN], {"add": {"tags": "abc"}}, cancel=False)
