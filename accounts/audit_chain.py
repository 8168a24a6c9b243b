"""The audit log's hash chains: tamper-evident beyond append-only (PostgreSQL).

Every activity entry is linked into one of CHAINS hash chains by a BEFORE INSERT trigger
(`Activity.Meta.triggers`), inside the writing transaction, whatever wrote the row (the ORM, or
the one-statement booking's SQL):

    hash = sha256(prev_hash, id, chain, chain_seq, at, actor, ..., detail)   -- accounts_activity_hash()

and the chain's head row (`AuditChainHead`: last position and hash) moves on. The head is locked
until the transaction ends, so positions within a chain are gapless and in commit order. A writer
takes the chain its transaction already holds, else the first chain no other transaction holds
(`FOR UPDATE SKIP LOCKED`, starting from one picked by the backend's pid): concurrent writers do
not queue behind one global lock, and never wait at all unless CHAINS transactions write at once
(every head exists from migration 0007; one missing, after a restore say, is made on first use).

`verify()` recomputes every link in one pass: an edited row breaks its own hash, a deleted one
leaves a gap in its chain, a rewritten tail no longer ends at the head. The heads themselves are
the anchor: copying `heads()` somewhere else now and then (a log, a ticket) makes even a rewrite
of a whole chain and its head detectable. SQLite (the try-it-out default) has no trigger: its
entries carry no chain and `verify()` reports that.
"""

from django.db import connection

CHAINS = 32

# One definition of what an entry's hash covers, used by the trigger and by the verifier.
HASH_FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION accounts_activity_hash(a accounts_activity) RETURNS varchar(64)
LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(chr(31),
    a.prev_hash, a.id::text, a.chain::text, a.chain_seq::text,
    (extract(epoch FROM a.at) * 1000000)::bigint::text,
    coalesce(a.actor_id::text, '-'), a.actor_role, a.actor_name, a.action, a.object_type,
    coalesce(a.object_id::text, '-'), coalesce(a.patient_id::text, '-'), a.ip, a.request_id,
    a.detail::text), 'UTF8')), 'hex')
$$;
"""

# The trigger's body (pgtrigger wraps it in a PL/pgSQL function).
LINK_SQL = f"""
    SELECT chain, seq, hash INTO _chain, _seq, _prev FROM accounts_auditchainhead
     ORDER BY (chain::text = coalesce(current_setting('hms.audit_chain', true), '')) DESC,
              (chain - pg_backend_pid() % {CHAINS} + {CHAINS}) % {CHAINS}
     LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        -- every chain busy, or none exists yet (chains are made on first use): this backend's own
        INSERT INTO accounts_auditchainhead (chain, seq, hash) VALUES (pg_backend_pid() % {CHAINS}, 0, '')
            ON CONFLICT (chain) DO NOTHING;
        SELECT chain, seq, hash INTO _chain, _seq, _prev FROM accounts_auditchainhead
         WHERE chain = pg_backend_pid() % {CHAINS} FOR UPDATE;
    END IF;
    PERFORM set_config('hms.audit_chain', _chain::text, true);
    NEW.chain := _chain;
    NEW.chain_seq := _seq + 1;
    NEW.prev_hash := _prev;
    NEW.hash := accounts_activity_hash(NEW);
    UPDATE accounts_auditchainhead SET seq = NEW.chain_seq, hash = NEW.hash WHERE chain = _chain;
    RETURN NEW;
"""  # noqa: S608 - only the CHAINS constant is interpolated
LINK_DECLARE = [("_chain", "smallint"), ("_seq", "bigint"), ("_prev", "varchar(64)")]

# The first link that does not hold, in order of entry id; the chain's tail checked against its head.
_VERIFY_SQL = """
WITH links AS (
    SELECT id, at, chain, chain_seq, prev_hash, hash, accounts_activity_hash(a) AS expected,
           lag(hash) OVER w AS before_hash, lag(chain_seq) OVER w AS before_seq
      FROM accounts_activity a
     WHERE chain IS NOT NULL
    WINDOW w AS (PARTITION BY chain ORDER BY chain_seq)
), broken AS (
    SELECT id, at, chain, chain_seq,
           CASE WHEN hash <> expected THEN 'altered'
                WHEN chain_seq <> coalesce(before_seq, 0) + 1 THEN 'missing_before'
                ELSE 'relinked' END AS problem
      FROM links
     WHERE hash <> expected OR chain_seq <> coalesce(before_seq, 0) + 1
        OR prev_hash <> coalesce(before_hash, '')
), tails AS (
    SELECT h.chain, h.seq, h.hash, t.id, t.at, t.chain_seq, t.hash AS tail_hash
      FROM accounts_auditchainhead h
      LEFT JOIN LATERAL (
          SELECT id, at, chain_seq, hash FROM accounts_activity
           WHERE chain = h.chain ORDER BY chain_seq DESC LIMIT 1) t ON true
     WHERE h.seq <> coalesce(t.chain_seq, 0) OR h.hash <> coalesce(t.hash, '')
)
SELECT id, at, chain, chain_seq, problem FROM broken
UNION ALL
SELECT id, at, chain, seq, 'missing_tail' FROM tails
ORDER BY 1 NULLS LAST LIMIT 1
"""


def install_hash_function(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(HASH_FUNCTION_SQL)


def verify() -> dict:
    """`{"ok", "checked", "unchained", "first_broken": {...} | null}` over the whole audit log."""
    if connection.vendor != "postgresql":
        return {
            "ok": None,
            "checked": 0,
            "unchained": None,
            "first_broken": None,
            "detail": "Hash chains are kept on PostgreSQL only.",
        }
    with connection.cursor() as cursor:
        cursor.execute(_VERIFY_SQL)
        row = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE chain IS NOT NULL), count(*) FILTER (WHERE chain IS NULL) "
            "FROM accounts_activity"
        )
        checked, unchained = cursor.fetchone()
    broken = None
    if row:
        entry_id, at, chain, position, problem = row
        broken = {"id": entry_id, "at": at, "chain": chain, "position": position, "problem": problem}
    return {"ok": broken is None, "checked": checked, "unchained": unchained, "first_broken": broken}


def heads() -> list[dict]:
    """Each chain's last position and hash: the values to keep elsewhere as an anchor."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT chain, seq, hash FROM accounts_auditchainhead WHERE seq > 0 ORDER BY chain")
        return [{"chain": chain, "position": seq, "hash": digest} for chain, seq, digest in cursor.fetchall()]
