-- The ledger schema: an enum, a domain, defaults, identity, foreign keys,
-- check and unique constraints, indexes, a view.
CREATE TYPE entry_kind AS ENUM ('debit', 'credit');
CREATE DOMAIN cents AS bigint CHECK (VALUE >= 0);
CREATE TABLE accounts (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE transactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id integer NOT NULL REFERENCES accounts(id),
    kind entry_kind NOT NULL,
    amount cents NOT NULL,
    memo text,
    booked_on date NOT NULL DEFAULT current_date,
    CONSTRAINT memo_length CHECK (length(memo) < 1000)
);
CREATE INDEX transactions_account_booked ON transactions (account_id, booked_on);
CREATE TABLE empty_table (k text PRIMARY KEY);
-- A partitioned table with a generated column, an unlogged table with jsonb
-- and a non-default collation: the fingerprint must survive a restore.
CREATE TABLE events (
    id bigint NOT NULL,
    at date NOT NULL,
    amount_cents bigint NOT NULL,
    amount numeric GENERATED ALWAYS AS (amount_cents / 100.0) STORED,
    label text COLLATE "C"
) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX events_at ON events (at);
CREATE UNLOGGED TABLE cache_entries (k text PRIMARY KEY, v jsonb NOT NULL DEFAULT '{}');
CREATE VIEW balances AS
    SELECT account_id, sum(CASE WHEN kind = 'credit' THEN amount ELSE -amount END) AS balance
    FROM transactions GROUP BY account_id;
INSERT INTO accounts (name) SELECT 'account ' || g FROM generate_series(1, 100) g;
INSERT INTO transactions (account_id, kind, amount, memo, booked_on)
SELECT 1 + g % 100, CASE WHEN g % 3 = 0 THEN 'debit' ELSE 'credit' END::entry_kind, g % 10000,
       md5(g::text) || ' ' || md5((g * 7)::text) || ' ' || md5((g * 13)::text),
       date '2024-01-01' + (g % 365)
FROM generate_series(1, :rows) g;
INSERT INTO events (id, at, amount_cents, label) SELECT g, date '2024-01-01' + g % 300, g, 'e' || g FROM generate_series(1, 1000) g;
INSERT INTO cache_entries SELECT 'k' || g, jsonb_build_object('g', g) FROM generate_series(1, 50) g;
