"""Responses above OFF_LOOP_BYTES are decoded and converted in a worker thread, to the same
result and the same errors as on the event loop; a page of runs a run at a time."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from globus_runs import FlowsClient, ResponseParseError, Run, _converter
from globus_runs._models import parse_run
from globus_runs.flows._tracker import OFF_LOOP_BYTES

pytestmark = pytest.mark.anyio

RUN = {
    "run_id": "00000000-0000-4000-8000-000000000001",
    "flow_id": "00000000-0000-4000-9000-000000000001",
    "status": "SUCCEEDED",
    "label": "é ✓ 漢字",  # multi-byte characters across the chunks the text is decoded in
    "tags": ["a"],
}


def page(n: int) -> bytes:
    runs: list[dict[str, Any]] = []
    for i in range(n):
        runs.append({**RUN, "run_id": f"00000000-0000-4000-8000-{i:012d}"})
    return json.dumps({"runs": runs, "has_next_page": False, "marker": None}).encode()


def client(body: bytes) -> FlowsClient:
    served = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    return FlowsClient(authorizer="t", base_url="http://127.0.0.1:9", transport=served)


@pytest.mark.parametrize("n", [2, 20_000])
async def test_a_large_page_reads_as_a_small_one(n: int) -> None:
    body = page(n)
    assert (len(body) > OFF_LOOP_BYTES) == (n > 2)
    async with client(body) as flows:
        found = await flows.list_runs()
    assert [run.run_id for run in found.runs] == [
        f"00000000-0000-4000-8000-{i:012d}" for i in range(n)
    ]
    assert {run.label for run in found.runs} == {RUN["label"]}
    assert found.runs[-1].raw["tags"] == ["a"]


async def test_a_large_answer_that_is_not_json_is_a_parse_error() -> None:
    body = b'{"runs": [' + b"1," * OFF_LOOP_BYTES + b"oops"
    async with client(body) as flows:
        with pytest.raises(ResponseParseError):
            await flows.list_runs()


async def test_a_large_answer_that_is_not_utf8_is_a_parse_error() -> None:
    body = page(20_000)[:-2] + b"\xff\xfe}"
    async with client(body) as flows:
        with pytest.raises(ResponseParseError):
            await flows.list_runs()


async def test_a_large_page_is_decoded_and_parsed_a_run_at_a_time_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed: list[str] = []
    threads: set[threading.Thread] = set()

    def spy(document: Any) -> Run:
        threads.add(threading.current_thread())
        parsed.append(document["run_id"])
        return parse_run(document)

    monkeypatch.setattr(_converter, "parse_run", spy)
    # The last run is not JSON: had the page been decoded whole first, no run would be parsed.
    body = page(20_000)[: -len(b'], "has_next_page": false, "marker": null}')] + b", {oops}]}"
    async with client(body) as flows:
        with pytest.raises(ResponseParseError):
            await flows.list_runs()
    assert len(parsed) == 20_000
    assert threading.main_thread() not in threads


@pytest.mark.parametrize("n", [2, 20_000])
async def test_a_page_gives_back_its_document(n: int) -> None:
    body = page(n)
    async with client(body) as flows:
        found = await flows.list_runs()
    assert json.dumps(found.raw).encode() == body
