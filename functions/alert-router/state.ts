// The router's state in the alerts table (pk `id`, TTL `expiresAt`), one item per:
//   episode#<dedupKey>                 a firing alert: when it was last sent, repeats since
//   group#<groupKey>                   the group's firing alerts (a set of dedup-key hashes), its
//                                      thread, its open window
//   window#<groupKey>#<windowId>       one grouping window: counters, a bounded sample, the first alert
//   service#<cluster>/<service>        the service's firing critical alerts (inhibition)
// Decisions are conditional writes and memberships are set ADD/DELETE, which are idempotent: a
// redelivered message repeats its steps without counting twice. (No multi-item transactions: the
// episode record is the ledger a redelivery resumes from.)
export * from './episode-state.ts';
export * from './resolve-state.ts';
export * from './window-state.ts';
