-- The subscriber directory for the MySQL/MariaDB backend: one row per number.
-- Create it with:  mariadb sms < schema-mysql.sql   (after CREATE DATABASE sms)
--   Account   the number, as it appears in oa=/da= (digits, optionally a leading +)
--   Message   the service: S SMS phone, F fax, V voice call, C command service,
--             T SIP instant message, N messaging disabled (either case is accepted)
--   Extension the Asterisk channel to reach the number, e.g. PJSIP/1000 or DAHDI/1
-- Other table or column names work too: set table, account_column, service_column and
-- extension_column in [directory] (sms-suite.conf(5)).
-- The suite only reads: give its account SELECT on this table and nothing else, e.g.
--   CREATE USER 'sms'@'localhost' IDENTIFIED BY '...';
--   GRANT SELECT ON sms.PBXNumbers TO 'sms'@'localhost';
CREATE TABLE IF NOT EXISTS PBXNumbers (
    Account   VARCHAR(32)  NOT NULL PRIMARY KEY,
    Message   CHAR(1)      NOT NULL CHECK (Message IN ('S', 'F', 'V', 'C', 'T', 'N')),
    Extension VARCHAR(255) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_general_ci;
