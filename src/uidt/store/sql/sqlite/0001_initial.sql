-- uidt job store, SQLite schema version 1.
-- The default namespace is stored as '' (Android forbids empty namespaces, so '' is free).
-- Records are JSON texts (see uidt.store.codec); key columns are repeated for lookups.

CREATE TABLE jobs (
    app TEXT NOT NULL,
    namespace TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (app, namespace, job_id)
) WITHOUT ROWID;

CREATE TABLE apps (
    package TEXT NOT NULL PRIMARY KEY,
    record TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE notifications (
    app TEXT NOT NULL,
    notification_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (app, notification_id)
) WITHOUT ROWID;

CREATE TABLE meta (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
