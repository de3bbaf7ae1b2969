-- uidt job store, SQLite schema version 1.
-- The default namespace is stored as '' (Android forbids empty namespaces, so '' is free).
-- Records are JSON texts (see uidt.store.codec); key columns are repeated for lookups.
-- Tables holding records keep rowids: WITHOUT ROWID suits only rows far smaller than a page.

CREATE TABLE jobs (
    app TEXT NOT NULL,
    namespace TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (app, namespace, job_id)
);

CREATE TABLE apps (
    package TEXT NOT NULL PRIMARY KEY,
    record TEXT NOT NULL
);

CREATE TABLE notifications (
    app TEXT NOT NULL,
    notification_id INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (app, notification_id)
);

CREATE TABLE meta (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
