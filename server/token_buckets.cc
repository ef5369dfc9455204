#include "server/token_buckets.h"

#include <algorithm>
#include <cmath>

namespace clientreg::server {

KeyedTokenBuckets::KeyedTokenBuckets(BucketSpec spec, std::size_t max_keys)
    : spec_(spec),
      tokens_per_milli_(spec.refill_per_minute / 60000.0),
      max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

int64_t KeyedTokenBuckets::Take(uint64_t key, int64_t now_millis) { return Use(key, now_millis, /*take=*/true); }

int64_t KeyedTokenBuckets::Peek(uint64_t key, int64_t now_millis) { return Use(key, now_millis, /*take=*/false); }

std::size_t KeyedTokenBuckets::size() const {
  std::size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mutex);
    total += shard.buckets.size();
  }
  return total;
}

int64_t KeyedTokenBuckets::Use(uint64_t key, int64_t now_millis, bool take) {
  if (spec_.unlimited()) return 0;
  // The low bits pick the slot inside a shard's table; the high ones pick the shard.
  Shard& shard = shards_[(key >> 60) % kShards];
  absl::MutexLock lock(&shard.mutex);
  auto it = shard.buckets.find(key);
  if (it == shard.buckets.end()) {
    if (!take) return 0;  // an unknown key has a full bucket
    if (shard.buckets.size() >= max_per_shard_) Shed(shard, now_millis);
    it = shard.buckets.emplace(key, Bucket{static_cast<double>(spec_.burst), now_millis}).first;
  }
  Bucket& bucket = it->second;
  Refill(bucket, now_millis);
  if (bucket.tokens >= 1.0) {
    if (take) bucket.tokens -= 1.0;
    return 0;
  }
  if (tokens_per_milli_ <= 0) return INT64_MAX;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - bucket.tokens) / tokens_per_milli_)));
}

void KeyedTokenBuckets::Refill(Bucket& bucket, int64_t now_millis) const {
  // A clock that steps back refills nothing, rather than draining or overfilling.
  const int64_t elapsed = std::max<int64_t>(0, now_millis - bucket.updated_millis);
  bucket.tokens = std::min<double>(spec_.burst, bucket.tokens + static_cast<double>(elapsed) * tokens_per_milli_);
  bucket.updated_millis = std::max(bucket.updated_millis, now_millis);
}

void KeyedTokenBuckets::Shed(Shard& shard, int64_t now_millis) const {
  // Full buckets first: forgetting them changes nothing. Then arbitrary ones (the table's order follows a seeded
  // hash), down to 7/8 of the cap, so that a flood of new keys pays for one sweep per max_per_shard_/8 inserts.
  const std::size_t target = max_per_shard_ - std::max<std::size_t>(1, max_per_shard_ / 8);
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    Bucket copy = it->second;
    Refill(copy, now_millis);
    if (copy.tokens >= spec_.burst) {
      shard.buckets.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = shard.buckets.begin(); it != shard.buckets.end() && shard.buckets.size() > target;) {
    shard.buckets.erase(it++);
  }
}

}  // namespace clientreg::server
