-- A sample subscriber directory (loads into both schemas): at least one number per service.
--   sqlite3 directory.db < schema-sqlite.sql && sqlite3 directory.db < directory-sample.sql
--   mariadb sms < schema-mysql.sql && mariadb sms < directory-sample.sql
-- 48500100200 and 48600700800 are the phones of the recorded app_sms fixtures (tests/data).
INSERT INTO PBXNumbers (Account, Message, Extension) VALUES
    ('48500100200', 'S', 'PJSIP/48500100200'),  -- SMS phone (sender of the fixture messages)
    ('48600700800', 'S', 'PJSIP/48600700800'),  -- SMS phone (receiver of the fixture messages)
    ('600700800',   'S', 'PJSIP/600700800'),    -- SMS phone
    ('600700801',   'F', 'DAHDI/1'),            -- fax machine on an analogue line
    ('600700802',   'V', 'PJSIP/600700802'),    -- plain phone: messages are read out
    ('1000',        'C', 'PJSIP/1000'),         -- command service ([commands] numbers)
    ('600700803',   'T', 'PJSIP/600700803'),    -- SIP softphone: SIP MESSAGE
    ('600700804',   'N', 'PJSIP/600700804');    -- messaging disabled by the subscriber
