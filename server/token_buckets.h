#ifndef CLIENTREG_SERVER_TOKEN_BUCKETS_H_
#define CLIENTREG_SERVER_TOKEN_BUCKETS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace clientreg::server {

// The shape of one token bucket: `burst` tokens when full, refilled continuously at `refill_per_minute`.
struct BucketSpec {
  uint32_t burst = 0;  // 0: no limit
  uint32_t refill_per_minute = 0;
  bool unlimited() const { return burst == 0; }
};

// Token buckets by key (a hash of a client IP or a software_id), each starting full. Memory is bounded: at most
// `max_keys` buckets are held; a bucket that has refilled to full is the same as none and is dropped first, and
// past that the set sheds arbitrary buckets (which forgives those keys: a flood of distinct keys can cost the limit
// its memory of some, never the process its memory). Thread-safe; sharded so that callers rarely wait.
class KeyedTokenBuckets {
 public:
  KeyedTokenBuckets(BucketSpec spec, std::size_t max_keys);

  KeyedTokenBuckets(const KeyedTokenBuckets&) = delete;
  KeyedTokenBuckets& operator=(const KeyedTokenBuckets&) = delete;

  // Takes one token from `key`'s bucket at `now_millis`. Returns 0 if it was taken, else the milliseconds until
  // one will be there (nothing is taken). Always 0 when the spec is unlimited.
  int64_t Take(uint64_t key, int64_t now_millis);
  // What Take would answer, without taking.
  int64_t Peek(uint64_t key, int64_t now_millis);

  // Buckets held now.
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_millis = 0;
  };
  struct Shard {
    mutable absl::Mutex mutex;
    absl::flat_hash_map<uint64_t, Bucket> buckets ABSL_GUARDED_BY(mutex);
  };
  static constexpr std::size_t kShards = 16;

  int64_t Use(uint64_t key, int64_t now_millis, bool take);
  // Brings `bucket` up to `now_millis`.
  void Refill(Bucket& bucket, int64_t now_millis) const;
  // Makes room for one more bucket in a full shard.
  void Shed(Shard& shard, int64_t now_millis) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mutex);

  const BucketSpec spec_;
  const double tokens_per_milli_;
  const std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace clientreg::server

#endif  // CLIENTREG_SERVER_TOKEN_BUCKETS_H_
