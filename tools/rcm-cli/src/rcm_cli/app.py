"""``rcm``: the operator command line. Exit codes: 0 ok, 1 a failure was found, 2 usage.

Commands are thin: options in, one call of the broker, API or feed module, lines out.
Tests pass ``obj=CliContext(transport=httpx.MockTransport(...))`` to ``CliRunner.invoke``
to answer the HTTP calls themselves."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer

from common.settings import DEFAULT_AMQP_URL
from contracts.tenant.loading import TenantConfigError, load_tenant_config
from contracts.tenant.validate import summary as tenant_summary
from contracts.topology import Topology
from rcm_cli import broker, feed
from rcm_cli.api import (
    DEFAULT_CLAIMS_URL,
    DEFAULT_GATEWAY_URL,
    ApiError,
    RcmApi,
    open_api,
    token_tenant,
)
from rcm_cli.audit import DEFAULT_AUDIT_LOG, append_audit, os_user

T = TypeVar("T")

OK, FAILURE, USAGE = 0, 1, 2


@dataclass
class CliContext:
    """What tests may substitute: the HTTP transport."""

    transport: httpx.AsyncBaseTransport | None = None


app = typer.Typer(
    name="rcm",
    help="Operate the revenue-cycle suite: tenant files, dead letters, claims, 837 files, "
    "acknowledgments, feed replay. Exit codes: 0 ok, 1 failure found, 2 usage.",
    no_args_is_help=True,
    add_completion=False,
)
tenant_app = typer.Typer(help="Tenant configuration files.", no_args_is_help=True)
dead_letters_app = typer.Typer(help="Each service's dead-letter queue.", no_args_is_help=True)
claims_app = typer.Typer(help="Claims (claims API).", no_args_is_help=True)
interchanges_app = typer.Typer(help="837 interchanges (gateway API).", no_args_is_help=True)
acks_app = typer.Typer(help="Acknowledgment files (gateway API).", no_args_is_help=True)
feed_app = typer.Typer(help="Feeds of CloudEvents (JSON lines).", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(claims_app, name="claims")
app.add_typer(interchanges_app, name="interchanges")
app.add_typer(acks_app, name="acks")
app.add_typer(feed_app, name="feed")

AmqpUrl = Annotated[
    str, typer.Option("--amqp-url", envvar="AMQP_URL", help="RabbitMQ", show_default=True)
]
Prefix = Annotated[
    str,
    typer.Option("--prefix", envvar="TOPOLOGY_PREFIX", help="prefix of exchange/queue names"),
]
ClaimsUrl = Annotated[str, typer.Option("--claims-url", envvar="RCM_CLAIMS_URL")]
GatewayUrl = Annotated[str, typer.Option("--gateway-url", envvar="RCM_GATEWAY_URL")]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="RCM_TOKEN", help="bearer token (its tenant is the scope)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="print the API's JSON as is")]


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _transport(ctx: typer.Context) -> httpx.AsyncBaseTransport | None:
    obj = ctx.find_root().obj
    return obj.transport if isinstance(obj, CliContext) else None


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(FAILURE)


def _require_token(token: str | None) -> str:
    if not token:
        raise typer.BadParameter("a bearer token is needed: --token or RCM_TOKEN")
    return token


def _check_service(service: str) -> str:
    if service not in broker.SERVICES:
        raise typer.BadParameter(f"one of: {', '.join(broker.SERVICES)}", param_hint="--service")
    return service


# --------------------------------------------------------------------------- tenant


@tenant_app.command("validate")
def tenant_validate(
    files: Annotated[list[Path], typer.Argument(help="tenant YAML files", exists=True)],
) -> None:
    """Validate tenant files: every problem with its path in the document, or OK."""
    failed = False
    for path in files:
        try:
            config = load_tenant_config(path)
        except TenantConfigError as error:
            failed = True
            for problem in error.problems:
                located = problem if problem.file else f"{path}: {problem}"
                typer.echo(str(located))
            continue
        typer.echo(f"{path}: {tenant_summary(config)}")
    if failed:
        raise typer.Exit(FAILURE)


# --------------------------------------------------------------------------- dead letters


@dead_letters_app.command("list")
def dead_letters_list(
    service: Annotated[
        list[str] | None, typer.Option("--service", help="a service (repeat); all by default")
    ] = None,
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL,
    prefix: Prefix = "",
    as_json: AsJson = False,
) -> None:
    """Every dead letter of each service: type, id, tenant, error code and reason (never
    the payload). Messages stay in their queue. Exit 1 when there is any."""
    services = [_check_service(s) for s in service] if service else list(broker.SERVICES)
    topology = Topology(prefix=prefix)
    total = 0
    for name in services:
        try:
            letters = _run(broker.peek_dead_letters(amqp_url, topology, name))
        except Exception as error:  # the queue is absent, or the broker unreachable
            raise _fail(
                f"{name}: cannot read {topology.dead_letter_queue(name)}: {error}"
            ) from error
        total += len(letters)
        for letter in letters:
            if as_json:
                typer.echo(json.dumps(letter.as_dict(), sort_keys=True))
            else:
                typer.echo(
                    f"{name}\t{letter.event_type}\t{letter.event_id}\t{letter.tenant}\t"
                    f"{letter.error_code}\t{letter.reason}"
                )
    typer.echo(f"{total} dead letter(s) in {len(services)} queue(s)", err=True)
    if total:
        raise typer.Exit(FAILURE)


@dead_letters_app.command("replay")
def dead_letters_replay(
    service: Annotated[str, typer.Option("--service", help="whose dead-letter queue")],
    reason: Annotated[str, typer.Option("--reason", help="why (kept in the audit log)")],
    event_id: Annotated[
        list[str] | None, typer.Option("--id", help="the event id to replay (repeat)")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="every dead letter")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="who (the OS user)")] = None,
    audit_log: Annotated[Path, typer.Option("--audit-log")] = DEFAULT_AUDIT_LOG,
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL,
    prefix: Prefix = "",
) -> None:
    """Republish dead letters to the events exchange with their routing key; each leaves
    the dead-letter queue only after a confirmed publish. One audit JSON line each, to
    stdout and to --audit-log. Exit 1 when an --id was not found."""
    _check_service(service)
    if bool(event_id) == replay_all:
        raise typer.BadParameter("give --id (one or more) or --all, not both")
    if not reason.strip():
        raise typer.BadParameter("a reason is required", param_hint="--reason")
    who = actor or os_user()
    topology = Topology(prefix=prefix)

    def record(done: broker.Replayed) -> None:
        letter = done.dead_letter
        line = append_audit(
            audit_log,
            {
                "action": "dead_letter.replayed",
                "actor": who,
                "at": datetime.now(UTC).isoformat(),
                "reason": reason,
                "service": service,
                "dead_letter_queue": topology.dead_letter_queue(service),
                "exchange": done.exchange,
                "routing_key": letter.routing_key,
                "id": letter.event_id,
                "type": letter.event_type,
                "tenant": letter.tenant,
                "error_code": letter.error_code,
            },
        )
        typer.echo(line)

    try:
        replayed = _run(
            broker.replay_dead_letters(
                amqp_url, topology, service, event_ids=event_id, on_replayed=record
            )
        )
    except Exception as error:
        raise _fail(f"replay stopped: {type(error).__name__}: {error}") from error
    typer.echo(f"{len(replayed)} dead letter(s) replayed", err=True)
    missing = sorted(set(event_id or ()) - {r.dead_letter.event_id for r in replayed})
    if missing:
        raise _fail(f"not in {topology.dead_letter_queue(service)}: {', '.join(missing)}")


# --------------------------------------------------------------------------- claims


def _print_claim(claim: dict[str, Any]) -> None:
    typer.echo(
        f"claim {claim['claim_id']} v{claim.get('claim_version')} {claim.get('status')} "
        f"{claim.get('transaction_type')} PCN {claim.get('patient_control_number')}"
    )
    typer.echo(
        f"  member {claim.get('member_id')}  payer {claim.get('payer_id')}  "
        f"period {claim.get('period_from')}..{claim.get('period_to')}  "
        f"total {claim.get('total_charge')}  lines {claim.get('line_count')}"
    )
    if claim.get("stale_reason"):
        typer.echo(f"  stale: {claim['stale_reason']}")
    typer.echo("versions:")
    for v in claim.get("versions", []):
        typer.echo(
            f"  v{v.get('version')} {v.get('scrubbed_status')} {v.get('reason')} "
            f"total {v.get('total_charge')} built {v.get('built_at')}"
        )
    issues = claim.get("issues", [])
    typer.echo(f"scrub issues: {len(issues) or 'none'}")
    for issue in issues:
        line = f" line {issue['line_number']}" if issue.get("line_number") else ""
        typer.echo(f"  {issue.get('severity')} {issue.get('code')}{line}: {issue.get('message')}")
    typer.echo("transmissions:")
    for t in claim.get("transmissions", []):
        typer.echo(
            f"  v{t.get('claim_version')} ISA13 {t.get('interchange_control_number')} "
            f"{t.get('file_name')} at {t.get('transmitted_at')}"
        )
    typer.echo("acknowledgments:")
    for a in claim.get("acknowledgments", []):
        codes = " ".join(a.get("codes", []))
        typer.echo(
            f"  v{a.get('claim_version')} {a.get('stage')} {a.get('outcome')} {codes} "
            f"({a.get('effect')}) {a.get('message') or ''}".rstrip()
        )


@claims_app.command("show")
def claims_show(
    ctx: typer.Context,
    claim_id: Annotated[str, typer.Argument(help="the claim id")],
    edi: Annotated[bool, typer.Option("--edi", help="print its newest 837 file")] = False,
    claims_url: ClaimsUrl = DEFAULT_CLAIMS_URL,
    gateway_url: GatewayUrl = DEFAULT_GATEWAY_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """A claim with its status, versions, scrub issues, transmissions and acknowledgments;
    --edi prints the 837 that carried it (served by the gateway, byte for byte)."""
    bearer = _require_token(token)

    async def show() -> tuple[dict[str, Any], tuple[str, bytes] | None]:
        async with open_api(claims_url, gateway_url, bearer, _transport(ctx)) as api:
            claim = await api.claim(claim_id)
            return claim, (await api.claim_837(claim_id) if edi else None)

    try:
        claim, x12 = _run(show())
    except (ApiError, httpx.HTTPError) as error:
        raise _fail(f"claim {claim_id}: {error}") from error
    if as_json:
        typer.echo(json.dumps(claim, indent=2, sort_keys=True))
    else:
        _print_claim(claim)
    if x12 is not None:
        name, content = x12
        typer.echo(f"--- {name}", err=True)
        sys.stdout.flush()
        typer.echo(content.decode("ascii", "replace"))


def _print_dry_run(result: dict[str, Any]) -> None:
    claims = result.get("claims", [])
    typer.echo(f"dry run: {len(claims)} claim(s); nothing stored, numbered, published or sent")
    for blocked in result.get("blocked", []):
        days = ", ".join(f"{d.get('date')} {d.get('reason')}" for d in blocked.get("days", []))
        typer.echo(f"blocked cycle {blocked.get('first_day')}..{blocked.get('last_day')}: {days}")
    for claim in claims:
        if claim.get("would_send"):
            fate = "would be sent"
        elif claim.get("sent_before"):
            fate = "sent before, as last sent"
        else:
            fate = "would not be sent"
        typer.echo(
            f"claim {claim.get('claim_id')} v{claim.get('claim_version')} "
            f"{claim.get('transaction_type')} PCN {claim.get('patient_control_number')} "
            f"{claim.get('status')} ({fate})"
        )
        typer.echo(f"  member {claim.get('member_id')}  payer {claim.get('payer_id')}")
        issues = claim.get("issues", [])
        typer.echo(f"  scrub issues: {len(issues) or 'none'}")
        for issue in issues:
            line = f" line {issue['line_number']}" if issue.get("line_number") else ""
            typer.echo(
                f"    {issue.get('severity')} {issue.get('code')}{line}: {issue.get('message')}"
            )
        note = claim.get("note")
        if note:
            typer.echo(f"  note: {note.get('code')}: {note.get('detail')}")
    edi = result.get("edi") or {}
    if edi.get("note"):
        typer.echo(f"837: none ({edi['note'].get('code')}: {edi['note'].get('detail')})")
    for refused in edi.get("refused", []):
        typer.echo(
            f"837: claim {refused.get('claim_id')} refused: "
            f"{refused.get('code')}: {refused.get('message')}"
        )
    for file in edi.get("files", []):
        errors = file.get("errors", [])
        typer.echo(
            f"--- 837 {file.get('transaction_type')} to {file.get('clearinghouse_id')} "
            f"(ISA15 {file.get('usage_indicator')}, preview ISA13 "
            f"{file.get('interchange_control_number')})"
        )
        typer.echo(file.get("text", ""))
        typer.echo(f"pyx12: {'OK, no errors' if not errors else f'{len(errors)} error(s)'}")
        for error in errors:
            about = f" [claim {error['claim_id']}]" if error.get("claim_id") else ""
            typer.echo(f"  {error.get('code')} {error.get('description')}{about}")


def _dry_run_failed(result: dict[str, Any]) -> bool:
    """A scrub error, a pyx12 error or refusal, or no 837 when there was one to render."""
    scrub = any(
        issue.get("severity") == "error"
        for claim in result.get("claims", [])
        for issue in claim.get("issues", [])
    )
    edi = result.get("edi") or {}
    note = edi.get("note") or {}
    unrendered = bool(note) and note.get("code") != "NOTHING_TO_RENDER"
    return scrub or edi.get("valid") is False or unrendered


@claims_app.command("dry-run")
def claims_dry_run(
    ctx: typer.Context,
    session: Annotated[
        str | None, typer.Option("--session", help="a group session: its members' claims")
    ] = None,
    member: Annotated[str | None, typer.Option("--member", help="a member's claims")] = None,
    stay: Annotated[str | None, typer.Option("--stay", help="a stay's cycle claims")] = None,
    period_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="with --member: first date of service; with --stay: the "
            "first day of an explicit cycle (YYYY-MM-DD)",
        ),
    ] = None,
    period_to: Annotated[
        str | None, typer.Option("--to", help="the last date, as --from (YYYY-MM-DD)")
    ] = None,
    billing_period: Annotated[
        str | None,
        typer.Option("--billing-period", help="with --stay: DAILY, WEEKLY, MONTHLY or SPAN"),
    ] = None,
    claims_url: ClaimsUrl = DEFAULT_CLAIMS_URL,
    gateway_url: GatewayUrl = DEFAULT_GATEWAY_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Build a session's, member's or stay's claims without keeping them: each claim as it
    would be sent with its scrub issues, the exact 837 the gateway would render (preview
    control numbers) and pyx12's verdict. Nothing is stored, published or sent. Exit 1
    when a scrub error or pyx12 error is found, or the 837 could not be rendered."""
    bearer = _require_token(token)
    if sum(x is not None for x in (session, member, stay)) != 1:
        raise typer.BadParameter("give exactly one of --session, --member, --stay")
    if session is not None and (period_from or period_to):
        raise typer.BadParameter("a session's dry run takes no --from/--to")
    if stay is None and billing_period is not None:
        raise typer.BadParameter("--billing-period goes with --stay")
    if stay is not None and (period_from is None) != (period_to is None):
        raise typer.BadParameter("a stay's explicit cycle needs both --from and --to")

    async def dry_run() -> dict[str, Any]:
        async with open_api(claims_url, gateway_url, bearer, _transport(ctx)) as api:
            if stay is not None:
                period = None if period_from is None else {"from": period_from, "to": period_to}
                return await api.stay_dry_run(stay, period=period, billing_period=billing_period)
            return await api.claims_dry_run(
                member_id=member, session_id=session, period_from=period_from, period_to=period_to
            )

    subject = f"stay {stay}" if stay else f"session {session}" if session else f"member {member}"
    try:
        result = _run(dry_run())
    except (ApiError, httpx.HTTPError) as error:
        raise _fail(f"dry run of {subject}: {error}") from error
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        _print_dry_run(result)
    if _dry_run_failed(result):
        raise typer.Exit(FAILURE)


# --------------------------------------------------------------------------- gateway lists


@interchanges_app.command("list")
def interchanges_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="ALLOCATED, PENDING, SENT, DISCARDED")] = None,
    clearinghouse: Annotated[str | None, typer.Option("--clearinghouse")] = None,
    gateway_url: GatewayUrl = DEFAULT_GATEWAY_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The tenant's 837 interchanges, newest first."""
    bearer = _require_token(token)

    async def fetch(api: RcmApi) -> list[dict[str, Any]]:
        return await api.interchanges(status=status, clearinghouse_id=clearinghouse)

    for item in _gateway_list(ctx, gateway_url, bearer, fetch):
        if as_json:
            typer.echo(json.dumps(item, sort_keys=True))
            continue
        typer.echo(
            f"{item.get('interchange_id')}\t{item.get('transaction_type')}\tISA13 "
            f"{item.get('isa13')}\t{item.get('status')}\t{item.get('claim_count')} claims\t"
            f"{item.get('file_name')}\t{item.get('created_at')}"
        )


@acks_app.command("list")
def acks_list(
    ctx: typer.Context,
    unmatched: Annotated[
        bool, typer.Option("--unmatched", help="only files with unmatched items")
    ] = False,
    kind: Annotated[str | None, typer.Option(help="TA1, 999, 277CA, UNKNOWN")] = None,
    gateway_url: GatewayUrl = DEFAULT_GATEWAY_URL,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """The tenant's acknowledgment files, newest first. With --unmatched, exit 1 when any
    file holds an item that mapped to nothing we sent."""
    bearer = _require_token(token)

    async def fetch(api: RcmApi) -> list[dict[str, Any]]:
        return await api.acknowledgments(unmatched=True if unmatched else None, kind=kind)

    items = _gateway_list(ctx, gateway_url, bearer, fetch)
    for item in items:
        if as_json:
            typer.echo(json.dumps(item, sort_keys=True))
            continue
        typer.echo(
            f"{item.get('acknowledgment_id')}\t{item.get('kind')}\t{item.get('status')}\t"
            f"{item.get('item_count')} items\t{item.get('unmatched_count')} unmatched\t"
            f"{item.get('file_name')}\t{item.get('received_at')}"
        )
    if unmatched and items:
        raise typer.Exit(FAILURE)


def _gateway_list(
    ctx: typer.Context, gateway_url: str, token: str, fetch: Any
) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        async with open_api(DEFAULT_CLAIMS_URL, gateway_url, token, _transport(ctx)) as api:
            items: list[dict[str, Any]] = await fetch(api)
            return items

    try:
        return _run(run())
    except (ApiError, httpx.HTTPError) as error:
        raise _fail(str(error)) from error


# --------------------------------------------------------------------------- feed


@feed_app.command("replay")
def feed_replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CloudEvents, one JSON a line", exists=True)],
    out: Annotated[Path, typer.Option("--out", help="folder for the 837s and summary.json")],
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="publish the valid lines anyway")
    ] = False,
    amqp_url: AmqpUrl = DEFAULT_AMQP_URL,
    prefix: Prefix = "",
    claims_url: ClaimsUrl = DEFAULT_CLAIMS_URL,
    gateway_url: GatewayUrl = DEFAULT_GATEWAY_URL,
    token: Annotated[
        list[str] | None,
        typer.Option(
            "--token",
            help="bearer token; repeat with one per tenant of the feed (RCM_TOKEN: one)",
        ),
    ] = None,
    idle_seconds: Annotated[float, typer.Option(min=0)] = 10.0,
    timeout: Annotated[float, typer.Option(min=1)] = 300.0,
    poll_seconds: Annotated[float, typer.Option(min=0.05, hidden=True)] = 1.0,
) -> None:
    """Publish a feed into a running suite, wait until the pipeline is idle, write every
    837 it produced and summary.json to --out. Nothing is published when a line is invalid
    (unless --skip-invalid). Exit 1 on a timeout, an unroutable event or a pyx12 error."""
    tokens = token or ([os.environ["RCM_TOKEN"]] if os.environ.get("RCM_TOKEN") else [])
    replay = feed.read_feed(file)
    for problem in replay.problems:
        typer.echo(f"{file}: {problem}", err=True)
    if replay.problems and not skip_invalid:
        raise _fail(f"{len(replay.problems)} invalid line(s): nothing published")
    by_tenant = {token_tenant(t): t for t in tokens}
    missing = [t for t in replay.tenants if t not in by_tenant]
    if missing:
        raise typer.BadParameter(
            f"no token for tenant(s) {', '.join(missing)}: give one --token per tenant",
            param_hint="--token",
        )
    transport = _transport(ctx)
    topology = Topology(prefix=prefix)

    async def run() -> dict[str, Any]:
        async with _apis(replay.tenants, by_tenant, claims_url, gateway_url, transport) as apis:
            before = {tenant: await feed.tenant_state(api) for tenant, api in apis.items()}
            started_at = datetime.now(UTC)
            unroutable = await broker.publish_events(
                amqp_url, topology, [(line.event, line.body) for line in replay.events]
            )
            typer.echo(f"published {len(replay.events)} event(s); waiting", err=True)
            waited = await feed.wait_until_idle(
                apis,
                before,
                idle_seconds=idle_seconds,
                timeout_seconds=timeout,
                poll_seconds=poll_seconds,
                progress=lambda text: typer.echo(text, err=True),
            )
            interchanges = await feed.collect_interchanges(apis, waited.parts, out)
            return feed.summary(
                feed_path=file,
                feed=replay,
                published=len(replay.events) - len(unroutable),
                unroutable=unroutable,
                started_at=started_at,
                wait=waited,
                interchanges=interchanges,
            )

    try:
        result = _run(run())
    except (ApiError, httpx.HTTPError) as error:
        raise _fail(f"feed replay: {error}") from error
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    typer.echo(
        f"{result['events_published']} published, claims {result['claims_by_status']}, "
        f"{len(result['interchanges'])} interchange(s), "
        f"{result['pyx12_error_count']} pyx12 error(s): {out / 'summary.json'}"
    )
    if not result["idle"]:
        raise _fail(f"timed out after {timeout:.0f}s waiting for: {result['waiting_for']}")
    if result["events_unroutable"] or result["pyx12_error_count"]:
        raise typer.Exit(FAILURE)


@asynccontextmanager
async def _apis(
    tenants: list[str],
    tokens: dict[str | None, str],
    claims_url: str,
    gateway_url: str,
    transport: httpx.AsyncBaseTransport | None,
) -> AsyncIterator[dict[str, RcmApi]]:
    """One API client per tenant, each with that tenant's token."""
    async with AsyncExitStack() as stack:
        yield {
            tenant: await stack.enter_async_context(
                open_api(claims_url, gateway_url, tokens[tenant], transport)
            )
            for tenant in tenants
        }


def find_demo(start: Path) -> Path | None:
    """The checkout's ``scripts/demo.py``, looking up from ``start``."""
    for folder in (start, *start.parents):
        candidate = folder / "scripts" / "demo.py"
        if candidate.is_file() and (folder / "contracts").is_dir():
            return candidate
    return None


@app.command("demo")
def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="leave the services up until Ctrl-C")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="the rosters' random seed")] = None,
    checkout: Annotated[
        Path | None,
        typer.Option(help="the suite's checkout (default: found from the current folder)"),
    ] = None,
) -> None:
    """Run the README's demo from a checkout: the five services and the clearinghouse
    sandbox, a week of group sessions and three stays, until the 999/277CA are back."""
    script = find_demo((checkout or Path.cwd()).resolve())
    if script is None:
        raise _fail("DEMO_NOT_FOUND: no scripts/demo.py here or above; run from the checkout")
    args = [sys.executable, str(script)]
    if keep_running:
        args.append("--keep-running")
    if seed is not None:
        args += ["--seed", str(seed)]
    raise typer.Exit(subprocess.call(args, cwd=script.parents[1]))  # noqa: S603


def main() -> None:
    app(obj=CliContext())
