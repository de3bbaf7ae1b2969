-- uidt job store, PostgreSQL schema version 2: the device readings the timelines draw.
-- One row per change of a host's kept values (uidt.device.history.DeviceReading), its JSON text
-- in `reading`; each host keeps and prunes its own (`host_id`: its own device), and `id` gives
-- the order of arrival, which pruning keeps (uidt.store.base.prune_readings).

CREATE TABLE uidt_device_readings (
    id BIGSERIAL PRIMARY KEY,
    host_id TEXT NOT NULL,
    at_utc_ms BIGINT NOT NULL,
    reading TEXT NOT NULL
);

CREATE INDEX uidt_device_readings_by_host ON uidt_device_readings (host_id, id);
