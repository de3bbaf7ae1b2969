-- uidt job store, SQLite schema version 2: the device readings the timelines draw.
-- One row per change of the kept values (uidt.device.history.DeviceReading), its JSON text in
-- `reading`; `id` gives the order of arrival, which pruning keeps (uidt.store.base.prune_readings).

CREATE TABLE device_readings (
    id INTEGER NOT NULL PRIMARY KEY,
    at_utc_ms INTEGER NOT NULL,
    reading TEXT NOT NULL
);

CREATE INDEX device_readings_by_time ON device_readings (at_utc_ms);
