"""Sends the outbox: each reply once, fairly across recipients, with bounded retries.

A send is three short steps, each its own transaction, so a crash anywhere can be recovered:

1. Claim: the next message is marked in flight (`sending_since`) with a lease (`next_attempt_at`
   moves past the send timeout and the confirmation wait) and committed before any HTTP call.
2. Send, carrying `outbox:<id>` as `biz_opaque_callback_data`; Meta echoes it in status webhooks.
3. Record the answer: sent with its wamid, or a retry or failure when Meta answered with an error.

A send without an answer (timeout, dropped connection, unreadable reply, or a process killed while
it was in flight) may have reached Meta. It stays in flight: the status webhook that names it
marks it sent (bot/store.confirm_sent) and it is never sent again. Only when no status came
within `confirm_seconds` does the next claim, finding it still in doubt, send it again (the rare
true loss). Those seconds must be ones in which a status could have come in: a send left by a
process that died waits `confirm_seconds` from when the sender started again, since Meta's posts
while nobody listened failed and come back only as its retries. A wamid that another row already
holds is logged; it never stops the sender.

Fairness: a message waits while an earlier one to the same recipient is unsent (replies arrive in
order), and claims take the oldest `turn` first (bot/store.enqueue spreads a recipient's replies
over turns), so one user's reply is not behind a flood of replies to another. A 130429 / HTTP 429
pauses this process's sending; a 131056 (pair rate limit) pauses only that recipient.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import asyncpg

from bot import metrics
from bot.graph import (
    AmbiguousSendError,
    GraphError,
    OutsideWindowError,
    PairRateLimitError,
    ThrottledError,
)
from bot.store import (
    DELIVERED_CHANNEL,
    OUTBOX_CHANNEL,
    apply_stored_failure,
    confirm_sent,
    lock_wamid,
    reference,
)
from bot.wakeup import drain_on_notify
from locales.numbers import mask

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 15 * 60
# Meta paces one business number to one user at about a message every 6 seconds (short bursts
# borrow from that); after a 131056 the recipient waits this long, doubling while it repeats.
PAIR_RATE_SECONDS = 6.0
_MAX_UNRECORDED = 1000  # answers kept in memory while the database is away; a bound
_RECORD_TRIES = 20


class Transport(Protocol):
    async def send(
        self, recipient: str, payload: dict[str, Any], reference: str | None = None
    ) -> str: ...

    async def upload(self, content: bytes, mime_type: str, filename: str) -> str: ...


class LocalTransport:
    """Without WhatsApp credentials a reply is 'delivered' by being marked sent; the terminal chat
    and the web simulator read sent rows from the outbox."""

    async def send(
        self, recipient: str, payload: dict[str, Any], reference: str | None = None
    ) -> str:
        return f"local.{time.time_ns()}"

    async def upload(self, content: bytes, mime_type: str, filename: str) -> str:
        return f"local-media.{time.time_ns()}"


async def with_media(
    conn: asyncpg.Connection, transport: Transport, row: asyncpg.Record
) -> dict[str, Any]:
    """The payload to send: a document message gets the media id of its file, uploaded first
    (once: the id is kept for the message's retries, in the sender's transaction)."""
    payload: dict[str, Any] = row["payload"]
    if payload.get("type") != "document" or row["document_id"] is None:
        return payload
    document = await conn.fetchrow(
        "SELECT filename, mime_type, content, media_id FROM outbox_documents WHERE id = $1",
        row["document_id"])
    media_id = document["media_id"]
    if media_id is None:
        media_id = await transport.upload(bytes(document["content"]), document["mime_type"],
                                          document["filename"])
        await conn.execute(
            "UPDATE outbox_documents SET media_id = $2, uploaded_at = now() WHERE id = $1",
            row["document_id"], media_id)
    return {**payload, "document": {**payload["document"], "id": media_id}}


class RateLimiter:
    """At most `rate` sends a second, and a pause for all of them when the API throttles us."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._paused_until = clock()
        self._lock = asyncio.Lock()

    async def acquire(self, max_wait: float = float("inf")) -> bool:
        """Take the next sending slot; False (nothing taken) if that means waiting > max_wait."""
        while True:
            async with self._lock:
                now = self._clock()
                if self._paused_until > now:
                    wait, take = self._paused_until - now, False
                else:
                    wait, take = self._next - now, True
                if wait > max_wait:
                    return False
                if take:
                    self._next = max(now, self._next) + self._interval
            if wait > 0:
                await self._sleep(wait)
            if take:
                return True

    async def unpaused(self) -> None:
        """Return once sending is not paused (without taking a slot)."""
        while (wait := self._paused_until - self._clock()) > 0:
            await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)


# The oldest-turn due message whose recipient has nothing older pending. Walks the pending
# (turn, id) index; each candidate costs one probe of the recipient's pending index, and only
# recipients whose first message is not due (in flight, backing off, paused) are stepped over.
_DUE = """o.status = 'pending' AND o.next_attempt_at <= now()
  AND o.id = (SELECT min(e.id) FROM outbox e WHERE e.recipient = o.recipient
                                              AND e.status = 'pending')"""
_CLAIM = f"""
SELECT o.* FROM outbox o
WHERE {_DUE}
ORDER BY o.turn, o.id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""


# A claim in one statement (no BEGIN/COMMIT round trips): the same row, marked in flight at once
# unless it is in doubt (an earlier send of it got no answer); then it comes back unmarked, with
# `in_doubt`, for the transaction in Sender._claim_in_doubt, which may settle it instead of
# sending it again. Nothing due: no row. `more`: another message was due besides this one, so
# a peer is called to look for it (or, with none free, this worker looks again after sending);
# without it, a lone reply cost three claims (the one that found it, the woken peer's and the
# look after the send).
_CLAIM_FRESH = f"""
WITH next AS ({_CLAIM}),
claimed AS (
    UPDATE outbox o SET sending_since = clock_timestamp(), attempts = o.attempts + 1,
           next_attempt_at = now() + $1
      FROM next
     WHERE o.id = next.id AND next.sending_since IS NULL
    RETURNING o.*)
SELECT claimed.*, false AS in_doubt,
       EXISTS (SELECT FROM outbox o WHERE {_DUE} AND o.id <> claimed.id) AS more
FROM claimed
UNION ALL
SELECT next.*, true AS in_doubt, true AS more FROM next WHERE next.sending_since IS NOT NULL
"""


# A send's record (migration 032); it is undone (raises) when a failure status came first.
_RECORD_SENT = "SELECT updated, waiting FROM outbox_record_sent($1, $2, $3)"


@dataclass
class _Calls:
    """The wake-ups between a drain's workers: one is made for a message due besides one just
    claimed, up to one for each idle peer, and taken by the peer that looks for it."""

    spare: int  # workers besides the one calling
    pending: int = 0  # made and not taken yet
    made: int = 0  # in this drain, taken or not

    def make(self) -> bool:
        """Call a peer; False when every peer has a call waiting already."""
        if self.pending >= self.spare:
            return False
        self.pending += 1
        self.made += 1
        return True

    def take(self) -> None:
        """A peer answers a call: it looks for the message it was called for."""
        assert self.pending > 0
        self.pending -= 1

    def answered_by_empty_claim(self, made_before: int) -> None:
        """A claim that found nothing answers the calls made before it began and not taken
        yet: what they were for has been claimed. One made since (for a message that fell due
        meanwhile, seen by a later claim) is still someone's to answer: its caller does not
        look again itself."""
        self.pending = min(self.pending, self.made - made_before)


@dataclass(frozen=True)
class Claim:
    """A message marked in flight by this sender: `token` is its `sending_since`."""

    row: asyncpg.Record
    token: datetime
    attempts: int  # including this one
    more: bool = True  # another message was due when this one was claimed


@dataclass
class _Unrecorded:
    claim: Claim
    wamid: str
    tries: int = 0


class Sender:
    def __init__(
        self,
        pool: asyncpg.Pool,
        transport: Transport,
        *,
        rate_per_second: float,
        max_attempts: int,
        backoff_seconds: float,
        poll_seconds: float,
        send_timeout_seconds: float = 15.0,
        confirm_seconds: float = 30.0,
        concurrency: int = 4,
        stopping: asyncio.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        # Set on shutdown: the sends in hand are finished and recorded, no new one is claimed.
        self._stopping = stopping or asyncio.Event()
        self._transport = transport
        self._limiter = RateLimiter(rate_per_second)
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._poll = poll_seconds
        self._confirm = timedelta(seconds=confirm_seconds)
        # A claim outlives the HTTP call and the wait for its status; a sender killed meanwhile
        # leaves a row that becomes due again when this lease runs out.
        self._lease = timedelta(seconds=send_timeout_seconds + confirm_seconds)
        self._concurrency = concurrency
        self._unrecorded: list[_Unrecorded] = []
        self._clock = clock
        # Since when statuses could reach us: the process (or the database, when the sender is
        # restarted after losing it) may have been away for all of a send's own wait.
        self._listening_since = clock()

    async def run(self) -> None:
        """Send until cancelled, or stopping (then return with no send in hand)."""
        self._listening_since = self._clock()
        await drain_on_notify(self._pool, OUTBOX_CHANNEL, self.drain, self._poll, self._stopping)

    async def drain(self) -> int:
        """Send until nothing is due; returns how many messages were attempted.

        Up to `concurrency` workers claim and send independently (a slow send holds up only its
        own worker). One starts; each claim that finds a message while another is due wakes one
        idle peer, so the workers in use follow the queue, and a quiet queue costs one empty
        claim, not one per worker. A worker that has sent looks again itself if more was due
        and no peer could be called for it, or if its recipient's next message is due now. The
        drain ends when no worker is busy and no wake-up is left unanswered (`_Calls`); a
        message queued meanwhile is found by the next drain, which its NOTIFY starts.
        """
        await self._record_unrecorded()
        changed = asyncio.Condition()
        calls = _Calls(spare=self._concurrency - 1)
        busy, sent, finished = 1, 0, False  # the first worker is busy from the start

        async def woken() -> bool:
            """Call an idle peer for a message due besides one just claimed; False when every
            peer has a call waiting already (the claimer looks again itself)."""
            async with changed:
                if not calls.make():
                    return False
                changed.notify(1)
                return True

        async def done_with(nothing_due: bool = False, made_before: int = 0) -> None:
            """This worker is no longer busy; the last one ends the drain."""
            nonlocal busy, finished
            async with changed:
                busy -= 1
                if nothing_due:
                    calls.answered_by_empty_claim(made_before)
                if busy == 0 and calls.pending == 0:
                    finished = True
                    changed.notify_all()

        async def worker(first: bool) -> None:
            nonlocal sent
            if not first and not await called():
                return
            while not self._stopping.is_set():
                made_before = calls.made
                try:
                    handled, more = await self._send_next(woken)
                except BaseException:
                    await done_with()
                    raise
                sent += handled
                if more:
                    continue
                await done_with(nothing_due=not handled, made_before=made_before)
                if not await called():
                    return
            await done_with()  # stopping

        async def called() -> bool:
            """Wait to be woken; True to look for work, False when the drain is over."""
            nonlocal busy
            async with changed:
                await changed.wait_for(lambda: calls.pending > 0 or finished)
                if finished:
                    return False
                calls.take()
                busy += 1
                return True

        results = await asyncio.gather(*(worker(k == 0) for k in range(self._concurrency)),
                                       return_exceptions=True)
        for result in results:  # every worker has stopped before anything is raised
            if isinstance(result, BaseException):
                raise result
        return sent

    async def send_one(self) -> bool:
        """Claim, send and record one message; False when nothing was due."""
        handled, _ = await self._send_next()
        return handled

    async def _send_next(
        self, claimed: Callable[[], Awaitable[bool]] | None = None
    ) -> tuple[bool, bool]:
        """Claim, send and record one message: (whether one was due, whether more may be due
        now). `claimed` is called once a message is claimed while another is due, before it is
        sent; when it returns True a peer looks for that one, so this worker need not."""
        await self._limiter.unpaused()  # while Meta throttles us, claim nothing
        claim = await self._claim()
        if claim is None:
            return False, False
        handed_on = False
        if claimed is not None and (claim == "settled" or claim.more):
            handed_on = await claimed()
        if claim == "settled":
            return True, not handed_on
        # Only a message about to go takes a slot. A pause that began meanwhile gives the claim
        # back rather than let its lease run out while it waits.
        if not await self._limiter.acquire(max_wait=self._lease.total_seconds() / 4):
            async with self._pool.acquire() as conn:
                await conn.execute(
                    """UPDATE outbox SET sending_since = NULL, attempts = attempts - 1,
                           next_attempt_at = now()
                       WHERE id = $1 AND sending_since = $2""", claim.row["id"], claim.token)
            return True, True
        try:
            payload = claim.row["payload"]
            if claim.row["document_id"] is not None:
                async with self._pool.acquire() as conn:  # a document is uploaded first, once
                    payload = await with_media(conn, self._transport, claim.row)
            wamid = await self._transport.send(
                claim.row["recipient"], payload, reference(claim.row["id"]))
        except GraphError as exc:
            async with self._pool.acquire() as conn, conn.transaction():
                await self._failed_attempt(conn, claim, exc)
            return True, claim.more and not handed_on
        return True, await self._record_sent(claim, wamid) or (claim.more and not handed_on)

    async def _claim(self) -> Claim | Literal["settled"] | None:
        """Mark the next due message in flight; "settled" when it needed no sending after all."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_CLAIM_FRESH, self._lease)
            if row is None:
                return None
            if not row["in_doubt"]:
                return Claim(row, row["sending_since"], row["attempts"], row["more"])
            return await self._claim_in_doubt(conn)

    async def _claim_in_doubt(
        self, conn: asyncpg.Connection
    ) -> Claim | Literal["settled"] | None:
        """The next due message was sent before without an answer: settle it or send it again
        (read again under its lock: another sender may have taken it meanwhile)."""
        async with conn.transaction():
            row = await conn.fetchrow(_CLAIM)
            if row is None:
                return None
            if row["sending_since"] is not None and await self._settle_in_doubt(conn, row):
                return "settled"
            token: datetime = await conn.fetchval(
                """UPDATE outbox SET sending_since = clock_timestamp(), attempts = attempts + 1,
                       next_attempt_at = now() + $2
                   WHERE id = $1 RETURNING sending_since""", row["id"], self._lease)
            return Claim(row, token, row["attempts"] + 1)

    async def _settle_in_doubt(self, conn: asyncpg.Connection, row: asyncpg.Record) -> bool:
        """An earlier send of `row` got no answer and its wait is over: a status that names it
        (if the webhook's own confirmation missed it) settles it; a sender that has not yet
        listened for `confirm_seconds` puts it off until it has; the attempt limit fails it.
        Otherwise it is sent again, and False is returned."""
        status = await conn.fetchrow(
            """SELECT wamid FROM message_statuses WHERE callback_data = $1
               ORDER BY rank LIMIT 1""", reference(row["id"]))
        if status is not None:
            if not await confirm_sent(conn, row["id"], status["wamid"]):
                # Its wamid is another row's: sent all the same, and never to be claimed again.
                await conn.execute(
                    """UPDATE outbox SET status = 'sent', sent_at = now(), sending_since = NULL,
                           last_error = $2 WHERE id = $1 AND status = 'pending'""",
                    row["id"], f"sent; wamid {status['wamid']} already held by another message")
            await apply_stored_failure(conn, status["wamid"])
            metrics.OUTBOUND.labels(result="confirmed").inc()
            return True
        left = self._confirm.total_seconds() - (self._clock() - self._listening_since)
        if left > 0:
            # Its wait ran out while this sender was not running (a restart after kill -9 takes
            # seconds; under load, longer than the wait): Meta's status, posted meanwhile to
            # nobody, comes with its retry. Sending now is what would send it twice.
            log.warning("outbox %s to %s: in doubt since before the sender started; waiting "
                        "%.1fs more for its status", row["id"], mask(row["recipient"]), left)
            await conn.execute("UPDATE outbox SET next_attempt_at = now() + $2 WHERE id = $1",
                               row["id"], timedelta(seconds=left))
            return True
        if row["attempts"] >= self._max_attempts:
            await self._fail_row(conn, row["id"], row["recipient"],
                                 "no answer and no status webhook: " + (row["last_error"] or ""))
            return True
        log.warning("outbox %s to %s: no status within %ss of an unanswered send; sending again",
                    row["id"], mask(row["recipient"]), self._confirm.total_seconds())
        metrics.OUTBOUND.labels(result="resent").inc()
        return False

    async def _record_sent(self, claim: Claim, wamid: str) -> bool:
        """Record the send; True when its recipient has another message waiting."""
        try:
            async with self._pool.acquire() as conn:
                return await self._sent(conn, claim, wamid)
        except Exception:
            # Meta has the message; only our note of it is missing. Keep it and write it when the
            # database answers again (a status webhook would also settle it) - never resend.
            if len(self._unrecorded) < _MAX_UNRECORDED:
                self._unrecorded.append(_Unrecorded(claim, wamid))
            raise

    async def _record_unrecorded(self) -> None:
        while self._unrecorded:
            entry = self._unrecorded[0]
            entry.tries += 1
            try:
                async with self._pool.acquire() as conn:
                    await self._sent(conn, entry.claim, entry.wamid)
            except Exception:
                if entry.tries < _RECORD_TRIES:
                    raise
                log.exception("outbox %s: could not record wamid %s", entry.claim.row["id"],
                              entry.wamid)
            self._unrecorded.pop(0)

    async def _sent(self, conn: asyncpg.Connection, claim: Claim, wamid: str) -> bool:
        """Record the send: one statement, a transaction of its own (migration 032), or, when a
        failure status came before it, a transaction that records it and applies the failure.
        The row's update comes first, so a wamid already held by another row undoes nothing
        else and is recorded apart. True when the recipient has another message waiting (it may
        be due now)."""
        row_id = claim.row["id"]
        try:
            try:
                recorded = await conn.fetchrow(_RECORD_SENT, row_id, wamid, DELIVERED_CHANNEL)
            # The failure came first (the record was undone), or a deploy is still migrating to
            # 032 (tests/channel/test_migrate_live.py; drop that case a release after 032's).
            except (asyncpg.RaiseError, asyncpg.UndefinedFunctionError):
                recorded = await self._sent_with_failure(conn, row_id, wamid)
        except asyncpg.UniqueViolationError:
            # Sent, but Meta's id is already on another row: record it sent without the id.
            log.error("outbox %s: wamid %s is already recorded for another message",
                      row_id, wamid)
            async with conn.transaction():
                await conn.execute(
                    """UPDATE outbox SET status = 'sent', sent_at = now(), sending_since = NULL,
                           last_error = $2
                       WHERE id = $1 AND status = 'pending'""",
                    row_id, f"sent; wamid {wamid} already held by another message"[:1000])
                await conn.execute(f"NOTIFY {DELIVERED_CHANNEL}")
            recorded = None
        metrics.OUTBOUND.labels(result="sent").inc()
        # Not updated (settled meanwhile by a status webhook, or its wamid another row's): its
        # recipient's next reply may be due.
        return recorded["waiting"] if recorded is not None and recorded["updated"] else True

    @staticmethod
    async def _sent_with_failure(
        conn: asyncpg.Connection, row_id: int, wamid: str
    ) -> asyncpg.Record | None:
        async with conn.transaction():
            # The wamid's lock (lock_wamid) is taken after the row is updated, so a failure
            # stored later finds it, and before the read below, so one stored earlier is seen.
            recorded = await conn.fetchrow(
                f"""UPDATE outbox SET status = 'sent', wamid = $2, sent_at = now(),
                        sending_since = NULL
                    WHERE id = $1 AND status = 'pending'
                    RETURNING true AS updated, pg_notify('{DELIVERED_CHANNEL}', ''),
                              pg_advisory_xact_lock(hashtextextended('wamid:' || $2, 0)),
                              EXISTS (SELECT FROM outbox e
                                      WHERE e.recipient = outbox.recipient
                                        AND e.status = 'pending' AND e.id <> outbox.id)
                                  AS waiting""",
                row_id, wamid)
            if recorded is None:  # settled meanwhile (a status webhook): still look
                await lock_wamid(conn, wamid)
            await apply_stored_failure(conn, wamid)
            return recorded

    async def _failed_attempt(
        self, conn: asyncpg.Connection, claim: Claim, exc: GraphError
    ) -> None:
        row = claim.row
        if isinstance(exc, AmbiguousSendError):
            log.warning("outbox %s to %s: %s; waiting for its status", row["id"],
                        mask(row["recipient"]), exc)
            await conn.execute(
                """UPDATE outbox SET last_error = $3, next_attempt_at = now() + $4
                   WHERE id = $1 AND sending_since = $2 AND status = 'pending'""",
                row["id"], claim.token, str(exc)[:1000], self._confirm)
            metrics.OUTBOUND.labels(result="ambiguous").inc()
            return
        if isinstance(exc, OutsideWindowError) and row["fallback"] and (
                row["payload"].get("type") != "template"):
            log.info("outbox %s: outside the 24-hour window, sending as template", row["id"])
            await conn.execute(
                """UPDATE outbox SET payload = fallback, last_error = $3, sending_since = NULL,
                       next_attempt_at = now()
                   WHERE id = $1 AND sending_since = $2""", row["id"], claim.token, str(exc))
            return
        if isinstance(exc, PairRateLimitError):
            # Not the message's fault: it does not use up an attempt. Only this recipient waits.
            delay = min(PAIR_RATE_SECONDS * 2 ** min(row["pair_hits"], 16), MAX_BACKOFF_SECONDS)
            log.warning("outbox %s to %s: pair rate limit; this recipient waits %.0fs",
                        row["id"], mask(row["recipient"]), delay)
            await conn.execute(
                """UPDATE outbox SET attempts = attempts - 1, pair_hits = pair_hits + 1,
                       last_error = $3, sending_since = NULL, next_attempt_at = now() + $4
                   WHERE id = $1 AND sending_since = $2""",
                row["id"], claim.token, str(exc)[:1000], timedelta(seconds=delay))
            metrics.OUTBOUND.labels(result="paused_recipient").inc()
            return
        if isinstance(exc, ThrottledError):
            delay = self._delay(claim.attempts)
            self._limiter.pause(delay)
            await self._retry(conn, claim, exc, delay)
            return
        if exc.retryable:
            await self._retry(conn, claim, exc, self._delay(claim.attempts))
        else:
            await self._fail(conn, claim, exc)

    def _delay(self, attempts: int) -> float:
        return float(min(self._backoff * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))

    async def _retry(
        self, conn: asyncpg.Connection, claim: Claim, exc: GraphError, delay: float
    ) -> None:
        if claim.attempts >= self._max_attempts:
            await self._fail(conn, claim, exc)
            return
        row = claim.row
        log.warning("outbox %s to %s: %s; retry in %.1fs",
                    row["id"], mask(row["recipient"]), exc, delay)
        await conn.execute(
            """UPDATE outbox SET last_error = $3, sending_since = NULL,
                   next_attempt_at = now() + $4
               WHERE id = $1 AND sending_since = $2""",
            row["id"], claim.token, str(exc)[:1000], timedelta(seconds=delay))
        metrics.OUTBOUND.labels(result="retry").inc()

    async def _fail(self, conn: asyncpg.Connection, claim: Claim, exc: GraphError) -> None:
        await self._fail_row(conn, claim.row["id"], claim.row["recipient"], str(exc))

    async def _fail_row(
        self, conn: asyncpg.Connection, row_id: int, recipient: str, error: str
    ) -> None:
        """Failed for good: the row stays, marked, for operators to see; it is never dropped."""
        log.error("outbox %s to %s failed for good: %s", row_id, mask(recipient), error)
        await conn.execute(
            """UPDATE outbox SET status = 'failed', sending_since = NULL, last_error = $2
               WHERE id = $1 AND status = 'pending'""", row_id, error[:1000])
        await conn.execute(f"NOTIFY {DELIVERED_CHANNEL}")
        metrics.OUTBOUND.labels(result="failed").inc()
