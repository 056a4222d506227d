-- schema.sql: the store's tables. Split in sections by "-- version N" lines;
-- store_open applies every section newer than PRAGMA user_version in one
-- transaction and then sets user_version to N. Never edit a released section:
-- add a new one below.

-- version 1

-- Every inbound mail, exact bytes. dedup_id: Message-ID (or a hash of the raw
-- mail) plus the mailbox reference, so a mail seen again is skipped.
CREATE TABLE messages (
	id INTEGER PRIMARY KEY,
	dedup_id TEXT UNIQUE NOT NULL,
	source_ref TEXT,
	raw BLOB NOT NULL,
	kind TEXT,
	from_addr TEXT,
	subject TEXT,
	case_id TEXT,
	received_at INTEGER
);

-- One row per case; state and approvals by their stable names (case.h).
CREATE TABLE cases (
	id TEXT PRIMARY KEY,
	year INTEGER NOT NULL,
	num INTEGER NOT NULL,
	state TEXT NOT NULL,
	entity TEXT,
	requester TEXT,
	aio TEXT NOT NULL,
	cio TEXT NOT NULL,
	step INTEGER NOT NULL,
	subject TEXT,
	request_msgid TEXT,
	fields_json TEXT,
	problems_json TEXT,
	summary TEXT,
	recommendation TEXT,
	decision TEXT,
	reminders INTEGER NOT NULL DEFAULT 0,
	overdue INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	state_since INTEGER NOT NULL,
	UNIQUE (year, num)
);
CREATE INDEX cases_state ON cases (state);

-- Append-only, hash-chained log (store_event_add, store_verify).
CREATE TABLE events (
	seq INTEGER PRIMARY KEY,
	case_id TEXT,
	at INTEGER NOT NULL,
	kind TEXT NOT NULL,
	actor TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX events_case ON events (case_id, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE reply_keys (
	key TEXT PRIMARY KEY,
	case_id TEXT NOT NULL,
	step INTEGER NOT NULL,
	role TEXT NOT NULL,
	addressee TEXT NOT NULL
);

-- Mail to send. AUTOINCREMENT: an id is never reused, even after a delete,
-- because Message-IDs are named after it (store_outbox_next_id).
-- rcpts: envelope recipients, one per line.
CREATE TABLE outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id TEXT,
	env_from TEXT NOT NULL,
	rcpts TEXT NOT NULL,
	data BLOB NOT NULL,
	created INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_try INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sent', 'failed')),
	sent_at INTEGER,
	failed_at INTEGER,
	error TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_try);
CREATE INDEX outbox_created ON outbox (created);

-- Mails waiting for an operator (cgenctl queue).
CREATE TABLE queue (
	id INTEGER PRIMARY KEY,
	message_id INTEGER NOT NULL REFERENCES messages (id),
	at INTEGER NOT NULL,
	reason TEXT NOT NULL,
	resolved INTEGER NOT NULL DEFAULT 0
);

-- The entity directory; list columns are ';'-joined.
CREATE TABLE entities (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	domains TEXT NOT NULL,
	aio TEXT,
	cio TEXT,
	aio_delegates TEXT NOT NULL,
	cio_delegates TEXT NOT NULL,
	exempt TEXT
);

-- version 2

-- IMAP sources: per mailbox (its URL without password) the UIDVALIDITY seen
-- and the highest UID up to which every mail was handled.
CREATE TABLE mailbox_state (
	mailbox TEXT PRIMARY KEY,
	uidvalidity INTEGER NOT NULL,
	last_uid INTEGER NOT NULL
);

-- version 3

-- The CDT digest, once per local day (DESIGN.md section 5): a day that has a
-- row never gets a second digest.
CREATE TABLE digests (
	day TEXT PRIMARY KEY,
	sent_at INTEGER NOT NULL
);
-- The digest's events of the last day.
CREATE INDEX events_at ON events (at);

-- version 4

-- One row per outbox recipient, so the rate limit counts mails to an address
-- with an index instead of scanning every queued message.
CREATE TABLE outbox_rcpts (
	outbox_id INTEGER NOT NULL REFERENCES outbox (id),
	addr TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE INDEX outbox_rcpts_addr ON outbox_rcpts (addr, created);
-- The sender walks pending mail in id order without reading the sent ones.
CREATE INDEX outbox_pending ON outbox (status, id);
WITH RECURSIVE split (id, addr, rest, created) AS (
	SELECT id, '', rcpts || char(10), created FROM outbox
	UNION ALL
	SELECT id, substr(rest, 1, instr(rest, char(10)) - 1),
	       substr(rest, instr(rest, char(10)) + 1), created
	FROM split WHERE rest <> ''
)
INSERT INTO outbox_rcpts (outbox_id, addr, created)
	SELECT id, lower(addr), created FROM split WHERE addr <> '';

-- version 5

-- Reply keys are kept as "h:" and the hex SHA-256 of the key (store_key_add):
-- reading the store yields no key that a mail could carry. The rows of older
-- versions are rewritten by store.c when it applies this section.

-- Outbox rows handed to the sender: committed before the send, removed with
-- the result, so a result that cannot be committed (disk full) never causes
-- a second send; a row left here after a crash is reconciled at start.
CREATE TABLE outbox_sending (
	outbox_id INTEGER PRIMARY KEY REFERENCES outbox (id),
	started INTEGER NOT NULL
);

-- Counters of the global limits ([security] answer_limit, case_open_limit):
-- kind 'answer' (key '') or 'case_open' (key: the entity code).
CREATE TABLE limit_hits (
	kind TEXT NOT NULL,
	key TEXT NOT NULL,
	at INTEGER NOT NULL
);
CREATE INDEX limit_hits_kind ON limit_hits (kind, key, at);

-- Where each mailbox was when a batch was committed: Maildir the time of the
-- commit (mails renamed into cur/ later were handled after it), IMAP the
-- UIDVALIDITY and highest UID of processed_folder. After a restore the mails
-- past the mark are read again (de-duplicated by Message-ID).
CREATE TABLE mailbox_mark (
	mailbox TEXT PRIMARY KEY,
	validity INTEGER NOT NULL,
	mark INTEGER NOT NULL
);

-- Is a mailbox reference already stored (restore replay)?
CREATE INDEX messages_source_ref ON messages (source_ref);

-- One row the daemon rewrites to learn whether the store can commit again
-- after a failed commit (disk full): store_probe().
CREATE TABLE store_probe (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at INTEGER NOT NULL
);

-- version 6

-- cgend's heartbeat for `cgenctl status`: one row, rewritten each round.
CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	pid INTEGER NOT NULL,
	host TEXT,
	started_at INTEGER NOT NULL,
	beat_at INTEGER NOT NULL,
	poll_at INTEGER,
	poll_ok INTEGER,
	poll_result TEXT,
	send_at INTEGER,
	send_ok INTEGER,
	send_result TEXT,
	error_at INTEGER,
	error TEXT,
	stopped_at INTEGER
);
-- The outbox as an operator handles it: a retried failed mail starts a new
-- lifetime ([smtp] max_queue_lifetime) at requeued_at; a dropped one keeps who
-- dropped it and why; an expired one when it expired. Dropped and expired
-- mails have status 'failed' (never sent).
ALTER TABLE outbox ADD COLUMN requeued_at INTEGER;
ALTER TABLE outbox ADD COLUMN dropped_at INTEGER;
ALTER TABLE outbox ADD COLUMN dropped_by TEXT;
ALTER TABLE outbox ADD COLUMN drop_reason TEXT;
ALTER TABLE outbox ADD COLUMN expired_at INTEGER;
-- Mails handled today (cgenctl status).
CREATE INDEX messages_received ON messages (received_at);
-- A party of one case reassigned by an operator (cgenctl reassign): this
-- address stands for the role instead of the directory's.
CREATE TABLE case_parties (
	case_id TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('aio', 'cio')),
	addr TEXT NOT NULL,
	PRIMARY KEY (case_id, role)
);

-- version 7

-- Display names seen in the From: of inbound mail, so that mails name people
-- as "Dana Lee <dana.lee@water.ca.gov>". The latest name wins.
CREATE TABLE people (
	addr TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	updated INTEGER NOT NULL
);
-- Every version of a case's request, in order: 1 the original, then each
-- corrected form, by its stored mail (the central file keeps them all).
CREATE TABLE request_versions (
	case_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	message_id INTEGER NOT NULL REFERENCES messages (id),
	at INTEGER NOT NULL,
	PRIMARY KEY (case_id, version)
);
INSERT INTO request_versions (case_id, version, message_id, at)
	SELECT case_id, 1, min(id), min(received_at) FROM messages
	WHERE kind = 'request' AND case_id IS NOT NULL GROUP BY case_id;
CREATE INDEX messages_case ON messages (case_id, id);
-- version 8

-- The exemption's life after the decision, one row per case, written with the
-- case (store_case_put): CDT's proposed CGEN alternative; the grant's date,
-- the contract term and the extensions CDT approved (its end date); an
-- extension waiting on CDT; the exemption a request renews, and the request
-- that renews it; the last expiry notice sent.
CREATE TABLE case_life (
	case_id TEXT PRIMARY KEY REFERENCES cases (id),
	alternative TEXT,
	decided INTEGER NOT NULL DEFAULT 0,
	term_months INTEGER NOT NULL DEFAULT 0,
	extension_months INTEGER NOT NULL DEFAULT 0,
	end_set INTEGER NOT NULL DEFAULT 0,
	ext_months INTEGER NOT NULL DEFAULT 0,
	ext_reason TEXT,
	ext_by TEXT,
	renews TEXT,
	renews_text TEXT,
	renewed_by TEXT,
	expiry_notice INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX case_life_renews ON case_life (renews);
-- Cases stored before: a granted case was decided when it entered its state;
-- the term is the leading number of the request's Contract Term, in months
-- (years when the text says so).
INSERT INTO case_life (case_id, decided, end_set, term_months)
	SELECT id,
	       CASE WHEN state = 'granted' THEN state_since ELSE 0 END,
	       CASE WHEN state = 'granted' THEN state_since ELSE 0 END,
	       CASE WHEN fields_json IS NULL OR NOT json_valid(fields_json) THEN 0
		    WHEN lower(json_extract(fields_json, '$.contract_term')) LIKE '%year%'
			 OR lower(json_extract(fields_json, '$.contract_term')) LIKE '%yr%'
		    THEN 12 * max(0, CAST(json_extract(fields_json, '$.contract_term') AS INTEGER))
		    ELSE max(0, CAST(json_extract(fields_json, '$.contract_term') AS INTEGER)) END
	FROM cases;

-- version 9

-- A case's outbox rows (cgenctl resend: the mails of a case's latest moment)
-- found without reading the whole outbox.
CREATE INDEX IF NOT EXISTS outbox_case ON outbox (case_id, id);
-- Granted exemptions whose end may be near (store_case_granted_due): the
-- grant's time plus 31 days a month of the term and extensions bounds the
-- end from above, so the clock reads only the exemptions whose notices or
-- end can be due, not every grant of the store's history.
CREATE INDEX IF NOT EXISTS case_life_due ON case_life (decided + 2678400 * (term_months + extension_months))
	WHERE decided > 0 AND expiry_notice >= 0 AND term_months > 0;
-- The chain as the last digest verified it (one row): the next digest
-- checks that event seq still has this hash and verifies only the events
-- after it, so a digest reads the day's events, not the store's history.
-- cgenctl verify always recomputes the whole chain.
CREATE TABLE IF NOT EXISTS chain_checkpoint (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL,
	hash TEXT NOT NULL,
	at INTEGER NOT NULL
);

-- version 10

-- A running number of each (kind, key)'s hits: the hits of a key since a
-- time are its highest number minus the number of its first hit since then,
-- plus one: two index look-ups, however many hits a flood left. (The table
-- is made anew, so this section can run again on a store that has it.)
CREATE TABLE limit_hits_new (
	kind TEXT NOT NULL,
	key TEXT NOT NULL,
	at INTEGER NOT NULL,
	n INTEGER NOT NULL
);
INSERT INTO limit_hits_new (kind, key, at, n)
	SELECT kind, key, at, row_number() OVER (PARTITION BY kind, key ORDER BY at, rowid)
	FROM limit_hits;
DROP TABLE limit_hits;
ALTER TABLE limit_hits_new RENAME TO limit_hits;
CREATE INDEX limit_hits_kind ON limit_hits (kind, key, at, n);
CREATE INDEX limit_hits_n ON limit_hits (kind, key, n);
-- Open cases read a page at a time by the clock (store_case_page).
CREATE INDEX IF NOT EXISTS cases_state_created ON cases (state, created, id);
