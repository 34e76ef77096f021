"""`FakeGlobus`: the state of the emulated Globus services and their ASGI app."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from ._auth import TokenGrant, TokenRegistry, flow_scope
from ._clock import FakeClock
from ._faults import Faults
from ._flows import FlowsState
from ._oauth import TOKEN_PATH, AuthState
from ._recording import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_RECORDS,
    RecordedRequest,
    RequestLog,
)
from ._records import FlowBehavior, FlowRecord, Outcome, RunRecord, StepType
from ._run_fields import RunRequest
from ._timer_fields import TimerType, check_schedule
from ._timers import TimerRecord, TimersState
from ._web_inputs import WebInputsState, WebInputStep, web_input_step
from ._wire import identity_urn

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .._auth import Authorizer
    from ..flows import FlowsClient
    from ..timers import TimersClient

DEFAULT_ORIGIN = "http://127.0.0.1"
#: The largest request body the emulator accepts by default (larger ones get 413).
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


class _Default:
    """Marks an argument left out (``None`` means "no authorizer")."""


DEFAULT = _Default()


def _default_definition(behavior: FlowBehavior) -> dict[str, Any]:
    if behavior.steps == 0:
        return {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    names = [f"Step{i + 1}" for i in range(behavior.steps)]
    states: dict[str, Any] = {}
    for index, name in enumerate(names):
        state: dict[str, Any] = {"Type": behavior.step_type}
        if behavior.step_type == "Action":
            state["ActionUrl"] = "https://actions.globus.org/hello_world"
            state["Parameters"] = {"echo_string": name}
        state["ResultPath"] = f"$.{name}Result"
        if index + 1 < len(names):
            state["Next"] = names[index + 1]
        else:
            state["End"] = True
        states[name] = state
    return {"StartAt": names[0], "States": states}


def _per_run(value: Any, n: int, name: str) -> list[Any]:
    """One value for each of ``n`` runs, from one value or a sequence of ``n``."""
    if value is None or isinstance(value, str | int | float):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{name} must be one value or one per run ({n})")
    return values


class FakeGlobus:
    """An in-memory, stateful stand-in for Globus Flows, Timers and Auth.

    ``fake.app`` is an ASGI app serving Flows under ``/flows/``, Timers under
    ``/timers/`` and the Auth token endpoint under ``/auth/``; talk to it
    in-process (``fake.flows_client()``, ``fake.timers_client()``) or serve
    it (see `serve_in_thread`).
    Register flows with `add_flow`; their runs then progress on ``fake.clock``,
    a manual `FakeClock` unless one is given:

    >>> fake = FakeGlobus()
    >>> flow_id = fake.add_flow(duration=30)
    >>> [run_id] = fake.add_runs(flow_id, 1)
    >>> fake.get_run_document(run_id)["status"]
    'ACTIVE'
    >>> fake.clock.advance(60)
    >>> fake.get_run_document(run_id)["status"]
    'SUCCEEDED'

    Timers (created with ``POST /v2/timer`` or `add_timer`) fire on the same
    clock and start runs of their flow.

    ``token`` is accepted for every resource server and belongs to
    ``identity_id``. A request body larger than ``max_body_size`` bytes
    (default `DEFAULT_MAX_BODY_SIZE`, 10 MiB) is answered 413 without being read
    further. Every request is appended to ``requests``, a `RequestLog` keeping the
    latest ``max_recorded_requests`` (default 10,000) holding at most
    ``max_recorded_bytes`` of bodies in all (default 64 MiB); ``None`` lifts a
    bound. ``latency``
    seconds are slept before each answer; ``in_flight`` and ``max_in_flight``
    count requests being handled concurrently. ``origin`` is the scheme and
    host the URL properties use (set by the serve helpers).

    ``faults`` injects failures into matching requests (rate limits, 5xx,
    dropped connections, slow or broken answers), for every service:
    ``fake.faults.add("503", route="/flows/runs/*", count=2)``; see `Faults.add`.

    The service layers keep their state in ``flows_service``,
    ``timers_service`` and ``tokens``;
    tests normally go through the methods below instead.
    """

    def __init__(
        self,
        token: str = "test-token",
        clock: FakeClock | None = None,
        *,
        identity_id: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        max_recorded_requests: int | None = DEFAULT_MAX_RECORDS,
        max_recorded_bytes: int | None = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_body_size < 0:
            raise ValueError(f"max_body_size must not be negative, not {max_body_size}")
        self.max_body_size = max_body_size
        self.clock = clock if clock is not None else FakeClock()
        self.identity_id = identity_id or str(uuid.uuid4())
        self.token = token
        self.tokens = TokenRegistry()
        self.tokens.add(token, TokenGrant(self.identity_id, None))
        self.flows_service = FlowsState()
        self.timers_service = TimersState(self.flows_service)
        self.auth_service = AuthState(self.tokens)
        self.web_inputs_service = WebInputsState(self.flows_service)
        self.requests = RequestLog(max_recorded_requests, max_recorded_bytes)
        self.latency = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.faults = Faults()
        self.origin = DEFAULT_ORIGIN
        self._app: ASGIApp | None = None

    @property
    def app(self) -> ASGIApp:
        """The ASGI app serving the emulated services (built on first use)."""
        if self._app is None:
            try:
                from ._app import build_app
            except ImportError as err:  # pragma: no cover - depends on the install
                raise ImportError(
                    "the emulator's app needs Starlette: "
                    "install globus_runs with the 'testing' extra"
                ) from err
            app = build_app(self)
            self._app = app if self.clock.per_request == 0 else _Ticking(app, self.clock)
        return self._app

    # -- URLs ---------------------------------------------------------------

    def urls(self, origin: str | None = None) -> dict[str, str]:
        """Base URLs of the services for a server at ``origin`` (default ``origin``).

        Example::

            fake.urls("http://127.0.0.1:8000")["flows_url"]  # "http://127.0.0.1:8000/flows/"
        """
        base = (origin or self.origin).rstrip("/")
        return {
            "flows_url": f"{base}/flows/",
            "timers_url": f"{base}/timers/",
            "auth_url": f"{base}/auth/",
        }

    @property
    def flows_url(self) -> str:
        """The Flows base URL at ``origin``, e.g. ``http://127.0.0.1/flows/``."""
        return self.urls()["flows_url"]

    @property
    def timers_url(self) -> str:
        """The Timers base URL at ``origin``."""
        return self.urls()["timers_url"]

    @property
    def auth_url(self) -> str:
        """The Auth base URL at ``origin``."""
        return self.urls()["auth_url"]

    # -- tokens -------------------------------------------------------------

    def issue_token(
        self,
        *,
        identity_id: str | None = None,
        resource_servers: Iterable[str] | None = None,
        expires_in: float | None = None,
    ) -> str:
        """A new token for ``identity_id`` (a new identity when ``None``).

        ``resource_servers=None`` makes it valid everywhere; otherwise only for
        the names given, such as ``{"flows.globus.org"}`` or ``{flow_id}``.
        With ``expires_in`` it is rejected once that many clock seconds pass.

        Example::

            alice = fake.issue_token(identity_id=ALICE, resource_servers={"flows.globus.org"})
        """
        expires_at = None
        if expires_in is not None:
            expires_at = self.clock.now() + timedelta(seconds=expires_in)
        return self.tokens.issue(identity_id or str(uuid.uuid4()), resource_servers, expires_at)

    def revoke_token(self, token: str) -> None:
        """Reject ``token`` from now on.

        Example::

            fake.revoke_token(alice)  # her next request is answered 401
        """
        self.tokens.revoke(token)

    # -- Globus Auth: clients and the token endpoint ---------------------------

    def add_client(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        identity_id: str | None = None,
    ) -> tuple[str, str]:
        """Register a confidential client (a service account); returns its id and secret.

        Both are made up when not given. It authenticates to the token endpoint
        with HTTP Basic and may use ``client_credentials``; the tokens it gets
        belong to ``identity_id``, by default the client id itself (as in Globus
        Auth), so runs it starts are owned by that identity.

        Example::

            client_id, secret = fake.add_client()
            authorizer = ClientCredentialsAuthorizer(
                client_id, secret, scopes, auth_url=fake.auth_url
            )
        """
        secret = client_secret or secrets.token_urlsafe(32)
        client = self.auth_service.add_client(client_id, secret, identity_id)
        return client.client_id, secret

    def add_native_client(self, client_id: str | None = None) -> str:
        """Register a native (public) client: no secret, it names itself with a
        ``client_id`` form field and only exchanges refresh tokens. Returns its id.

        Example::

            client_id = fake.add_native_client()
        """
        return self.auth_service.add_client(client_id, None, None).client_id

    def issue_refresh_token(
        self,
        client_id: str,
        scopes: str | Iterable[str],
        *,
        identity_id: str | None = None,
        rotate: bool = False,
    ) -> str:
        """A refresh token that ``client_id`` can exchange for tokens of ``scopes``.

        The tokens belong to ``identity_id`` (default: ``fake.identity_id``). With
        ``rotate``, every exchange answers a new refresh token and the one used is
        rejected from then on.

        Example::

            refresh = fake.issue_refresh_token(client_id, scopes, rotate=True)
        """
        return self.auth_service.issue_refresh_token(
            client_id, scopes, identity_id or self.identity_id, rotate=rotate
        )

    def revoke_refresh_token(self, token: str) -> None:
        """Reject the refresh token ``token`` from now on.

        Example::

            fake.revoke_refresh_token(refresh)
        """
        self.auth_service.revoke_refresh_token(token)

    def revoke_client_tokens(self, client_id: str) -> int:
        """Reject every access token granted to ``client_id`` so far; returns how many.

        Its next request with one of them is answered 401, as after a revocation
        in Globus Auth.

        Example::

            revoked = fake.revoke_client_tokens(client_id)  # how many tokens it had
        """
        return self.tokens.revoke_client(client_id)

    @property
    def token_lifetime(self) -> int:
        """Seconds a token granted by the token endpoint stays valid on ``clock``
        (default two days, like Globus Auth); settable."""
        return self.auth_service.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        self.auth_service.token_lifetime = seconds

    @property
    def token_requests(self) -> list[RecordedRequest]:
        """The requests the token endpoint received (answered or refused), in order."""
        return [r for r in self.requests if r.service == "auth" and r.path == TOKEN_PATH]

    # -- flows and runs -----------------------------------------------------

    def add_flow(
        self,
        *,
        title: str = "Sample Flow",
        flow_id: str | None = None,
        duration: float = 10.0,
        outcome: Outcome = "SUCCEEDED",
        failure_code: str = "ActionFailedException",
        failure_description: str = "The action failed",
        steps: int = 2,
        step_type: StepType = "Action",
        inactive_after: float | None = None,
        inactive_code: str = "ConsentRequired",
        input_schema: Mapping[str, Any] | None = None,
        definition: Mapping[str, Any] | None = None,
        owner: str | None = None,
        description: str = "",
        run_managers: Iterable[str] = (),
        run_monitors: Iterable[str] = (),
        web_input: Mapping[str, Any] | WebInputStep | None = None,
        consent_required: bool = False,
    ) -> str:
        """Register a flow whose runs behave as described; returns its id.

        See `FlowBehavior` for ``duration`` to ``inactive_code``. ``owner`` is
        an identity id (default: ``identity_id``). ``run_managers`` and
        ``run_monitors`` are principal URNs holding the flow_run_manager /
        flow_run_monitor role on every run of the flow.

        ``web_input`` adds a step that waits for a person (see
        `globus_runs.testing._web_inputs.web_input_step` for its keys): each run
        is ACTIVE with ``blocking_web_input_id`` set from ``after`` seconds on,
        until a respondent answers; the chosen option's ``outcome`` decides how
        the run ends. With ``consent_required`` a run goes INACTIVE
        (``ConsentRequired``, naming the flow's scope) ``inactive_after``
        seconds in (default 0) unless its owner consented (`grant_consent`)
        before it started; resuming it works only once the resuming identity
        has consented (before that, the run stays INACTIVE).

        Example::

            flow_id = fake.add_flow(title="Scan", duration=30, outcome="FAILED", inactive_after=10)
            approval = fake.add_flow(web_input={"title": "Ship it?", "after": 5})
        """
        if consent_required and inactive_after is None:
            inactive_after = 0.0
        if web_input is not None and inactive_after is not None:
            raise ValueError("a flow has either a web_input step or goes INACTIVE, not both")
        step = None if web_input is None else web_input_step(web_input, duration)
        behavior = FlowBehavior(
            duration=duration,
            outcome=outcome,
            failure_code=failure_code,
            failure_description=failure_description,
            steps=steps,
            step_type=step_type,
            inactive_after=inactive_after,
            inactive_code=inactive_code,
        )
        now = self.clock.now()
        flow = FlowRecord(
            flow_id=flow_id or str(uuid.uuid4()),
            title=title,
            behavior=behavior,
            definition=dict(definition or _default_definition(behavior)),
            input_schema=dict(input_schema or {"type": "object"}),
            owner=identity_urn(owner or self.identity_id),
            created_at=now,
            updated_at=now,
            description=description,
            run_managers=list(run_managers),
            run_monitors=list(run_monitors),
            web_input=step,
            consent_required=consent_required,
        )
        self.flows_service.add_flow(flow)
        return flow.flow_id

    def grant_consent(self, *flows_or_scopes: str, identity_id: str | None = None) -> None:
        """Record that ``identity_id`` (default: ``identity_id``) consented to these scopes
        (a flow id stands for the flow's own scope). Runs it starts from then on do not stop
        for consent, and its INACTIVE runs resume when asked.

        Example::

            fake.grant_consent(flow_id)
            await flows.batch_resume_runs(paused)
        """
        urn = identity_urn(identity_id or self.identity_id)
        for item in flows_or_scopes:
            scope = flow_scope(item) if item in self.flows_service.flows else item
            self.flows_service.consents.setdefault((urn, scope), self.clock.now())

    def satisfy_policies(self, *policy_ids: str, identity_id: str | None = None) -> None:
        """Record that ``identity_id``'s session (default: ``identity_id``) meets these
        authentication policies, so web inputs requiring them no longer answer 403.

        Example::

            fake.satisfy_policies(policy_id)
        """
        urn = identity_urn(identity_id or self.identity_id)
        self.web_inputs_service.satisfied.update((urn, policy) for policy in policy_ids)

    def respond_to_web_input(
        self,
        web_input_id: str,
        value: Any,
        *,
        identity_id: str | None = None,
        after: float = 0.0,
    ) -> None:
        """Answer a web input as ``identity_id`` (default: ``identity_id``) would through
        the API, effective ``after`` clock seconds from now (a person who answers later).

        Raises `ApiError` (``.status`` 403, 404, 409 or 422) as the endpoint would answer.

        Example::

            fake.respond_to_web_input(web_input_id, option_id, after=30)
        """
        now = self.clock.now()
        self.web_inputs_service.respond(
            identity_urn(identity_id or self.identity_id),
            web_input_id,
            {"response": {"value": value}},
            now,
            at=now + timedelta(seconds=after),
        )

    def web_input_of(self, run_id: str) -> str | None:
        """The id of ``run_id``'s web input (its flow has a web-input step), else ``None``.

        Example::

            web_input_id = fake.web_input_of(run_id)
        """
        return self.flows_service.runs[run_id].web_input_id

    def add_runs(
        self,
        flow_id: str,
        n: int,
        *,
        owner: str | None = None,
        start: datetime | None = None,
        interval: float = 0.001,
        duration: float | Sequence[float] | None = None,
        outcome: Outcome | Sequence[Outcome] | None = None,
        body: Mapping[str, Any] | None = None,
        label: str | None = None,
        tags: Iterable[str] = (),
        run_managers: Iterable[str] = (),
        run_monitors: Iterable[str] = (),
    ) -> list[str]:
        """Create ``n`` runs of ``flow_id`` directly (no request); returns their ids.

        Run ``i`` starts at ``start + i * interval`` seconds; by default the last
        one starts ``interval`` before now, so all of them are in the past and in
        a meaningful order. ``duration`` and ``outcome`` override the flow's
        behaviour, with one value for all runs or a sequence of ``n``. ``label``
        may contain ``{i}``, replaced by the run's index. Input is not
        validated against the flow's schema.

        Example::

            run_ids = fake.add_runs(flow_id, 100, outcome="SUCCEEDED", label="scan {i}")
        """
        flow = self.flows_service.flows[flow_id]
        if start is None:
            start = self.clock.now() - timedelta(seconds=interval * n)
        durations = _per_run(duration, n, "duration")
        outcomes = _per_run(outcome, n, "outcome")
        run_ids = []
        for index in range(n):
            behavior = flow.behavior
            if durations[index] is not None:
                behavior = attrs.evolve(behavior, duration=durations[index])
            if outcomes[index] is not None:
                behavior = attrs.evolve(behavior, outcome=outcomes[index])
            request = RunRequest(
                body=dict(body or {}),
                label=None if label is None else label.format(i=index),
                tags=list(tags),
                run_managers=list(run_managers),
                run_monitors=list(run_monitors),
            )
            run = self.flows_service.create_run(
                flow,
                identity_urn(owner or self.identity_id),
                request,
                start + timedelta(seconds=interval * index),
                behavior,
            )
            run_ids.append(run.run_id)
        return run_ids

    @property
    def flows(self) -> Mapping[str, FlowRecord]:
        """The registered flows by id (read-only)."""
        return MappingProxyType(self.flows_service.flows)

    @property
    def runs(self) -> Mapping[str, RunRecord]:
        """The runs not yet released, by id (read-only), timers' due runs included."""
        self.fire_due_timers()
        return MappingProxyType(self.flows_service.runs)

    def get_run_document(
        self,
        run_id: str,
        *,
        include_flow_description: bool = False,
        identity_id: str | None = None,
    ) -> dict[str, Any]:
        """The run as ``GET /runs/{run_id}`` would answer it now.

        Seen by ``identity_id`` (default: the run's owner), which sets
        ``user_role``. Raises `KeyError` for an unknown run.

        Example::

            print(fake.get_run_document(run_id)["status"])
        """
        self.fire_due_timers()
        run = self.flows_service.runs[run_id]
        viewer = run.owner if identity_id is None else identity_urn(identity_id)
        return self.flows_service.render(
            run,
            self.clock.now(),
            viewer,
            include_flow_description=include_flow_description,
        )

    # -- timers -------------------------------------------------------------

    def add_timer(
        self,
        flow_id: str | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        schedule: Mapping[str, Any] | None = None,
        name: str | None = None,
        owner: str | None = None,
        timer_type: TimerType = "flow",
        tags: Iterable[str] | None = None,
        run_managers: Iterable[str] | None = None,
        run_monitors: Iterable[str] | None = None,
    ) -> str:
        """Create a timer directly (no request); returns its id.

        Unlike ``POST /v2/timer``, the flow ``flow_id`` need not exist (its firings
        then fail to submit with 404) and ``timer_type="transfer"`` makes a transfer
        timer, whose firings record a Transfer task that succeeds at once.
        ``schedule`` defaults to ``{"type": "once"}`` (fire as soon as possible) and
        is checked as the service would (`ValueError` when invalid); ``owner`` is an
        identity id (default: ``identity_id``). ``body`` is the run input (or the
        Transfer request); the other keywords are stored with it when given.

        Example::

            timer_id = fake.add_timer(
                flow_id, {"scan": 1}, schedule={"type": "recurring", "interval_seconds": 60}
            )
        """
        if timer_type == "flow" and flow_id is None:
            raise ValueError("a flow timer needs a flow_id")
        schedule_document = dict(schedule if schedule is not None else {"type": "once"})
        callback: dict[str, Any] = {"body": dict(body or {})}
        extras = {
            "tags": None if tags is None else list(tags),
            "run_managers": None if run_managers is None else list(run_managers),
            "run_monitors": None if run_monitors is None else list(run_monitors),
        }
        callback.update((key, value) for key, value in extras.items() if value is not None)
        timer = self.timers_service.add_timer(
            owner=identity_urn(owner or self.identity_id),
            timer_type=timer_type,
            flow_id=flow_id,
            callback_body=callback,
            schedule=check_schedule(schedule_document),
            schedule_document=schedule_document,
            name=name,
            now=self.clock.now(),
        )
        return timer.job_id

    @property
    def timers(self) -> Mapping[str, TimerRecord]:
        """The timers not yet deleted for good, by id (read-only), with every firing
        due by now carried out."""
        self.fire_due_timers()
        return MappingProxyType(self.timers_service.timers)

    def fail_timer_submissions(self, count: int = 1, *, timer_id: str | None = None) -> None:
        """Make the next ``count`` attempts of flow timers (of ``timer_id`` only, if given)
        to start their flow fail as production retries them: as if the Flows service
        answered 5xx or could not be reached.

        Such a timer's ``activity`` is ``{"code": "retrying", "start_timestamp": ...}``
        (when its first attempt failed) and it tries again every 30
        emulated seconds, recording nothing; the first attempt that succeeds starts the
        run and records its result as usual, and the timer goes back to its schedule.
        Pausing the timer drops the retries.

        Example::

            fake.fail_timer_submissions(2, timer_id=timer_id)
            fake.clock.advance(30)  # the attempts at 0 s and 30 s have failed: retrying
            fake.clock.advance(30)  # the third starts the run
        """
        self.timers_service.fail_submissions(count, timer_id)

    def fire_due_timers(self) -> int:
        """Carry out every timer firing that has come due on ``clock`` (and complete
        the deletions whose time has come); returns how many firings there were.

        The app does this before handling each request, so every service it
        answers for (Flows included) sees the runs timers have started; so do
        `runs`, `get_run_document`, `timers` and `get_timer_document`.

        Example::

            fake.clock.advance(120)
            fired = fake.fire_due_timers()  # 2 for a timer firing every 60 s
        """
        return self.timers_service.catch_up(self.clock.now())

    def get_timer_document(self, timer_id: str) -> dict[str, Any]:
        """The timer as its owner's ``GET /jobs/{timer_id}`` would answer it now
        (with the first page of results). Raises `KeyError` for an unknown timer.

        Example::

            print(fake.get_timer_document(timer_id)["number_of_runs"])
        """
        return self.timers_service.job_document(timer_id, self.clock.now())

    # -- instrumentation ----------------------------------------------------

    def clear_requests(self) -> None:
        """Forget the requests recorded so far.

        Example::

            fake.clear_requests()
            await flows.get_run(run_id)
            assert [r.path for r in fake.requests] == [f"/runs/{run_id}"]
        """
        self.requests.clear()

    def reset_stats(self) -> None:
        """Restart ``max_in_flight`` from the current ``in_flight``.

        Example::

            fake.reset_stats()
            await flows.batch_get_runs(run_ids, concurrency=8)
            assert fake.max_in_flight <= 8
        """
        self.max_in_flight = self.in_flight

    # -- ready clients -------------------------------------------------------------------

    def flows_client(
        self, *, authorizer: str | Authorizer | _Default | None = DEFAULT, **options: Any
    ) -> FlowsClient:
        """A :class:`FlowsClient` talking to this fake in-process (``httpx.ASGITransport``).

        It uses ``fake.token`` unless ``authorizer`` is given; ``options`` go to the client
        (``retry=``, ``concurrency=``, ``timeout=``...). Close it with ``aclose()`` or
        ``async with``.

        Example::

            async with fake.flows_client(retry=RetryPolicy.disabled()) as flows:
                run = await flows.run_flow(flow_id, {})
        """
        from .._http.httpx_sender import asgi_transport
        from ..flows import FlowsClient

        return FlowsClient(
            authorizer=self.token if isinstance(authorizer, _Default) else authorizer,
            base_url=self.flows_url,
            transport=asgi_transport(self.app),
            **options,
        )

    def timers_client(
        self, *, authorizer: str | Authorizer | _Default | None = DEFAULT, **options: Any
    ) -> TimersClient:
        """A :class:`TimersClient` talking to this fake in-process; its ``flows`` client
        (used by ``run_timer``) shares its connection and reaches this fake's Flows.

        Example::

            async with fake.timers_client() as timers:
                runs = await timers.list_all_runs(timer_id)
        """
        from .._http.httpx_sender import asgi_transport
        from ..timers import TimersClient

        return TimersClient(
            authorizer=self.token if isinstance(authorizer, _Default) else authorizer,
            base_url=self.timers_url,
            flows_base_url=self.flows_url,
            transport=asgi_transport(self.app),
            **options,
        )


class _Ticking:
    """The emulator's app behind a clock that moves with each request (``per_request``)."""

    def __init__(self, app: ASGIApp, clock: FakeClock) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.clock.advance(self.clock.per_request)
        await self.app(scope, receive, send)
