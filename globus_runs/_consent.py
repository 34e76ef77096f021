"""What a person must do before a paused run can go on: Globus Auth requirements ("GARE").

An ``INACTIVE`` run's ``details`` and some 403 bodies carry ``authorization_parameters``: the
scopes to consent to and the session a person must have. The parsing here is pure and lenient
about shape (older runs name ``required_scope``/``required_scopes`` at the top of ``details``,
some put the parameters one level down in ``details.details``), and never raises: a value of
the wrong type is left out, the document stays in ``raw``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._models import Run

__all__ = [
    "AuthorizationParameters",
    "ConsentGroup",
    "InactiveReason",
    "group_by_consent",
    "parse_authorization_parameters",
    "parse_inactive_reason",
]

_KNOWN_PARAMETERS = frozenset(
    {
        "session_message",
        "session_required_identities",
        "session_required_policies",
        "session_required_single_domain",
        "session_required_mfa",
        "required_scopes",
        "prompt",
    }
)


def _raw() -> dict[str, Any]:
    return {}


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@attrs.frozen
class AuthorizationParameters:
    """What Globus Auth must be asked for: consents (``required_scopes``) and a session.

    ``extra`` keeps parameters this model does not name; ``raw`` the whole object.
    """

    required_scopes: tuple[str, ...] = ()
    session_message: str | None = None
    session_required_identities: tuple[str, ...] = ()
    session_required_policies: tuple[str, ...] = ()
    session_required_single_domain: tuple[str, ...] = ()
    session_required_mfa: bool | None = None
    prompt: str | None = None
    extra: dict[str, Any] = attrs.field(factory=_raw)
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)

    @property
    def needs_session(self) -> bool:
        """True when a person must (re)authenticate, not only consent."""
        return bool(
            self.session_required_identities
            or self.session_required_policies
            or self.session_required_single_domain
            or self.session_required_mfa
            or self.prompt == "login"
        )


def parse_authorization_parameters(value: Any) -> AuthorizationParameters | None:
    """``authorization_parameters`` as a model; ``None`` when ``value`` is not an object."""
    if not isinstance(value, Mapping):
        return None
    mfa = value.get("session_required_mfa")
    return AuthorizationParameters(
        required_scopes=_strs(value.get("required_scopes")),
        session_message=_str_or_none(value.get("session_message")),
        session_required_identities=_strs(value.get("session_required_identities")),
        session_required_policies=_strs(value.get("session_required_policies")),
        session_required_single_domain=_strs(value.get("session_required_single_domain")),
        session_required_mfa=mfa if isinstance(mfa, bool) else None,
        prompt=_str_or_none(value.get("prompt")),
        extra={key: item for key, item in value.items() if key not in _KNOWN_PARAMETERS},
        raw=dict(value),
    )


@attrs.frozen
class InactiveReason:
    """Why a run is ``INACTIVE``, read from its ``details``.

    ``code`` is ``details.code`` (``"ConsentRequired"``...), ``required_scopes`` the scopes a
    person must consent to (from ``authorization_parameters`` or the older top-level
    ``required_scope``/``required_scopes``), ``authorization_parameters`` everything else
    Globus Auth must be asked for. ``raw`` is the run's ``details``.
    """

    code: str | None
    description: str | None = None
    required_scopes: tuple[str, ...] = ()
    authorization_parameters: AuthorizationParameters | None = None
    raw: dict[str, Any] = attrs.field(factory=_raw, repr=False, eq=False)

    @property
    def needs_consent(self) -> bool:
        """True when consenting to ``required_scopes`` (or a new session) may unblock the run."""
        if self.required_scopes:
            return True
        params = self.authorization_parameters
        return params is not None and params.needs_session


def _parameters_in(details: Mapping[str, Any]) -> AuthorizationParameters | None:
    found = parse_authorization_parameters(details.get("authorization_parameters"))
    if found is not None:
        return found
    nested = details.get("details")
    if isinstance(nested, Mapping):
        return parse_authorization_parameters(nested.get("authorization_parameters"))
    return None


def _legacy_scopes(details: Mapping[str, Any]) -> tuple[str, ...]:
    scopes: list[str] = []
    places: list[Mapping[str, Any]] = [details]
    nested = details.get("details")
    if isinstance(nested, Mapping):
        places.append(nested)
    for place in places:
        for key in ("required_scopes", "required_scope"):
            scopes.extend(scope for scope in _strs(place.get(key)) if scope not in scopes)
    return tuple(scopes)


def parse_inactive_reason(details: Any) -> InactiveReason:
    """Read an ``INACTIVE`` run's ``details`` (any shape; nothing is raised).

    Example::

        reason = parse_inactive_reason(run.details)
        if reason.needs_consent:
            print("consent to:", *reason.required_scopes)
    """
    if not isinstance(details, Mapping):
        return InactiveReason(code=None)
    params = _parameters_in(details)
    scopes = params.required_scopes if params is not None and params.required_scopes else ()
    if not scopes:
        scopes = _legacy_scopes(details)
    return InactiveReason(
        code=_str_or_none(details.get("code")),
        description=_str_or_none(details.get("description")),
        required_scopes=scopes,
        authorization_parameters=params,
        raw=dict(details),
    )


@attrs.frozen
class ConsentGroup:
    """INACTIVE runs that need the same consent: consent once, then resume them all.

    ``required_scopes`` is sorted; ``runs`` keep their input order. Runs paused for a
    reason other than consent form a group with no scopes.
    """

    required_scopes: tuple[str, ...]
    runs: tuple[Run, ...]
    session_required_policies: tuple[str, ...] = ()
    session_required_identities: tuple[str, ...] = ()

    @property
    def run_ids(self) -> list[str]:
        """The ids of the group's runs, in input order."""
        return [run.run_id for run in self.runs]


def group_by_consent(runs: Iterable[Run]) -> list[ConsentGroup]:
    """Group the ``INACTIVE`` runs among ``runs`` by the consent each needs.

    Runs in any other status are left out. Groups come in order of their first run; two runs
    share a group when they need the same scopes and the same session requirements.

    Example::

        inactive = await flows.list_all_runs(filter_status="INACTIVE")
        for group in group_by_consent(inactive):
            await get_consent(group.required_scopes)  # your login step
            await flows.batch_resume_runs(group.runs)
    """
    groups: dict[tuple[tuple[str, ...], ...], list[Run]] = {}
    for run in runs:
        if run.status != "INACTIVE":
            continue
        reason = run.inactive_reason
        if reason is None:  # pragma: no cover - an INACTIVE run always has a reason
            continue
        params = reason.authorization_parameters
        key = (
            tuple(sorted(set(reason.required_scopes))),
            tuple(sorted(params.session_required_policies)) if params else (),
            tuple(sorted(params.session_required_identities)) if params else (),
        )
        groups.setdefault(key, []).append(run)
    return [
        ConsentGroup(
            required_scopes=scopes,
            runs=tuple(members),
            session_required_policies=policies,
            session_required_identities=identities,
        )
        for (scopes, policies, identities), members in groups.items()
    ]
