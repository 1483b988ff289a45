-- Every step of delivering a report mail, an alert mail or a webhook call
-- (dashboard/notify): the claims of the processes that want to send it, failures with
-- the time of the next attempt, and "sent". One key (site, what, recipient) is sent by
-- at most one process: the smallest owner among the claims of a round wins.
CREATE TABLE IF NOT EXISTS notify_deliveries (
    site       String,
    what       String,
    recipient  String,
    round      UInt32,
    owner      String,
    state      String,
    at         DateTime('UTC'),
    next_at    DateTime('UTC'),
    detail     String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (site, what, recipient, round, at);
