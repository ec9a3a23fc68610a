//! SQLite persistence: opening, pragmas and versioned migrations.
//!
//! One writer connection behind a mutex, used from `spawn_blocking`: a single writer makes every
//! handler's read-modify-write atomic without per-table locking. Read-only connections
//! ([`open_reader`]) serve the GETs that change nothing. WAL keeps readers of the file (e.g. `sqlite3` during a demo) from
//! blocking it. Migrations are embedded, applied in order and recorded in `user_version`, so an
//! old file is upgraded in place and a restart never loses data.

use std::path::Path;

use rusqlite::Connection;

/// Migrations, in order; index + 1 is the schema version they bring the file to.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, mailboxes, sessions, identity requests and everything around them.
    r#"
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE mailboxes (
        address TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        holder TEXT NOT NULL,
        contact TEXT NOT NULL,
        identity_state TEXT NOT NULL,
        qualified INTEGER NOT NULL DEFAULT 0,
        expires_on TEXT NOT NULL,
        totp_secret TEXT,
        totp_pending_secret TEXT,
        two_step_login INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX mailboxes_account ON mailboxes(account_id);
    CREATE TABLE login_failures (
        login TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        locked_until TEXT
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(id),
        access_hash TEXT NOT NULL UNIQUE,
        refresh_hash TEXT NOT NULL UNIQUE,
        access_expires_at TEXT NOT NULL,
        refresh_expires_at TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE identity_requests (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        mailbox TEXT NOT NULL REFERENCES mailboxes(address),
        state TEXT NOT NULL,
        active INTEGER NOT NULL,
        otp_hash TEXT,
        otp_attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX identity_requests_mailbox ON identity_requests(mailbox, active);
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES identity_requests(id),
        filename TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        content BLOB NOT NULL,
        uploaded_at TEXT NOT NULL
    );
    CREATE TABLE delegations (
        token_hash TEXT PRIMARY KEY,
        mailbox TEXT NOT NULL,
        holder_email TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE card_challenges (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        challenge BLOB NOT NULL,
        expires_at TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE spid_logins (
        handle TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        status TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE webcam_bookings (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        starts_at TEXT NOT NULL UNIQUE,
        document TEXT NOT NULL,
        language TEXT NOT NULL,
        status TEXT NOT NULL
    );
    CREATE TABLE app_passwords (
        id TEXT PRIMARY KEY,
        mailbox TEXT NOT NULL,
        label TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id TEXT NOT NULL,
        mailbox TEXT NOT NULL,
        kind TEXT NOT NULL,
        title_it TEXT NOT NULL,
        title_en TEXT NOT NULL,
        body_it TEXT NOT NULL,
        body_en TEXT NOT NULL,
        created_at TEXT NOT NULL,
        read INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        account_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (account_id, key)
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- Registries the sandbox consults to produce the providers' outcomes.
    CREATE TABLE ceased_companies (
        tax_code TEXT PRIMARY KEY,
        business_name TEXT NOT NULL
    );
    CREATE TABLE legal_representatives (
        company_tax_code TEXT NOT NULL,
        person_tax_code TEXT NOT NULL,
        PRIMARY KEY (company_tax_code, person_tax_code)
    );
    CREATE TABLE remote_signature_accounts (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        totp_secret TEXT NOT NULL,
        tax_code TEXT NOT NULL
    );
    CREATE TABLE spid_identities (
        tax_code TEXT PRIMARY KEY,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL
    );
    "#,
    // 2: SMTP relay. Rows are marked for delivery when written, so turning the relay on later
    // does not send a backlog of old sandbox messages.
    r#"
    ALTER TABLE outbox ADD COLUMN deliver INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN delivered_at TEXT;
    ALTER TABLE outbox ADD COLUMN delivery_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN last_error TEXT;
    CREATE INDEX outbox_pending ON outbox(deliver, delivered_at);
    "#,
    // 3: the registry and the renewal portal: their own accounts and
    // sessions, PEC changes, support tickets, captchas, SMS, orders and gateway charges.
    r#"
    CREATE TABLE portal_sessions (
        token_hash TEXT PRIMARY KEY,
        portal TEXT NOT NULL,
        subject TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE registry_users (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        last_name TEXT NOT NULL,
        first_name TEXT NOT NULL,
        tax_code TEXT NOT NULL,
        phone TEXT,
        mobile TEXT,
        fax TEXT,
        email TEXT NOT NULL,
        pec TEXT NOT NULL
    );
    CREATE TABLE registry_pec_changes (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES registry_users(username),
        old_pec TEXT NOT NULL,
        new_pec TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        received_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    CREATE INDEX registry_pec_changes_user ON registry_pec_changes(username, state);
    CREATE TABLE registry_tickets (
        number TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        category TEXT NOT NULL,
        topic TEXT NOT NULL,
        questionnaire TEXT,
        description TEXT,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE registry_ticket_documents (
        id TEXT PRIMARY KEY,
        ticket TEXT NOT NULL UNIQUE REFERENCES registry_tickets(number),
        filename TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        content BLOB NOT NULL,
        uploaded_at TEXT NOT NULL
    );
    CREATE TABLE sms_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient TEXT NOT NULL,
        body TEXT NOT NULL,
        sent_at TEXT NOT NULL
    );
    CREATE TABLE captchas (
        id TEXT PRIMARY KEY,
        answer TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE renewal_users (
        tax_code TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        email TEXT NOT NULL,
        mobile TEXT NOT NULL,
        mobile_verified INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE renewal_registrations (
        id TEXT PRIMARY KEY,
        tax_code TEXT NOT NULL,
        email TEXT NOT NULL,
        mobile TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        code_hash TEXT,
        code_expires_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        step TEXT NOT NULL,
        mobile_verified INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE phone_lines (
        number TEXT PRIMARY KEY,
        company_tax_code TEXT NOT NULL
    );
    CREATE TABLE renewal_orders (
        id TEXT PRIMARY KEY,
        tax_code TEXT NOT NULL,
        mailbox TEXT NOT NULL REFERENCES mailboxes(address),
        legal_representative TEXT NOT NULL,
        payment_method TEXT NOT NULL,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        paid_at TEXT,
        new_expires_on TEXT
    );
    CREATE TABLE payment_charges (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES renewal_orders(id),
        method TEXT NOT NULL,
        amount_cents INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    "#,
    // 4: the active request of a mailbox, newest first, straight from an index. The status
    // read the app polls asks for it on every call; with the index on (mailbox, active) only,
    // SQLite sorted the matches in a temporary b-tree each time, even when there were none.
    r#"
    CREATE INDEX identity_requests_active ON identity_requests(mailbox, active, created_at);
    DROP INDEX identity_requests_mailbox;
    "#,
    // 5: the two-step secrets of an account, for a sign-in with the account id. Through the
    // account index alone, that sign-in read every mailbox of the account, under the writer:
    // about a billion instructions for an account of 1,000,000 mailboxes (callgrind of
    // examples/bench_status.rs), during which no other write could run. Only mailboxes with
    // two-step login are in this index.
    r#"
    CREATE INDEX mailboxes_two_step ON mailboxes(account_id)
        WHERE two_step_login = 1 AND totp_secret IS NOT NULL;
    "#,
    // 6: the security review.
    // - Two-step login per mailbox, sessions per account: a session reaches a mailbox with
    //   two-step login only once that mailbox's code was proven in it (`session_factors`).
    // - A code is accepted once (`totp_last_step`, `last_step`), an enrolment belongs to the
    //   session that started it, and recovery codes (hashed, single use) replace a lost phone.
    // - Failure counters back off (`locks`) and are forgotten after a day (`updated_at`).
    // - The renewal registration's code goes to contacts on record (`code_sent_to`).
    r#"
    CREATE TABLE session_factors (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        mailbox TEXT NOT NULL,
        PRIMARY KEY (session_id, mailbox)
    );
    CREATE INDEX sessions_account ON sessions(account_id, revoked);
    ALTER TABLE mailboxes ADD COLUMN totp_last_step INTEGER;
    ALTER TABLE mailboxes ADD COLUMN totp_pending_session TEXT;
    CREATE TABLE recovery_codes (
        mailbox TEXT NOT NULL REFERENCES mailboxes(address),
        code_hash TEXT NOT NULL,
        pending INTEGER NOT NULL,
        used_at TEXT,
        PRIMARY KEY (mailbox, code_hash)
    );
    ALTER TABLE remote_signature_accounts ADD COLUMN last_step INTEGER;
    ALTER TABLE login_failures ADD COLUMN locks INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE login_failures ADD COLUMN updated_at TEXT;
    ALTER TABLE renewal_registrations ADD COLUMN code_sent_to TEXT;
    CREATE INDEX idempotency_created ON idempotency(created_at);
    CREATE INDEX outbox_sent ON outbox(sent_at);
    "#,
    // 7: booking a webcam slot no longer deletes other requests' rows: one *booked* row per
    // slot (a partial unique index) instead of one row of any state, so approved, rejected and
    // cancelled bookings stay as history. SQLite cannot drop a column's UNIQUE: the table is
    // copied into one without it.
    r#"
    CREATE TABLE webcam_bookings_new (
        id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        starts_at TEXT NOT NULL,
        document TEXT NOT NULL,
        language TEXT NOT NULL,
        status TEXT NOT NULL
    );
    INSERT INTO webcam_bookings_new (id, request_id, starts_at, document, language, status)
        SELECT id, request_id, starts_at, document, language, status FROM webcam_bookings;
    DROP TABLE webcam_bookings;
    ALTER TABLE webcam_bookings_new RENAME TO webcam_bookings;
    CREATE UNIQUE INDEX webcam_bookings_slot ON webcam_bookings(starts_at) WHERE status = 'booked';
    CREATE INDEX webcam_bookings_request ON webcam_bookings(request_id, status);
    "#,
    // 8: the request form of firma digitale / firma remota as issued (the exact bytes the
    // holder must sign, and what they were issued from), and the signed `.p7m` once accepted.
    r#"
    CREATE TABLE signature_forms (
        request_id TEXT PRIMARY KEY REFERENCES identity_requests(id),
        pdf BLOB NOT NULL,
        paragraphs TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        basis TEXT NOT NULL,
        p7m BLOB,
        received_at TEXT,
        signer TEXT,
        codice_fiscale TEXT
    );
    "#,
    // 9: a captcha's image, drawn once when the captcha is made (audit L8). Rows from before
    // have none and are refused as expired: they expire within five minutes anyway.
    r#"
    ALTER TABLE captchas ADD COLUMN image BLOB;
    "#,
    // 10: the answer of a captcha's text alternative (the number written in words), checked
    // like the image's. Rows from before have none: only their image answers.
    r#"
    ALTER TABLE captchas ADD COLUMN alt_answer TEXT;
    "#,
    // 11: a mailbox's own IMAPS server, published in its view (the app backs a mailbox up only
    // from it: audit M6). NULL: the server's configured one (`--imap-host`).
    r#"
    ALTER TABLE mailboxes ADD COLUMN imap_host TEXT;
    ALTER TABLE mailboxes ADD COLUMN imap_port INTEGER;
    "#,
    // 12: the session a refresh rotated a session into, so that a refresh token presented a
    // second time (stolen, or replayed) ends the session it was rotated into (audit I6).
    r#"
    ALTER TABLE sessions ADD COLUMN rotated_to TEXT;
    "#,
];

/// Opens (creating if needed) the database file and brings its schema up to date.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a sandbox killed mid-flow must come back with every acknowledged step.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a read-only connection to an existing, migrated file (the readers' pool).
pub fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    // Status lookups hit random pages of a large file: map it rather than read() page by page.
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    Ok(conn)
}

/// Schema version the code expects.
pub fn latest_version() -> u32 {
    u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > latest_version() {
        anyhow::bail!(
            "database schema version {current} is newer than this server ({}); refusing to touch it",
            latest_version()
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
