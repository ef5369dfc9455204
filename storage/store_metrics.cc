#include "storage/store_metrics.h"

namespace clientreg::storage {

StoreMetrics::StoreMetrics(common::MetricsRegistry& registry)
    : write_duration(registry
                         .AddHistogram("clientreg_store_write_duration_seconds",
                                       "Seconds of each synced write of a batch to the store, sync included.",
                                       common::LatencyBuckets())
                         .Get()),
      errors(registry
                 .AddCounter("clientreg_store_errors_total",
                             "Reads and writes of the store that failed in the storage engine, and stored values "
                             "that do not decode.")
                 .Get()),
      // Powers of two up to 256, the committer's largest group (kMaxCreateGroup in rocksdb_client_store.cc).
      group_size(registry
                     .AddHistogram("clientreg_store_group_size", "Creates written together in one synced batch.",
                                   common::ExponentialBuckets(1, 2, 9))
                     .Get()) {}

}  // namespace clientreg::storage
