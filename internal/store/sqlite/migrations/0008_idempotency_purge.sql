-- Idempotency-Keys are kept for a day (service.IdempotencyKeyLifetime) and
-- then purged oldest first, which this index makes a short walk.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
