#include "server/cimd_cache.h"

#include <iterator>
#include <utility>

namespace clientreg::server {
namespace {

absl::string_view Key(std::string_view url) { return absl::string_view(url.data(), url.size()); }

}  // namespace

CimdCache::CimdCache(Options options) : options_(options) {}

std::optional<clientreg::v1::ResolvedClient> CimdCache::Find(std::string_view url, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  const auto it = entries_.find(Key(url));
  if (it == entries_.end()) return std::nullopt;
  const EntryList::iterator entry = it->second;
  if (now >= entry->expires_at) {
    EraseEntry(entry);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, entry);
  return entry->client;
}

void CimdCache::Insert(std::string_view url, clientreg::v1::ResolvedClient client, absl::Time expires_at) {
  const std::size_t bytes = url.size() + client.ByteSizeLong();
  absl::MutexLock lock(&mutex_);
  // A newer document replaces the old one even when it is too big to keep: the old one no longer says what the
  // URL serves. And it was a success, so the URL's backoff is over.
  if (const auto it = entries_.find(Key(url)); it != entries_.end()) EraseEntry(it->second);
  if (const auto it = failures_.find(Key(url)); it != failures_.end()) EraseFailure(it->second);
  if (bytes > options_.max_bytes || options_.max_entries == 0) return;
  while (!lru_.empty() && (lru_.size() >= options_.max_entries || bytes_ + bytes > options_.max_bytes)) {
    EraseEntry(std::prev(lru_.end()));
  }
  lru_.push_front(Entry{std::string(url), std::move(client), expires_at, bytes});
  entries_.emplace(Key(lru_.front().url), lru_.begin());
  bytes_ += bytes;
}

void CimdCache::RecordFailure(std::string_view url, absl::Status status, absl::Time until) {
  absl::MutexLock lock(&mutex_);
  if (const auto it = entries_.find(Key(url)); it != entries_.end()) EraseEntry(it->second);
  if (const auto it = failures_.find(Key(url)); it != failures_.end()) EraseFailure(it->second);
  if (options_.max_entries == 0) return;
  while (failure_order_.size() >= options_.max_entries) EraseFailure(failure_order_.begin());
  failure_order_.push_back(Failure{std::string(url), std::move(status), until});
  failures_.emplace(Key(failure_order_.back().url), std::prev(failure_order_.end()));
}

std::optional<absl::Status> CimdCache::FindFailure(std::string_view url, absl::Time now) {
  absl::MutexLock lock(&mutex_);
  const auto it = failures_.find(Key(url));
  if (it == failures_.end()) return std::nullopt;
  const FailureList::iterator failure = it->second;
  if (now >= failure->until) {
    EraseFailure(failure);
    return std::nullopt;
  }
  return failure->status;
}

std::size_t CimdCache::entries() const {
  absl::MutexLock lock(&mutex_);
  return lru_.size();
}

std::size_t CimdCache::bytes() const {
  absl::MutexLock lock(&mutex_);
  return bytes_;
}

void CimdCache::EraseEntry(EntryList::iterator entry) {
  // The index's key views the node's url: erase the index entry first.
  entries_.erase(Key(entry->url));
  bytes_ -= entry->bytes;
  lru_.erase(entry);
}

void CimdCache::EraseFailure(FailureList::iterator failure) {
  failures_.erase(Key(failure->url));
  failure_order_.erase(failure);
}

}  // namespace clientreg::server
