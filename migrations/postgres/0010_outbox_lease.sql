-- Delivery by claim: a deliverer takes a pending notice by setting its lease (who, until
-- when) in the one update that finds it unclaimed or its lease expired; only the lease holder
-- marks it sent or failed. Two deliverers (the daemon and `outbox send`, or an old leader
-- beside a new one) never send the same notice, and a deliverer that dies leaves it to the
-- next once its lease runs out.
-- Released migrations are never edited: add a new numbered file instead.

ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
