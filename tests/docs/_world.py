"""What the documentation's examples are run against: a served emulator, and the names the
examples take as given (``flows``, ``flow_id``, ``run_id``...), each bound to something real
on that emulator.

The emulator is served on loopback (``serve_in_thread``), on a clock running 100 times
faster than real time, so runs started by an example end while it waits for them. The
substitutions, all of them:

- ``FlowsClient``, ``TimersClient``, ``ClientCredentialsAuthorizer`` and
  ``RefreshTokenAuthorizer`` (in ``globus_runs`` and in the namespace) default to the
  emulator's URLs instead of Globus' (``base_url``, ``flows_base_url``, ``auth_url``); an
  example that names a URL keeps it;
- globus-sdk's ``GLOBUS_SDK_SERVICE_URL_FLOWS``, ``_TIMER`` and ``_AUTH`` name the emulator;
- the string literals ``"TOKEN"`` and ``"FLOW-ID"`` of a markdown block are replaced with the
  emulator's token and a flow's id;
- requests to any host but loopback go to a proxy that does not exist (``HTTPS_PROXY``), so a
  substitution that fails can never reach Globus: the example fails instead;
- ``FlowsClient``'s waits (``wait_for_run``, ``wait_for_runs``, ``as_completed``,
  ``watch_run``, ``bulk_cancel_runs``) count their ``poll_interval``, given or left to its
  default, on the emulator's clock: ``SPEED`` times less real time between polls.
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import globus_runs
import globus_runs.testing
from globus_runs import (
    AccessTokenAuthorizer,
    CallbackAuthorizer,
    ClientCredentialsAuthorizer,
    FlowsClient,
    RateLimitError,
    RefreshTokenAuthorizer,
    RetryPolicy,
    RunRequest,
    SummaryBuilder,
    TimersClient,
    TokenMapAuthorizer,
)
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

SPEED = 100.0  # emulated seconds per real second
CLIENT_ID = "8f8a1e4c-4c5c-4d1e-9d5c-2a7e1d2b3c4d"
CLIENT_SECRET = "s3cret"
FLOWS_ALL = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/all"
# A closed port on loopback: a request meant for any other host fails there.
NOWHERE = "http://127.0.0.1:9"


def flow_scope(flow_id: str) -> str:
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


def _defaulting(
    cls: type[Any], methods: dict[str, Callable[..., Any]] | None = None, **defaults: str
) -> type[Any]:
    """``cls``, with ``defaults`` for the keyword arguments an example leaves out (and
    ``methods`` in place of its own)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        for name, value in defaults.items():
            kwargs.setdefault(name, value)
        cls.__init__(self, *args, **kwargs)

    namespace = {**(methods or {}), "__init__": __init__, "__module__": cls.__module__}
    return type(cls.__name__, (cls,), namespace)


# FlowsClient's methods that poll, every ``poll_interval`` seconds (growing).
WAITS = ("wait_for_run", "wait_for_runs", "as_completed", "watch_run", "bulk_cancel_runs")


def _in_emulated_time(name: str) -> Callable[..., Any]:
    """FlowsClient's ``name``, its ``poll_interval`` (given or the default) divided by
    ``SPEED``: as long between polls on the emulator's clock as the example says."""
    method = getattr(FlowsClient, name)
    default = inspect.signature(method).parameters["poll_interval"].default

    @functools.wraps(method)
    def scaled(self: Any, *args: Any, poll_interval: float = default, **kwargs: Any) -> Any:
        return method(self, *args, poll_interval=poll_interval / SPEED, **kwargs)

    return scaled


class Recorder:
    """What an example hands its metrics or results to (``latency``, ``metrics``, ``store``)."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def record(self, *values: Any) -> None:
        self.values.append(values)

    def observe(self, value: Any) -> None:
        self.values.append(value)

    async def put(self, value: Any) -> None:
        self.values.append(value)


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, urls: dict[str, str]) -> None:
    """Environment and defaults pointing at the emulator; nothing else reachable."""
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, NOWHERE)
        monkeypatch.setenv(name.lower(), NOWHERE)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HOME", str(tmp_path))  # globus-sdk keeps its token storage there
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", urls["flows_url"])
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_TIMER", urls["timers_url"])
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", urls["auth_url"])
    replacements = {
        "FlowsClient": _defaulting(
            FlowsClient,
            {name: _in_emulated_time(name) for name in WAITS},
            base_url=urls["flows_url"],
        ),
        "TimersClient": _defaulting(
            TimersClient, base_url=urls["timers_url"], flows_base_url=urls["flows_url"]
        ),
        "ClientCredentialsAuthorizer": _defaulting(
            ClientCredentialsAuthorizer, auth_url=urls["auth_url"]
        ),
        "RefreshTokenAuthorizer": _defaulting(RefreshTokenAuthorizer, auth_url=urls["auth_url"]),
    }
    for name, replacement in replacements.items():
        monkeypatch.setattr(globus_runs, name, replacement)


@asynccontextmanager
async def served_world(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    """The names an example may use, bound to a served emulator (see the module docstring)."""
    fake = FakeGlobus(clock=FakeClock(realtime=True, speed=SPEED))
    flow_id = fake.add_flow(title="Scan", duration=3.0)
    failing = fake.add_flow(title="Flaky scan", duration=3.0, outcome="FAILED")
    approval = fake.add_flow(title="Archive", duration=3.0, web_input={"title": "Archive?"})
    long = fake.add_flow(title="Long scan", duration=30 * 86400.0)
    consent = fake.add_flow(title="Needs consent", duration=3.0, consent_required=True)
    fake.add_client(CLIENT_ID, CLIENT_SECRET)
    # Fires once at once, and next a week later (100 minutes of real time).
    timer_id = fake.add_timer(
        flow_id, {"scan": 1}, schedule={"type": "recurring", "interval_seconds": 7 * 86400}
    )
    with serve_in_thread(fake) as info:
        isolate(monkeypatch, tmp_path, info)
        namespace: dict[str, Any] = {
            name: getattr(globus_runs, name) for name in globus_runs.__all__
        }
        namespace.update(
            {name: getattr(globus_runs.testing, name) for name in globus_runs.testing.__all__}
        )
        token = fake.token
        run_ids = fake.add_runs(flow_id, 5, label="scan {i}")
        fake.add_runs(failing, 3, label="flaky {i}")
        [waiting] = fake.add_runs(approval, 1)
        fake.add_runs(consent, 3)
        [active_run_id] = fake.add_runs(long, 1)
        fake.clock.advance(10)  # every run above has ended, asked its question or paused
        web_input_id = fake.web_input_of(waiting)
        fake.fire_due_timers()
        [timer_result] = fake.get_timer_document(timer_id)["results"]["data"]
        (tmp_path / "requests.jsonl").write_text(
            "".join(f'{{"scan": {n}}}\n' for n in range(5)), encoding="utf-8"
        )
        async with (
            namespace["FlowsClient"](authorizer=token) as flows,
            namespace["TimersClient"](authorizer=token) as timers,
        ):
            run = await flows.get_run(waiting)
            started_run = await flows.run_flow(flow_id, {"scan": 42})
            runs = await flows.list_all_runs(filter_flow_id=flow_id)
            paused = await flows.list_all_runs(filter_flow_id=consent, filter_status="INACTIVE")
            [group] = await flows.list_consent_groups(filter_flow_id=consent)
            question = await flows.get_web_input(web_input_id)
            header = await AccessTokenAuthorizer(token).get_authorization_header("flows.globus.org")

            async def consent_to(scopes: list[str]) -> None:
                fake.grant_consent(*scopes)

            def read_requests(path: Path) -> Iterator[RunRequest]:
                for line in Path(path).read_text(encoding="utf-8").splitlines():
                    yield RunRequest(flow_id, json.loads(line))

            def ids_from_file() -> Iterator[str]:
                yield from run_ids

            def token_for(resource_server: str) -> str:
                return token

            scopes = [FLOWS_ALL, flow_scope(flow_id)]
            namespace.update(
                fake=fake,
                # What pytest would give a test written on the shipped fixture: a fresh
                # emulator on a manual clock.
                fake_globus=FakeGlobus(),
                info=info,
                token=token,
                TOKEN=token,
                flows_token=token,
                flow_token=token,
                timers_token=token,
                flow_id=flow_id,
                flow_ids=[flow_id, failing],
                flow_scope=flow_scope(flow_id),
                FLOWS_ALL=FLOWS_ALL,
                scopes=scopes,
                CLIENT_ID=CLIENT_ID,
                CLIENT_SECRET=CLIENT_SECRET,
                SECRET=CLIENT_SECRET,
                client_id=CLIENT_ID,
                refresh_token=fake.issue_refresh_token(CLIENT_ID, scopes),
                refresh=fake.issue_refresh_token(CLIENT_ID, scopes),
                flows=flows,
                timers=timers,
                run=run,
                run_id=run_ids[0],
                active_run_id=active_run_id,
                paused_run_id=paused[0].run_id,
                started_run=started_run,
                run_ids=run_ids,
                runs=runs,
                started=runs,
                results=await flows.batch_get_runs(run_ids),
                requests=[RunRequest(flow_id, {"scan": n}) for n in range(5)],
                paused=paused,
                group=group,
                web_input_id=web_input_id,
                option_id=question.options[0].option_id,
                timer_id=timer_id,
                flow_run_id=timer_result["resource_id"],
                header=header,
                rejected_header=header,
                ALICE=str(uuid.uuid4()),
                alice=fake.issue_token(),
                alice_id=str(uuid.uuid4()),
                bob_id=str(uuid.uuid4()),
                policy_id=str(uuid.uuid4()),
                policy=RetryPolicy(),
                error=RateLimitError(429, "TOO_MANY_REQUESTS", "slow down", retry_after=1.0),
                builder=SummaryBuilder(),
                inputs=[{"scan": n} for n in range(5)],
                path=tmp_path / "requests.jsonl",
                record=Recorder().record,
                latency=Recorder(),
                metrics=Recorder(),
                store=Recorder(),
                consent_to=consent_to,
                get_consent=consent_to,
                read_requests=read_requests,
                ids_from_file=ids_from_file,
                token_for=token_for,
            )
            namespace["authorizer"] = AccessTokenAuthorizer(token)
            try:
                yield namespace
            finally:
                # An example may choose a tracer provider; the next test starts without one.
                globus_runs.configure_telemetry()


# Where one example needs something else than the others under a given name: by the
# qualified name of what its docstring documents, the name and what it is bound to instead.
_INSTEAD = {
    "FlowsClient.cancel_run": {"run_id": "active_run_id"},  # a run that has not ended
    "FlowsClient.wait_for_run": {"run": "started_run"},  # a run that will end by itself
    "FlowsClient.resume_run": {"run_id": "paused_run_id"},  # a run that is INACTIVE
}


def given_for(owner: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """The names to rebind for an example in the docstring of ``owner``: ``authorizer`` is
    an instance of the class the docstring belongs to, and see ``_INSTEAD``."""
    given = {name: namespace[other] for name, other in _INSTEAD.get(owner, {}).items()}
    token, urls = namespace["token"], namespace["info"]
    cls = owner.split(".")[0]
    if cls == "TokenMapAuthorizer":
        given["authorizer"] = TokenMapAuthorizer(
            {"flows.globus.org": token, namespace["flow_id"]: token}
        )
    elif cls == "CallbackAuthorizer":
        given["authorizer"] = CallbackAuthorizer(namespace["token_for"])
    elif cls in ("ClientCredentialsAuthorizer", "_RenewingAuthorizer"):
        given["authorizer"] = ClientCredentialsAuthorizer(
            CLIENT_ID, CLIENT_SECRET, namespace["scopes"], auth_url=urls["auth_url"]
        )
    elif cls == "RefreshTokenAuthorizer":
        given["authorizer"] = RefreshTokenAuthorizer(
            CLIENT_ID, namespace["refresh_token"], auth_url=urls["auth_url"]
        )
    return given
