"""The ``member-api`` console script: serve, migrate, seed-demo, import-members, staff accounts, keys, OpenAPI,
calendar-check."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from member_api.settings import Settings


def _with_db(fn: Callable[[Settings], Awaitable[Any]]) -> Any:
    from member_api import db

    settings = Settings.from_env()

    async def run() -> Any:
        engine = db.make_engine(settings.resolved_database_url, timeouts=db.Timeouts.of(settings).for_batch())
        db.activate(engine)
        await db.prepare(engine)
        try:
            return await fn(settings)
        finally:
            await db.close(engine)

    return asyncio.run(run())


def cmd_migrate(_: argparse.Namespace) -> int:
    from member_api.db import run_migrations

    async def go(_: Settings) -> None:
        await run_migrations()

    _with_db(go)
    print("migrations applied")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from member_api.jobs.demo import seed_demo
    from member_api.jobs.demo_walk import seed_walk, walk_note

    async def go(settings: Settings) -> dict[str, Any]:
        manifest = await seed_demo(settings)
        if not args.no_walk:  # the README's walk: a pair, a newborn draft, a claim to review, a change request
            manifest["walk"] = {
                **await seed_walk(settings, manifest),
                "note": walk_note(date.fromisoformat(manifest["today"])),
            }
        return manifest

    manifest = _with_db(go)
    if args.manifest:
        Path(args.manifest).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"demo data ready; accounts written to {args.manifest}")
    else:
        print("demo data ready (use --manifest FILE for the demo accounts)")
    return 0


def cmd_payment_credential(_: argparse.Namespace) -> int:
    """A new payment system credential: the secret (give it to the payment system) and the hash to configure."""
    import hashlib
    import secrets

    secret = secrets.token_urlsafe(32)
    print(f"secret (Authorization: Bearer ...; shown once): {secret}")
    print(f"add to MEMBER_API_PAYMENT_CREDENTIAL_HASHES: {hashlib.sha256(secret.encode()).hexdigest()}")
    return 0


def cmd_import_members(args: argparse.Namespace) -> int:
    from member_api.members.importer import import_csv

    report = _with_db(lambda s: import_csv(s, Path(args.file), progress=not args.quiet))
    print(json.dumps(report.summary(), ensure_ascii=False, indent=2))
    return 1 if report.fatal else 0


def cmd_catalogue_import(args: argparse.Namespace) -> int:
    """R18: national catalogue files (CSV, UTF-8 or GB18030); idempotent, newer versions close superseded ones."""
    import msgspec

    from member_api.catalogue import service
    from member_api.core.clock import SystemClock

    async def go(_: Settings) -> list[Any]:
        reports = []
        for name in args.files:
            reports.append(await service.import_catalogue(Path(name), SystemClock().now(), kind=args.kind))
        return reports

    reports = _with_db(go)
    print(json.dumps(msgspec.to_builtins(reports), ensure_ascii=False, indent=2))
    return 1 if any(r.rejected for r in reports) else 0


def cmd_catalogue_codes(args: argparse.Namespace) -> int:
    """A facility's own item codes mapped to national codes (medins_list_codg -> med_list_codg)."""
    import msgspec

    from member_api.catalogue import service
    from member_api.core.clock import SystemClock

    report = _with_db(lambda _: service.import_facility_codes(Path(args.file), args.facility_id, SystemClock().now()))
    print(json.dumps(msgspec.to_builtins(report), ensure_ascii=False, indent=2))
    return 1 if report.rejected else 0


def cmd_create_staff(args: argparse.Namespace) -> int:
    from member_api.auth.staff import create_staff

    password = _read_password()
    if password is None:
        return 2
    staff_id = _with_db(lambda s: create_staff(args.username, password, args.role, args.facility, args.name))
    print(f"staff {args.username} created (id {staff_id})")
    return 0


def _read_password() -> str | None:
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
    if len(password) < 10:
        print("password must be at least 10 characters", file=sys.stderr)
        return None
    return password


def cmd_set_staff_password(args: argparse.Namespace) -> int:
    from member_api.auth.staff import set_staff_password
    from member_api.core.errors import DomainError

    password = _read_password()
    if password is None:
        return 2
    try:
        ended = _with_db(lambda s: set_staff_password(args.username, password))
    except DomainError as exc:
        print(exc.message_en, file=sys.stderr)
        return 1
    print(f"password of {args.username} changed; {ended} open sessions ended")
    return 0


def cmd_export_openapi(args: argparse.Namespace) -> int:
    from member_api.openapi_export import render_openapi

    text = render_openapi()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_arch_diagram(args: argparse.Namespace) -> int:
    from member_api.ops import diagram

    print("\n".join(diagram.face_exceptions()) if args.faces else diagram.mermaid(args.all))
    return 0


def cmd_gc_blobs(args: argparse.Namespace) -> int:
    from member_api.jobs.blob_gc import collect_garbage

    removed = _with_db(lambda s: collect_garbage(s, args.min_age_s))
    print(f"removed {removed} unreferenced files")
    return 0


def cmd_housekeeping(_: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from member_api.core.clock import SystemClock, local_today
    from member_api.jobs.housekeeping import purge
    from member_api.jobs.rollover import rollover

    async def daily(_: Settings) -> dict[str, int]:
        removed = await purge(datetime.now(UTC))
        today = local_today(SystemClock())
        return {**removed, "designations_carried_over": await rollover(today.year, today)}

    done = _with_db(daily)
    print(", ".join(f"{kind}: {n}" for kind, n in done.items()))
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """The notice outbox for operators: counts per push state, the dead letters, and requeueing them."""
    from member_api.notices import service as notices

    async def go(_: Settings) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
        requeued = 0
        if args.requeue_all or args.requeue:
            requeued = await notices.requeue(None if args.requeue_all else args.requeue)
        counts, dead = await notices.outbox(args.limit)
        return requeued, counts, dead

    requeued, counts, dead = _with_db(go)
    if requeued:
        print(f"requeued {requeued}")
    print("outbox: " + (", ".join(f"{state} {n}" for state, n in sorted(counts.items())) or "empty"))
    for row in dead:  # no text, no recipient: the kind, why and when
        print(
            f"dead #{row['id']} {row['kind']} attempts={row['attempts']} error={row['push_error']}"
            f" at={row['created_at']}"
        )
    return 0


def cmd_rollover(args: argparse.Namespace) -> int:
    from member_api.core.clock import SystemClock, local_today
    from member_api.jobs.rollover import rollover

    today = local_today(SystemClock())
    moved = _with_db(lambda _s: rollover(args.year or today.year, today))
    print(f"{moved} designations carried over into {args.year or today.year}")
    return 0


def cmd_capitation(args: argparse.Namespace) -> int:
    """``capitation close YYYY-MM`` and ``capitation settle YYYY`` (R13): the same books as the officer's API."""
    import msgspec

    from member_api.agency import service
    from member_api.core.clock import SystemClock
    from member_api.core.errors import DomainError

    clock, actor = SystemClock(), f"cli:{getpass.getuser()}"[:48]
    try:
        if args.action == "close":
            year, month = (int(x) for x in args.period.split("-"))
            result: Any = _with_db(lambda _s: service.close_month(clock, actor, year, month))
        else:
            result = _with_db(lambda _s: service.close_year(clock, actor, int(args.period)))
    except DomainError as exc:
        print(f"{exc.code}: {exc.message_en}", file=sys.stderr)
        return 1
    except ValueError:
        print("period is YYYY-MM for close, YYYY for settle", file=sys.stderr)
        return 2
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(result)).decode() + "\n")
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    from member_api.core.keys import KEY_SETS, rotate

    made = rotate(Settings.from_env().resolved_key_dir, KEY_SETS if args.set == "all" else (args.set,))
    for name, kid in made.items():
        print(f"new {name} signing key {kid}; the previous one still verifies (and stays in the JWKS for credentials)")
    return 0


def cmd_revoke_key(args: argparse.Namespace) -> int:
    from member_api.core.keys import UnknownKey, revoke

    try:
        name, fresh = revoke(Settings.from_env().resolved_key_dir, args.kid)
    except UnknownKey:
        print(f"no {args.kid} among the access or credential keys", file=sys.stderr)
        return 1
    print(f"{name} key {args.kid} withdrawn: gone from the JWKS and refused by every worker from its next request")
    if fresh:
        print(f"it was the current {name} key; new current key {fresh}")
    return 0


def prepare_metrics_dir(settings: Settings) -> Path:
    """Prometheus multiprocess mode: every worker writes its samples under one directory and ``/metrics`` (in
    any worker) adds them up. The directory is emptied at each start, as prometheus_client requires; set
    ``PROMETHEUS_MULTIPROC_DIR`` yourself to put it elsewhere (then you empty it)."""
    import shutil

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    else:
        path = Path(settings.data_dir) / "prometheus-multiproc"
        shutil.rmtree(path, ignore_errors=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cmd_serve(args: argparse.Namespace) -> int:
    prepare_metrics_dir(Settings.from_env())  # before anything imports prometheus_client: it reads this once
    if not args.no_migrate:
        cmd_migrate(args)
    os.environ.setdefault("PICCOLO_CONF", "member_api.piccolo_conf")
    from granian import Granian
    from granian.constants import Interfaces

    options: dict[str, Any] = {}
    if args.reload:  # development: granian's own reloader (watchfiles, in the dev extra) restarts the workers
        options = {"reload": True, "reload_paths": [Path(__file__).parent]}
    Granian(
        "member_api.asgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        log_access=False,
        websockets=False,
        # Each open e-credential screen holds a request (its event stream): a worker takes this many at once.
        backlog=2048,
        backpressure=Settings.from_env().max_requests_per_worker,
        # Supervision: a worker that dies (a crash, the OOM killer, SIGKILL) is replaced and the others keep
        # serving; SIGTERM stops accepting, lets in-flight requests finish for up to --graceful-timeout seconds.
        respawn_failed_workers=True,
        respawn_interval=1.0,
        workers_kill_timeout=args.graceful_timeout,
        **options,
    ).serve()
    return 0


def cmd_ledger_check(_: argparse.Namespace) -> int:
    """Every account equals the sum of its movements; exit 1 (and list them) when any does not."""
    from member_api.ledger import service

    report = _with_db(lambda _s: service.check())
    bad = report["account_mismatches"] or report["reversal_mismatches"]
    print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    if bad:
        print("ledger-check: MISMATCH", file=sys.stderr)
    return 1 if bad else 0


def cmd_calendar_check(args: argparse.Namespace) -> int:
    """R9: which holiday calendar covers YEAR; exit 1 when none does (weekends only) or the data disagree."""
    import msgspec

    from member_api.policy.holidays import calendar_coverage

    coverage = calendar_coverage(args.year)
    report = {**msgspec.to_builtins(coverage), "covered": coverage.covered}
    if not coverage.covered:
        report["action"] = (
            f"chinesecalendar has no data for {args.year}: upgrade it once it does, or copy the State Council's "
            f"holiday notice for {args.year} into member_api/policy/years/{args.year}.json (official_holidays, "
            "adjusted_working_days, holiday_notice). Until then claim windows use weekends only."
        )
    elif coverage.disagreements:
        report["action"] = "the policy-year lists disagree with chinesecalendar on the days listed: check the notice"
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if coverage.covered and not coverage.disagreements else 1


def cmd_fsi_credential(args: argparse.Namespace) -> int:
    """Facility system credentials of the national facility interface (docs/integration.md, Part 3)."""
    from datetime import UTC, datetime

    from member_api.fsi import service as fsi

    now = datetime.now(UTC)
    if args.action == "issue":
        if not args.facility:
            print("--facility CODE is required", file=sys.stderr)
            return 2
        credential = _with_db(lambda s: fsi.issue_credential(args.facility, args.label or "", args.sm2_public_key, now))
        print(credential)
        print("shown once: give it to the facility's system (Authorization: Bearer <credential>)", file=sys.stderr)
        return 0
    if args.action == "revoke":
        if not args.client_id:
            print("revoke needs the client id", file=sys.stderr)
            return 2
        done = _with_db(lambda s: fsi.revoke_credential(args.client_id, now))
        print("revoked" if done else "no such credential, or revoked already")
        return 0 if done else 1
    for row in _with_db(lambda s: fsi.list_credentials()):
        state = f"revoked {row['revoked_at']:%Y-%m-%d}" if row["revoked_at"] else "active"
        print(f"{row['client_id']}  {row['facility_code']}  {state}  {row['label']}")
    return 0


def cmd_fsi_simulate(args: argparse.Namespace) -> int:
    """Drive one whole visit over the facility interface against a running server (9001 ... 3201)."""
    from member_api.fsi import simulator

    facility = simulator.Facility(url=args.url, credential=args.credential, code=args.facility)
    if args.sm2_private_key:
        from member_api.fsi import signing

        private, public = args.sm2_private_key, args.sm2_public_key
        facility.signer = lambda message: signing.sign(private, public, message)
    try:
        result = simulator.whole_visit(facility, args.cert_type, args.cert_no, reverse=not args.keep)
    except simulator.VisitFailed as exc:
        print(f"visit failed at {exc.infno}: {exc.answer.get('err_msg')}", file=sys.stderr)
        return 1
    except simulator.httpx.HTTPError as exc:
        print(f"no answer from {args.url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    if args.json:
        import msgspec

        encoder = msgspec.json.Encoder(decimal_format="number")  # yuan stay numbers with two decimals
        print(encoder.encode([{"infno": i, "answer": a} for i, a in facility.log]).decode())
    else:
        for infno, answer in facility.log:
            print(f"{infno} infcode={answer['infcode']} {answer.get('err_msg', '')}")
        print(simulator.summary(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="member-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (granian, N worker processes)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true", help="development: restart on code change")
    serve.add_argument(
        "--graceful-timeout", type=int, default=30, help="seconds a stopping worker may finish in-flight requests"
    )
    serve.add_argument("--no-migrate", action="store_true")
    serve.set_defaults(fn=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)
    seed = sub.add_parser("seed-demo", help="load the demo catalogue, members and staff (idempotent)")
    seed.add_argument("--manifest", help="write the demo accounts as JSON to this file")
    seed.add_argument(
        "--no-walk", action="store_true", help="only the catalogue, members and staff (no drafts, claims, requests)"
    )
    seed.set_defaults(fn=cmd_seed_demo)
    sub.add_parser(
        "payment-credential", help="make a payment system credential for POST /v1/payments/events (secret + hash)"
    ).set_defaults(fn=cmd_payment_credential)
    imp = sub.add_parser("import-members", help="import the enrollment system's CSV export")
    imp.add_argument("file")
    imp.add_argument("--quiet", action="store_true")
    imp.set_defaults(fn=cmd_import_members)
    cat = sub.add_parser(
        "catalogue-import", help="import national catalogue CSV files (drugs, consumables, services; idempotent)"
    )
    cat.add_argument("files", nargs="+")
    cat.add_argument("--kind", choices=["drug", "consumable", "service"], help="when the file has no list_type")
    cat.set_defaults(fn=cmd_catalogue_import)
    codes = sub.add_parser("catalogue-codes", help="import a facility's code mapping CSV (idempotent)")
    codes.add_argument("file")
    codes.add_argument("--facility-id", type=int, required=True, help="the facility's id (GET /v1/facilities)")
    codes.set_defaults(fn=cmd_catalogue_codes)
    staff = sub.add_parser(
        "create-staff", help="create a clerk, reviewer or agency officer (password from prompt or stdin)"
    )
    staff.add_argument("--role", choices=["clerk", "reviewer", "officer"], required=True)
    staff.add_argument("--facility", help="facility code (clerks)")
    staff.add_argument("--username", required=True)
    staff.add_argument("--name", default="", help="the person's name as pages show it (default: the user name)")
    staff.set_defaults(fn=cmd_create_staff)
    exp = sub.add_parser("export-openapi", help="write the OpenAPI document")
    exp.add_argument("--output", "-o")
    exp.set_defaults(fn=cmd_export_openapi)
    arch = sub.add_parser("arch-diagram", help="print the areas' import graph as Mermaid (docs/architecture.md)")
    arch.add_argument("--faces", action="store_true", help="list the imports that pass by an area's face instead")
    arch.add_argument("--all", action="store_true", help="also the edges into core, db, settings and policy")
    arch.set_defaults(fn=cmd_arch_diagram)
    gc = sub.add_parser("gc-blobs", help="remove receipt/evidence files no row names (crash leftovers)")
    gc.add_argument("--min-age-s", type=float, default=600.0)
    gc.set_defaults(fn=cmd_gc_blobs)
    outbox = sub.add_parser("outbox", help="notice outbox: counts per state, dead letters, requeue")
    outbox.add_argument("--limit", type=int, default=50, help="dead letters to list (newest first)")
    outbox.add_argument("--requeue", type=int, nargs="*", default=[], metavar="ID", help="requeue these dead letters")
    outbox.add_argument("--requeue-all", action="store_true", help="requeue every dead letter")
    outbox.set_defaults(fn=cmd_outbox)
    sub.add_parser(
        "housekeeping", help="remove expired idempotency keys, rate events, codes, tokens (daily)"
    ).set_defaults(fn=cmd_housekeeping)
    roll = sub.add_parser("rollover", help="carry last year's designations into YEAR (idempotent; daily job)")
    roll.add_argument("year", type=int, nargs="?", default=None)
    roll.set_defaults(fn=cmd_rollover)
    cap = sub.add_parser("capitation", help="close a month (YYYY-MM) or settle a year (YYYY) of capitation (R13)")
    cap.add_argument("action", choices=["close", "settle"])
    cap.add_argument("period", help="YYYY-MM to close, YYYY to settle")
    cap.set_defaults(fn=cmd_capitation)
    rot = sub.add_parser("rotate-keys", help="new signing keys; the previous ones still verify")
    rot.add_argument("--set", choices=["all", "access", "credential"], default="all")
    rot.set_defaults(fn=cmd_rotate_keys)
    rev = sub.add_parser("revoke-key", help="withdraw a signing key at once (a new one is made if it was current)")
    rev.add_argument("kid", help="the key id; write -- before it when it starts with a dash")
    rev.set_defaults(fn=cmd_revoke_key)
    pw = sub.add_parser("set-staff-password", help="replace a staff password (stdin or prompt); ends its sessions")
    pw.add_argument("--username", required=True)
    pw.set_defaults(fn=cmd_set_staff_password)
    sub.add_parser(
        "ledger-check", help="verify every account equals the sum of its movements (exit 1 on a mismatch)"
    ).set_defaults(fn=cmd_ledger_check)
    cal = sub.add_parser(
        "calendar-check", help="R9: report which holiday calendar covers YEAR (exit 1 when missing or inconsistent)"
    )
    cal.add_argument("year", type=int)
    cal.set_defaults(fn=cmd_calendar_check)
    fsi = sub.add_parser("fsi-credential", help="issue, revoke or list facility system credentials (infno interface)")
    fsi.add_argument("action", choices=["issue", "revoke", "list"])
    fsi.add_argument("client_id", nargs="?", help="revoke: the credential's client id")
    fsi.add_argument("--facility", help="issue: the facility's national code (fixmedins_code)")
    fsi.add_argument("--label", help="issue: a note, e.g. the HIS vendor")
    fsi.add_argument("--sm2-public-key", default="", help="issue: hex SM2 public key; messages must then be signed")
    fsi.set_defaults(fn=cmd_fsi_credential)
    sim = sub.add_parser("fsi-simulate", help="drive one whole visit over the facility interface (a HIS simulator)")
    sim.add_argument("--url", default="http://127.0.0.1:8000")
    sim.add_argument("--credential", required=True, help="CLIENT_ID.SECRET from fsi-credential issue")
    sim.add_argument("--facility", required=True, help="the credential's facility code (fixmedins_code)")
    sim.add_argument("--cert-type", default="02", choices=["01", "02", "03"], help="mdtrt_cert_type")
    sim.add_argument("--cert-no", required=True, help="mdtrt_cert_no: ID number, or an e-credential code for 01")
    sim.add_argument("--keep", action="store_true", help="do not reverse the settlement (2208)")
    sim.add_argument("--json", action="store_true", help="print every answer as JSON")
    sim.add_argument("--sm2-private-key", default="", help="sign messages (hex), with --sm2-public-key")
    sim.add_argument("--sm2-public-key", default="")
    sim.set_defaults(fn=cmd_fsi_simulate)
    args = parser.parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    raise SystemExit(main())
