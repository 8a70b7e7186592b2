"""/v1/me: the caller's record, binding, dependants; /v1/counter/bindings: binding in person."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from member_api.core.context import AppContext
from member_api.core.idempotency import run_idempotent
from member_api.core.openapi import problems
from member_api.core.principal import MemberCaller, Principal, provide_account
from member_api.members import service
from member_api.members.schemas import (
    BindingCode,
    BindingRequest,
    ContributionStatus,
    CounterBinding,
    CounterBindingRequest,
    MemberView,
    MeView,
    PaymentEventIn,
    PaymentEventResult,
)

NO_STORE = {"Cache-Control": "no-store"}


class MeController(Controller):
    path = "/v1/me"
    tags = ["me"]
    security = [{"bearer": []}]
    dependencies = {"account": Provide(provide_account)}

    @get("", operation_id="getMe", summary="The logged-in resident and their bound record (or why it was unbound)")
    async def me(self, account: Principal) -> MeView:
        return await service.me(account)

    @post(
        "/binding",
        status_code=HTTP_200_OK,
        summary="Bind the insurance record by ID number and name when the phone on file is this login's phone",
        description="When the registry has another phone or none on file, the answer is 403 "
        "`binding_needs_verification` carrying a binding code (`extra.binding_code`) to show at a counter.",
        operation_id="bindRecord",
        opt=problems(
            "invalid_id_number",
            "member_not_found",
            "account_already_bound",
            "already_bound",
            "binding_locked",
            "binding_needs_verification",
        ),
    )
    async def bind(self, data: BindingRequest, account: Principal, ctx: AppContext) -> MeView:
        return await service.bind(ctx, account, data.id_number, data.name)

    @post(
        "/binding-codes",
        status_code=HTTP_201_CREATED,
        operation_id="createBindingCode",
        summary="A short-lived single-use code for binding at a counter (the previous one stops working)",
        opt=problems("account_already_bound", "rate_limited"),
    )
    async def binding_code(self, account: Principal, ctx: AppContext) -> Response[BindingCode]:
        return Response(await service.binding_code(ctx, account), status_code=HTTP_201_CREATED, headers=NO_STORE)

    @get(
        "/contribution",
        operation_id="getContributionStatus",
        summary="参保缴费: whether this year and next are paid, next year's collection window and the payment link",
    )
    async def contribution(self, caller: MemberCaller, subject_member_id: int, ctx: AppContext) -> ContributionStatus:
        return await service.contribution_status(ctx, subject_member_id)

    @get(
        "/dependants",
        operation_id="listDependants",
        summary="Members under the caller's guardianship (newborns, minors)",
    )
    async def dependants(self, caller: MemberCaller) -> list[MemberView]:
        return await service.wards_of(caller.member_id)


class CounterBindingsController(Controller):
    path = "/v1/counter/bindings"
    tags = ["counter"]
    security = [{"bearer": []}]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="createCounterBinding",
        summary="Bind the phone account showing this code to the member whose ID card was checked in person",
        description="Clerks and agency reviewers. Requires an `Idempotency-Key` header. A record bound to "
        "another phone is moved to this one; that account is unbound and told why.",
        opt=problems(
            "invalid_id_number",
            "member_not_found",
            "binding_code_invalid",
            "account_already_bound",
            "already_bound",
            "rate_limited",
            idempotent=True,
        ),
    )
    async def bind(
        self, data: CounterBindingRequest, request: Request, ctx: AppContext, staff: Principal
    ) -> Response[CounterBinding]:
        return await run_idempotent(
            request,
            ctx,
            f"staff:{staff.staff_id}",
            lambda _lease: service.bind_at_counter(ctx, staff, data.binding_code, data.id_number),
            completes_itself=False,
        )  # type: ignore[return-value]


class PaymentEventsController(Controller):
    """The agency's payment system reports contributions as they are paid: the resident is covered at once (R1)."""

    path = "/v1/payments/events"
    tags = ["payments"]
    security = [{"bearer": []}]

    @post(
        "",
        status_code=HTTP_201_CREATED,
        operation_id="recordPaymentEvent",
        summary="Record a contribution payment (payment system credential; idempotent by Idempotency-Key and event id)",
        description="`Authorization: Bearer <secret>` of a payment system credential (`member-api payment-credential`)"
        " and an `Idempotency-Key`. The member is paid up for `year` at once: enrolled from 1 January when paid "
        "before the year, from `paid_on` when paid during it. A repeated `event_id` is answered with "
        "`duplicate: true` and applied once; audited as `contribution_paid` with the payment system as actor.",
        opt=problems("unauthorized", "member_not_found", "payment_event_conflict", idempotent=True),
    )
    async def record(self, data: PaymentEventIn, request: Request, ctx: AppContext) -> Response[PaymentEventResult]:
        actor = service.payment_system(ctx, request.headers.get("authorization", ""))
        return await run_idempotent(  # type: ignore[return-value]
            request, ctx, actor, lambda _lease: service.record_payment(ctx, actor, data), completes_itself=False
        )
