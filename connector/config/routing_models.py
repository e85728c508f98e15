"""Pydantic models of routing.yaml: reps, teams, pools, routes, claim rules, SLAs."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from connector.config.conditions import Condition, parse_condition
from connector.config.durations import (
    DateRange,
    WorkingHours,
    parse_date_range,
    parse_duration,
    parse_hours,
    parse_zone,
)

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Hours = Annotated[WorkingHours, BeforeValidator(parse_hours)]
Days = Annotated[DateRange, BeforeValidator(parse_date_range)]
Cond = Annotated[Condition, BeforeValidator(parse_condition)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


def _id_text(value: object) -> object:
    # HubSpot owner ids are numbers; YAML reads an unquoted `crm_user: 1001` as an int.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CrmId = Annotated[str, BeforeValidator(_id_text), Field(min_length=1)]
Strategy = Literal["round_robin", "weighted", "least_loaded", "account_owner", "manual"]
STRATEGIES: tuple[str, ...] = ("round_robin", "weighted", "least_loaded", "account_owner", "manual")


def _zone_name(value: object) -> object:
    if isinstance(value, str):
        parse_zone(value)
    return value


class Strict(BaseModel):
    """Base for every config model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Rep(Strict):
    """A sales rep leadpool can give leads to."""

    id: Name
    crm_user: CrmId
    name: str | None = None
    email: str | None = None
    teams: tuple[Name, ...] = ()
    weight: int = Field(default=1, ge=0, le=1000)
    tier: Name = "standard"
    daily_cap: int | None = Field(default=None, ge=0)
    weekly_cap: int | None = Field(default=None, ge=0)
    hours: Hours | None = None
    out_of_office: tuple[Days, ...] = ()
    active: bool = True
    skills: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The rep's name for humans."""
        return self.name or self.id


class Manager(Strict):
    """A team's manager: receives manager-review leads and breach notices."""

    name: str
    crm_user: CrmId


class Team(Strict):
    """A group of reps with a manager; `fallback` is the next team to try when none is free."""

    manager: Manager
    fallback: Name | None = None


class Assign(Strict):
    """How to pick a rep: a strategy over a team, a pool's members or listed reps."""

    strategy: Strategy
    team: Name | None = None
    reps: tuple[Name, ...] = ()
    rep: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `assign: round_robin` and `assign: {weighted: {team: smb}}` are the short forms.
        if isinstance(data, str):
            return {"strategy": data}
        if isinstance(data, dict) and len(data) == 1:
            ((key, value),) = data.items()
            if key in STRATEGIES:
                return {"strategy": key, **(value or {})}
            if key == "rep":
                return {"strategy": "manual", "rep": value}
        return data

    def describe(self) -> str:
        """Name the strategy and whom it draws from."""
        words = self.strategy.replace("_", " ")
        if self.rep:
            return f"fixed rep {self.rep}"
        if self.team:
            return f"{words} in team {self.team}"
        if self.reps:
            return f"{words} over {', '.join(self.reps)}"
        return words


class EscalationStep(Strict):
    """One rung of a pool's ladder: after a wait, auto-assign or hand to the manager."""

    after: Duration
    assign: Assign | None = None
    to: Literal["manager"] | None = None
    sla: str | None = None  # an SLA policy name or a duration, for auto-assigned leads

    @model_validator(mode="after")
    def _one_action(self) -> EscalationStep:
        if (self.assign is None) == (self.to is None):
            raise ValueError("an escalation step takes exactly one of 'assign' or 'to: manager'")
        return self


class Members(Strict):
    """Who may claim from a pool."""

    teams: tuple[Name, ...] = ()
    reps: tuple[Name, ...] = ()


class Pool(Strict):
    """A pull pool: a Salesforce queue or a HubSpot pool property value."""

    crm_queue: CrmId | None = None
    mode: Literal["queue", "pool", "cherry_pick"] = "pool"
    members: Members = Members()
    team: Name | None = None
    preview_fields: tuple[str, ...] = ()
    escalation: tuple[EscalationStep, ...] = ()

    @field_validator("escalation")
    @classmethod
    def _ladder_in_order(cls, steps: tuple[EscalationStep, ...]) -> tuple[EscalationStep, ...]:
        afters = [step.after for step in steps]
        if afters != sorted(afters) or len(set(afters)) != len(afters):
            raise ValueError("escalation steps must have strictly increasing 'after' times")
        return steps


class SlaPolicy(Strict):
    """How fast a pushed lead must be contacted, and what happens when it isn't."""

    contact_within: Duration
    on_breach: tuple[Literal["reassign", "notify_manager"], ...] = ("reassign", "notify_manager")
    task_subject: str = "Contact this lead within {within}"


class Route(Strict):
    """One routing rule: conditions, then assign or pool (first match wins)."""

    name: str = Field(min_length=1)
    when: dict[str, Cond] = {}
    assign: Assign | None = None
    pool: Name | None = None
    sla: str | None = None  # an SLA policy name, or a duration like 5m

    @model_validator(mode="after")
    def _one_target(self) -> Route:
        if (self.assign is None) == (self.pool is None):
            raise ValueError("a route takes exactly one of 'assign' or 'pool'")
        return self


class Diversity(Strict):
    """At least `min_share` of a rep's last `window` claims must score below `below_score`."""

    below_score: float
    min_share: float = Field(gt=0, le=1)
    window: int = Field(default=10, ge=1, le=1000)


class Tier(Strict):
    """What a performance tier may claim: which pools, and up to which score."""

    pools: Literal["all"] | tuple[Name, ...] = "all"
    max_score: float | None = None


class MinDaily(Strict):
    """The daily claim floor; reps under it can get priority in the next day's escalations."""

    claims: int = Field(ge=1)
    priority_next_day: bool = True


class Claims(Strict):
    """The rules every claim is checked against."""

    lock: Duration = timedelta(minutes=15)
    max_open: int | None = Field(default=None, ge=1)
    diversity: Diversity | None = None
    min_daily: MinDaily | None = None
    tiers: dict[Name, Tier] = {"standard": Tier()}
    queue_order: bool = True
    max_releases_per_day: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _min_daily_short(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("min_daily"), int):
            return {**data, "min_daily": {"claims": data["min_daily"]}}
        return data


class Account(Strict):
    """A named account: leads from its domains or company name go to its owner."""

    name: str
    owner: Name
    domains: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    strategic: bool = False


class Fields(Strict):
    """CRM field names leadpool reads from a lead."""

    score: str = "Lead_Score__c"
    status: str = "Status"
    email: str = "Email"
    company: str = "Company"
    last_contacted: str | None = "LastActivityDate"
    converted: str | None = "IsConverted"


class Contacted(Strict):
    """What counts as 'contacted': a status value, or any logged activity."""

    status: tuple[str, ...] = ()
    activity: bool = True


class Converted(Strict):
    """What counts as 'converted': a status value, or the CRM's converted flag."""

    status: tuple[str, ...] = ()
    flag: bool = True


class Fallback(Strict):
    """Where a lead goes when a route's strategy finds nobody eligible."""

    next_team: bool = True
    pool: Name | None = None
    manager: bool = True


class RoutingConfig(Strict):
    """The whole of routing.yaml."""

    timezone: Annotated[str, BeforeValidator(_zone_name)] = "UTC"
    fields: Fields = Fields()
    reps: tuple[Rep, ...]
    teams: dict[Name, Team] = {}
    pools: dict[Name, Pool] = {}
    accounts: tuple[Account, ...] = ()
    routes: tuple[Route, ...] = Field(min_length=1)
    claims: Claims = Claims()
    slas: dict[Name, SlaPolicy] = {}
    fallback: Fallback = Fallback()
    contacted_when: Contacted = Contacted()
    converted_when: Converted = Converted()

    @model_validator(mode="before")
    @classmethod
    def _score_field_short(cls, data: Any) -> Any:
        # `score_field: Lead_Score__c` at the top is the short form of fields.score.
        if isinstance(data, dict) and "score_field" in data:
            data = dict(data)
            fields = dict(data.get("fields") or {})
            fields["score"] = data.pop("score_field")
            data["fields"] = fields
        return data

    _by_id: dict[str, Rep] = PrivateAttr(default_factory=dict)
    _by_user: dict[str, Rep] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        """Index reps by id and by CRM user."""
        self._by_id.update({r.id: r for r in self.reps})
        self._by_user.update({crm_user_key(r.crm_user): r for r in self.reps})

    def sla_for(self, route: Route) -> SlaPolicy | None:
        """The SLA policy a route attaches: a named policy, or a bare duration."""
        return self.sla_policy(route.sla)

    def sla_policy(self, spec: str | None) -> SlaPolicy | None:
        """An SLA policy by name, or one made from a bare duration like `15m`."""
        if spec is None:
            return None
        if spec in self.slas:
            return self.slas[spec]
        return SlaPolicy(contact_within=parse_duration(spec))

    def read_fields(self) -> tuple[str, ...]:
        """Every CRM field routing reads: the named fields, route conditions, pool previews."""
        special = {"score", "account_owner", "email_domain"}
        f = self.fields
        names = [f.score, f.status, f.email, f.company, f.last_contacted, f.converted]
        names += [key for route in self.routes for key in route.when if key not in special]
        names += [name for pool in self.pools.values() for name in pool.preview_fields]
        return tuple(dict.fromkeys(n for n in names if n))

    def rep(self, rep_id: str) -> Rep | None:
        """Find a rep by id."""
        return self._by_id.get(rep_id)

    def rep_by_crm_user(self, crm_user: str) -> Rep | None:
        """Find a rep by CRM user id (Salesforce 15/18-char ids compare on the 15-char prefix)."""
        return self._by_user.get(crm_user_key(crm_user))


def crm_user_key(crm_user: str) -> str:
    """The comparable form of a CRM user id."""
    # Salesforce ids exist in a 15-char case-sensitive and an 18-char form of the same record:
    # https://help.salesforce.com/s/articleView?id=000385008&type=1
    return crm_user[:15] if len(crm_user) == 18 else crm_user
