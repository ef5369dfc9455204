#ifndef CLIENTREG_STORAGE_STORE_METRICS_H_
#define CLIENTREG_STORAGE_STORE_METRICS_H_

#include "common/metrics.h"

namespace clientreg::storage {

// The metrics a ClientStore keeps about its own disk work, registered in a MetricsRegistry. Pass it to
// OpenRocksDbClientStore; it must outlive the store. Every update is an atomic operation, no lock.
//
// The number of clients by state (clientreg_clients{state}) is not here: it is read from
// ClientStore::CountClients at scrape time, by whoever owns both the registry and the store.
struct StoreMetrics {
  // Registers the three metrics below in `registry`, which must outlive this object. Registering twice in one
  // registry aborts (as MetricsRegistry does for any duplicate name).
  explicit StoreMetrics(common::MetricsRegistry& registry);

  StoreMetrics(const StoreMetrics&) = delete;
  StoreMetrics& operator=(const StoreMetrics&) = delete;

  // clientreg_store_write_duration_seconds (LatencyBuckets()): seconds of each synced write of one batch, the write
  // and its sync together, whether it succeeded or failed. Unsynced writes (last-use bookkeeping) are not observed.
  common::Histogram& write_duration;
  // clientreg_store_errors_total: reads and writes that failed in the storage engine (RocksDB errors other than
  // NotFound, which become Unavailable, DataLoss, FailedPrecondition or Internal) and stored values that do not
  // decode (DataLoss). Outcomes of the store's own checks (NotFound, Aborted, AlreadyExists, InvalidArgument,
  // ResourceExhausted) are not errors. A failed write of a group of Creates counts once.
  common::Counter& errors;
  // clientreg_store_group_size (1, 2, 4, ..., 256): Creates in each synced batch that the commit queue writes,
  // whether the write succeeds or fails. A Create answered before writing (AlreadyExists, or its existence check
  // failed) is in no batch.
  common::Histogram& group_size;
};

}  // namespace clientreg::storage

#endif  // CLIENTREG_STORAGE_STORE_METRICS_H_
