-- The subscriber directory for the SQLite backend (the default): one row per number.
-- Create it with:  sms-directory init   (or: sqlite3 /var/lib/sms-suite/directory.db < schema-sqlite.sql)
-- The router opens the file read-only; edit it with sms-directory(8), which checks every value
-- as the router reads it (or with the sqlite3 shell, unchecked).
--   Account   the number, as it appears in oa=/da= (digits, optionally a leading +)
--   Message   the service: S SMS phone, F fax, V voice call, C command service,
--             T SIP instant message, N messaging disabled (either case is accepted)
--   Extension the Asterisk channel to reach the number, e.g. PJSIP/1000 or DAHDI/1
-- Other table or column names work too: set table, account_column, service_column and
-- extension_column in [directory] (sms-suite.conf(5)).
CREATE TABLE IF NOT EXISTS PBXNumbers (
    Account   TEXT PRIMARY KEY,
    Message   TEXT NOT NULL CHECK (upper(Message) IN ('S', 'F', 'V', 'C', 'T', 'N')),
    Extension TEXT NOT NULL
);
